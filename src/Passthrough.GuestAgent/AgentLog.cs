using Microsoft.Extensions.Logging;

namespace Passthrough.GuestAgent;

// Source-generated log messages of the guest agent service. Event ids are stable: 6100-6199 the AMQP transport and its
// outbox, 6200-6299 the service. The broker is always logged without its credentials (AmqpGuestAgentTransport.Redact).
internal static partial class AgentLog
{
    [LoggerMessage(EventId = 6101, Level = LogLevel.Information, Message = "Connected to RabbitMQ at {Broker}")]
    public static partial void Connected(ILogger logger, string broker);

    [LoggerMessage(EventId = 6102, Level = LogLevel.Warning, Message = "Cannot connect to RabbitMQ at {Broker} ({Reason}); trying again in {Delay}")]
    public static partial void ConnectFailed(ILogger logger, string broker, string reason, TimeSpan delay);

    [LoggerMessage(EventId = 6103, Level = LogLevel.Warning, Message = "Connection to RabbitMQ lost ({Reason}); recovering")]
    public static partial void ConnectionLost(ILogger logger, string reason);

    [LoggerMessage(EventId = 6104, Level = LogLevel.Information, Message = "Connection to RabbitMQ recovered")]
    public static partial void ConnectionRecovered(ILogger logger);

    [LoggerMessage(EventId = 6105, Level = LogLevel.Information, Message = "Receiving commands on queue {Queue}")]
    public static partial void Receiving(ILogger logger, string queue);

    [LoggerMessage(EventId = 6106, Level = LogLevel.Warning, Message = "Rejected message {MessageId} on {Queue}: {Reason}")]
    public static partial void CommandRejected(ILogger logger, string messageId, string queue, string reason);

    [LoggerMessage(EventId = 6107, Level = LogLevel.Warning, Message = "Publishing to {Exchange} failed ({Reason}); {Pending} events wait in the outbox")]
    public static partial void PublishFailed(ILogger logger, string exchange, string reason, int pending);

    [LoggerMessage(EventId = 6108, Level = LogLevel.Information, Message = "Outbox drained after an outage: {Published} events published")]
    public static partial void OutboxDrained(ILogger logger, int published);

    [LoggerMessage(EventId = 6109, Level = LogLevel.Error, Message = "Outbox full ({Capacity} events): dropped the oldest, {MessageId} for {Exchange}")]
    public static partial void OutboxFull(ILogger logger, int capacity, string exchange, string messageId);

    [LoggerMessage(EventId = 6110, Level = LogLevel.Warning, Message = "The outbox spool {Directory} is unusable ({Reason}): events are kept in memory only and would not survive a restart")]
    public static partial void SpoolUnusable(ILogger logger, string directory, string reason);

    [LoggerMessage(EventId = 6111, Level = LogLevel.Warning, Message = "Spool file {Path} is unreadable; deleted")]
    public static partial void SpoolFileUnreadable(ILogger logger, string path);

    [LoggerMessage(EventId = 6112, Level = LogLevel.Information, Message = "Loaded {Count} unpublished events from the spool {Directory}")]
    public static partial void SpoolLoaded(ILogger logger, int count, string directory);

    [LoggerMessage(EventId = 6113, Level = LogLevel.Debug, Message = "Heartbeat dropped: not connected")]
    public static partial void HeartbeatDropped(ILogger logger);

    [LoggerMessage(EventId = 6114, Level = LogLevel.Error, Message = "Handling command {MessageId} failed: {Reason}; it will be delivered again")]
    public static partial void CommandFailed(ILogger logger, string messageId, string reason);

    [LoggerMessage(EventId = 6115, Level = LogLevel.Warning, Message = "Command consumer lost ({Reason}); consuming again")]
    public static partial void ConsumerReplaced(ILogger logger, string reason);

    [LoggerMessage(EventId = 6116, Level = LogLevel.Error, Message = "Could not consume commands again: {Reason}")]
    public static partial void ConsumerReplaceFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 6201, Level = LogLevel.Information, Message = "Guest agent for VM {Vm} (uuid from {Source}), probing {Root}")]
    public static partial void Starting(ILogger logger, Passthrough.Contracts.Ids.VmId vm, VmIdSource source, string root);

    [LoggerMessage(EventId = 6202, Level = LogLevel.Critical, Message = "The guest agent cannot start: {Reason}")]
    public static partial void CannotStart(ILogger logger, string reason);
}

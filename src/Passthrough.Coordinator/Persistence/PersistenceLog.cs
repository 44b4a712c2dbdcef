using Microsoft.Extensions.Logging;

namespace Passthrough.Coordinator.Persistence;

/// <summary>Log messages of the saga store and the durable scheduler (event ids 5100–5199).</summary>
internal static partial class PersistenceLog
{
    [LoggerMessage(EventId = 5100, Level = LogLevel.Information, Message = "Saga store ready: {Provider} {Location}")]
    public static partial void StoreReady(ILogger logger, string provider, string location);

    [LoggerMessage(EventId = 5110, Level = LogLevel.Debug, Message = "Scheduled {TokenId} for {DueAt:O} to {Destination}")]
    public static partial void Scheduled(ILogger logger, Guid tokenId, DateTimeOffset dueAt, Uri destination);

    [LoggerMessage(EventId = 5111, Level = LogLevel.Debug, Message = "Cancelled scheduled message {TokenId} (found: {Found})")]
    public static partial void Cancelled(ILogger logger, Guid tokenId, bool found);

    [LoggerMessage(EventId = 5112, Level = LogLevel.Error,
        Message = "Refused recurring schedule {ScheduleGroup}/{ScheduleId}: the durable scheduler supports one-time schedules only (ScheduleSend, state machine Schedule)")]
    public static partial void RecurringRefused(ILogger logger, string? scheduleGroup, string? scheduleId);

    [LoggerMessage(EventId = 5120, Level = LogLevel.Debug, Message = "Sent scheduled message {TokenId} to {Destination} (due {DueAt:O})")]
    public static partial void Sent(ILogger logger, Guid tokenId, Uri destination, DateTimeOffset dueAt);

    [LoggerMessage(EventId = 5121, Level = LogLevel.Warning,
        Message = "Sending scheduled message {TokenId} to {Destination} failed (attempt {Attempt}); retrying after {RetryAt:O}")]
    public static partial void SendFailed(ILogger logger, Exception exception, Guid tokenId, Uri destination, int attempt, DateTimeOffset retryAt);

    [LoggerMessage(EventId = 5122, Level = LogLevel.Information, Message = "Dropped scheduled message {TokenId} to {Destination}: it expired at {ExpiredAt:O}")]
    public static partial void Expired(ILogger logger, Guid tokenId, Uri destination, DateTimeOffset expiredAt);

    [LoggerMessage(EventId = 5130, Level = LogLevel.Error,
        Message = "Scheduler sweep failed ({Failures} in a row); next attempt in {Delay}")]
    public static partial void SweepFailed(ILogger logger, Exception exception, int failures, TimeSpan delay);

    [LoggerMessage(EventId = 5131, Level = LogLevel.Debug, Message = "Scheduler sweep waits: the bus is not ready ({Description})")]
    public static partial void BusNotReady(ILogger logger, string description);

    [LoggerMessage(EventId = 5132, Level = LogLevel.Information, Message = "Scheduler sweeper started: every {PollInterval}, batches of {BatchSize}, on {Store}")]
    public static partial void SweeperStarted(ILogger logger, TimeSpan pollInterval, int batchSize, string store);
}

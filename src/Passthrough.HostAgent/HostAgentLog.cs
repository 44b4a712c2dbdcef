using Microsoft.Extensions.Logging;
using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Messaging;
using Passthrough.Contracts.Pci;
using Passthrough.Shell;

namespace Passthrough.HostAgent;

/// <summary>The host agent's log messages (event ids 4100–4199).</summary>
internal static partial class HostAgentLog
{
    [LoggerMessage(EventId = 4101, Level = LogLevel.Information, Message = "{Command} {CommandId} for host {Host} ({Step}): executing")]
    public static partial void Executing(ILogger logger, string command, Guid commandId, HostId host, SagaStep step);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Information, Message = "{Command} {CommandId} for host {Host}: answered {Reply}")]
    public static partial void CommandAnswered(ILogger logger, string command, Guid commandId, HostId host, string reply);

    [LoggerMessage(EventId = 4103, Level = LogLevel.Warning, Message = "{Command} {CommandId} for host {Host} failed ({Cause}): {Reason}")]
    public static partial void CommandFailed(ILogger logger, string command, Guid commandId, HostId host, FailureCause cause, string reason);

    [LoggerMessage(EventId = 4104, Level = LogLevel.Information, Message = "{Command} {CommandId} for host {Host} was answered before: re-publishing the recorded reply, dom0 untouched")]
    public static partial void AnsweredFromRecord(ILogger logger, string command, Guid commandId, HostId host);

    [LoggerMessage(EventId = 4105, Level = LogLevel.Error, Message = "{Command} {CommandId} for host {Host} failed inside the host agent")]
    public static partial void HandlerCrashed(ILogger logger, Exception exception, string command, Guid commandId, HostId host);

    [LoggerMessage(EventId = 4110, Level = LogLevel.Warning, Message = "Binding {Address} to pciback on host {Host} failed; the persisted hide takes it at the next boot: {Reason}")]
    public static partial void BindDeferredToReboot(ILogger logger, PciAddress address, HostId host, string reason);

    [LoggerMessage(EventId = 4111, Level = LogLevel.Critical, Message = "A failed detach on {Target} could not be undone completely: {Problems}")]
    public static partial void DetachUndoFailed(ILogger logger, CommandTarget target, string problems);

    [LoggerMessage(EventId = 4120, Level = LogLevel.Critical, Message = "WRONG HOST behind the address of host {Host} ({Target}): {Detail} Every command for it is refused.")]
    public static partial void WrongHost(ILogger logger, HostId host, CommandTarget target, string detail);

    [LoggerMessage(EventId = 4121, Level = LogLevel.Information, Message = "Inventory of host {Host} published: {Devices} PCI functions, boot {BootId}")]
    public static partial void InventoryPublished(ILogger logger, HostId host, int devices, string bootId);

    [LoggerMessage(EventId = 4122, Level = LogLevel.Warning, Message = "Reading the inventory of host {Host} failed ({Failures} in a row): {Reason}")]
    public static partial void InventoryFailed(ILogger logger, HostId host, int failures, string reason);

    [LoggerMessage(EventId = 4123, Level = LogLevel.Warning, Message = "Host {Host} ({Target}) does not answer: {Reason}")]
    public static partial void HostUnreachable(ILogger logger, HostId host, CommandTarget target, string reason);

    [LoggerMessage(EventId = 4124, Level = LogLevel.Warning, Message = "Publishing {Message} for host {Host} failed: {Reason}")]
    public static partial void PublishFailed(ILogger logger, string message, HostId host, string reason);

    [LoggerMessage(EventId = 4130, Level = LogLevel.Information, Message = "Pruned {Count} command records older than {Retention}")]
    public static partial void RecordsPruned(ILogger logger, int count, TimeSpan retention);

    [LoggerMessage(EventId = 4131, Level = LogLevel.Warning, Message = "Pruning the command record {Path} failed: {Reason}")]
    public static partial void PruneFailed(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 4140, Level = LogLevel.Information, Message = "Serving host {Host} on queue {Queue} through {Target}")]
    public static partial void Serving(ILogger logger, HostId host, string queue, CommandTarget target);
}

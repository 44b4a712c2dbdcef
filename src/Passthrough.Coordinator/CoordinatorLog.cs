using Microsoft.Extensions.Logging;
using Passthrough.Contracts.CoordinatorEvents;
using Passthrough.Contracts.Messaging;
using Passthrough.Coordinator.Sagas;

namespace Passthrough.Coordinator;

/// <summary>The coordinator's log messages (event ids 2000–2099).</summary>
internal static partial class CoordinatorLog
{
    [LoggerMessage(2000, LogLevel.Information, "Saga {SagaId} ({Kind}) sends {Step} attempt {Attempt} as command {CommandId} to {Destination}")]
    public static partial void CommandSent(ILogger logger, Guid sagaId, SagaKind kind, SagaStep step, int attempt, Guid commandId, Uri destination);

    [LoggerMessage(2001, LogLevel.Debug, "Saga {SagaId} ignores {Message}: {Reason}")]
    public static partial void Ignored(ILogger logger, Guid sagaId, string message, string reason);

    [LoggerMessage(2002, LogLevel.Information, "Saga {SagaId} ({Kind}) finished {Outcome}: {Cause}")]
    public static partial void Finished(ILogger logger, Guid sagaId, SagaKind kind, SagaOutcome outcome, string cause);

    [LoggerMessage(2003, LogLevel.Warning, "Saga {SagaId}: {Note}")]
    public static partial void LeftForOperator(ILogger logger, Guid sagaId, string note);

    [LoggerMessage(2004, LogLevel.Warning, "Saga {SagaId}: a device preflight added is held by saga {Holder} ({Resource})")]
    public static partial void SiblingHeld(ILogger logger, Guid sagaId, Guid holder, string resource);

    [LoggerMessage(2010, LogLevel.Warning, "Watchdog: saga {SagaId} still waits for {Action} command {CommandId}, due at {DeadlineAt:O}; raising its deadline")]
    public static partial void DeadlineRaised(ILogger logger, Guid sagaId, FlowAction action, Guid commandId, DateTimeOffset deadlineAt);

    [LoggerMessage(2013, LogLevel.Information, "Watchdog: saga {SagaId} waits for {Action} command {CommandId} sent before this coordinator started; sending it again")]
    public static partial void CommandResent(ILogger logger, Guid sagaId, FlowAction action, Guid commandId);

    [LoggerMessage(2011, LogLevel.Information, "Watchdog: released {Count} claim(s) of saga {SagaId} ({Reason})")]
    public static partial void ClaimsReleased(ILogger logger, int count, Guid sagaId, string reason);

    [LoggerMessage(2012, LogLevel.Error, "Watchdog pass failed; retrying in {Delay}")]
    public static partial void WatchdogFailed(ILogger logger, Exception exception, TimeSpan delay);

    [LoggerMessage(2020, LogLevel.Information, "Released {Count} claim(s) of finished saga {SagaId}")]
    public static partial void ClaimsReleasedOnFinish(ILogger logger, int count, Guid sagaId);

    [LoggerMessage(2030, LogLevel.Error, "Could not send the request of saga {SagaId}; its claims are released")]
    public static partial void RequestSendFailed(ILogger logger, Exception exception, Guid sagaId);

    [LoggerMessage(2031, LogLevel.Information, "Accepted {Kind} saga {SagaId} for VM {Vm} on host {Host} from {RequestedBy}")]
    public static partial void Accepted(ILogger logger, SagaKind kind, Guid sagaId, string vm, string host, string requestedBy);
}

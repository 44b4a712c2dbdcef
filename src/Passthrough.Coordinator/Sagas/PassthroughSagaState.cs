using System.Text.Json.Serialization;
using MassTransit;
using Passthrough.Contracts.CoordinatorCommands;
using Passthrough.Contracts.CoordinatorEvents;
using Passthrough.Contracts.HostEvents;
using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Messaging;
using Passthrough.Contracts.Pci;

namespace Passthrough.Coordinator.Sagas;

/// <summary>Where a saga is in its life: running its steps, undoing them, or ended.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<SagaPhase>))]
public enum SagaPhase
{
    /// <summary>Running the steps.</summary>
    Forward = 0,

    /// <summary>A step failed: running the compensations of the started steps in reverse.</summary>
    Compensating,

    /// <summary>Ended with an outcome.</summary>
    Finished,
}

/// <summary>
/// One command the flow can send. Finer than <see cref="SagaStep"/>: the verify step sends two commands (the guest's
/// verdict, then the host-side attachment check) and undoing the snapshot sends a revert and a destroy. Stored by name.
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<FlowAction>))]
public enum FlowAction
{
    RunPreflight = 1,
    RunReleaseCheck,
    Snapshot,
    Shutdown,
    Detach,
    HostReboot,
    Assign,
    Unassign,
    Reattach,
    Start,
    VerifyInGuest,
    VerifyOverSsh,
    CheckAttachment,
    DestroySnapshot,

    /// <summary>Compensation of Start: shut the VM down (forced).</summary>
    UndoStart,

    /// <summary>Compensation of Assign or Unassign: put <c>other-config:pci</c> back to the preflight value.</summary>
    RestorePciKey,

    /// <summary>Compensation of Detach or Reattach: restore drivers and the hide list.</summary>
    UndoDetach,

    /// <summary>Compensation of Snapshot (policy RevertOnFailure): revert the halted VM to the snapshot…</summary>
    RevertSnapshot,

    /// <summary>…then destroy the snapshot.</summary>
    DestroyRevertedSnapshot,

    /// <summary>Compensation of Shutdown: start the VM again.</summary>
    UndoShutdown,

    /// <summary>
    /// Compensation of a Snapshot that never answered (policy RevertOnFailure): destroy whatever snapshot the step took
    /// under the saga's snapshot name, since its uuid is unknown.
    /// </summary>
    DestroyUnconfirmedSnapshot,
}

/// <summary>The command a saga waits for: only a reply carrying its <see cref="CommandId"/> (or its deadline) moves the saga.</summary>
public sealed class PendingCommand
{
    public FlowAction Action { get; set; }

    public SagaStep Step { get; set; }

    public int Attempt { get; set; }

    public Guid CommandId { get; set; }

    /// <summary>The agent queue it went to (<c>host-…</c> / <c>guest-…</c>), for the timeout message.</summary>
    public string Agent { get; set; } = string.Empty;

    public DateTimeOffset SentAt { get; set; }

    /// <summary>How long the saga waits (already scaled).</summary>
    public TimeSpan Timeout { get; set; }

    /// <summary>Absolute deadline: the watchdog raises it itself when the scheduled deadline message was lost.</summary>
    public DateTimeOffset DeadlineAt { get; set; }
}

/// <summary>One step or compensation in a saga's history.</summary>
public sealed class SagaStepRecord
{
    public SagaStep Step { get; set; }

    public FlowAction Action { get; set; }

    public int Attempt { get; set; }

    public Guid CommandId { get; set; }

    public DateTimeOffset StartedAt { get; set; }

    public DateTimeOffset? FinishedAt { get; set; }

    public bool? Succeeded { get; set; }

    public Failure? Failure { get; set; }

    public string? Detail { get; set; }
}

/// <summary>
/// The state of one passthrough or release saga, as stored (JSON) in the saga store and shown by the API.
/// </summary>
/// <remarks>
/// One instance type serves both kinds (<see cref="Kind"/>): release is the mirror of passthrough and runs on the same
/// flow engine, compensation rules, history, deadlines and claims, so one machine and one table keep the API's listing,
/// the watchdog and the claim release in one place; the two differ only in the steps <see cref="SagaFlow"/> chooses.
/// </remarks>
public sealed class PassthroughSagaState : SagaStateMachineInstance
{
    public Guid CorrelationId { get; set; }

    /// <summary>The state machine's state name (a string: a MassTransit State does not round-trip through JSON).</summary>
    public string? CurrentState { get; set; }

    public SagaKind Kind { get; set; }

    public HostId Host { get; set; }

    public VmId Vm { get; set; }

    /// <summary>The devices the saga works on: the request's, then preflight's (siblings included).</summary>
    public List<PciAddress> Devices { get; set; } = [];

    public string RequestedBy { get; set; } = string.Empty;

    public DateTimeOffset RequestedAt { get; set; }

    /// <summary>Set for a passthrough saga.</summary>
    public PassthroughOptions? PassthroughOptions { get; set; }

    /// <summary>Set for a release saga.</summary>
    public ReleaseOptions? ReleaseOptions { get; set; }

    /// <summary>Release: the dom0 drivers the passthrough recorded.</summary>
    public List<DriverBinding> KnownOriginalDrivers { get; set; } = [];

    /// <summary>The state before anything changed, from preflight (or the release check).</summary>
    public PreflightPassed? Preflight { get; set; }

    public XenUuid? SnapshotId { get; set; }

    /// <summary>True once the shutdown step answered: the VM is known to be halted.</summary>
    public bool ShutdownSucceeded { get; set; }

    /// <summary>What the detach changed, when it answered.</summary>
    public DetachRecord? DetachRecord { get; set; }

    public SagaPhase Phase { get; set; }

    /// <summary>Forward actions whose command was sent, in order; every one of them is compensated on failure.</summary>
    public List<FlowAction> StartedActions { get; set; } = [];

    /// <summary>The compensations still to run, in order.</summary>
    public List<FlowAction> RemainingCompensations { get; set; } = [];

    public PendingCommand? Pending { get; set; }

    /// <summary>The command whose deadline is scheduled (so a reply that changes nothing does not reschedule).</summary>
    public Guid? DeadlineScheduledFor { get; set; }

    /// <summary>MassTransit's token of the scheduled deadline.</summary>
    public Guid? DeadlineToken { get; set; }

    public List<SagaStepRecord> History { get; set; } = [];

    public SagaOutcome? Outcome { get; set; }

    /// <summary>The first failure (why the saga rolled back).</summary>
    public Failure? Cause { get; set; }

    /// <summary>What a person must fix: compensations that failed every attempt, or a snapshot that could not be removed.</summary>
    public List<string> LeftForOperator { get; set; } = [];

    public DateTimeOffset? FinishedAt { get; set; }
}

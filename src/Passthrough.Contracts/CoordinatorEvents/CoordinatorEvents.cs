using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Messaging;
using Passthrough.Contracts.Pci;

// Events the coordinator publishes about sagas: for the CLI's watch, webhooks, the status page and rollouts.
namespace Passthrough.Contracts.CoordinatorEvents;

/// <summary>The final outcome of a saga.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<SagaOutcome>))]
public enum SagaOutcome
{
    Completed = 1,
    RolledBack,
    RollbackFailed,
}

/// <summary>The kind of saga.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<SagaKind>))]
public enum SagaKind
{
    Passthrough = 1,
    Release,
}

/// <summary>A saga started a step (or a compensation).</summary>
public sealed record SagaStepStarted(Guid SagaId, SagaKind Kind, SagaStep Step, int Attempt, DateTimeOffset At);

/// <summary>A saga finished a step.</summary>
public sealed record SagaStepFinished(Guid SagaId, SagaKind Kind, SagaStep Step, bool Succeeded, Failure? Failure, DateTimeOffset At);

/// <summary>A saga ended. <paramref name="Cause"/> is set for <see cref="SagaOutcome.RolledBack"/>;
/// <paramref name="LeftForOperator"/> lists what a person must fix for <see cref="SagaOutcome.RollbackFailed"/>.</summary>
public sealed record SagaFinished(
    Guid SagaId, SagaKind Kind, HostId Host, VmId Vm, IReadOnlyList<PciAddress> Devices,
    SagaOutcome Outcome, Failure? Cause, IReadOnlyList<string> LeftForOperator, DateTimeOffset At);

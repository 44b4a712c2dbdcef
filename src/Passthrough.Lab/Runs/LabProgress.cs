using Passthrough.Contracts.CoordinatorEvents;
using Passthrough.Contracts.Messaging;

namespace Passthrough.Lab.Runs;

/// <summary>Where a lab run is.</summary>
public enum LabStage
{
    /// <summary>Building the fleet and starting the coordinator and the agents.</summary>
    Starting = 0,

    /// <summary>Sagas are running (see <see cref="LabProgress.Phase"/>).</summary>
    Running,

    /// <summary>Checking the invariants on the hosts.</summary>
    Checking,

    /// <summary>Done: the report is ready.</summary>
    Finished,
}

/// <summary>One saga as the lab last read it.</summary>
/// <param name="Id">The saga id.</param>
/// <param name="Kind">Passthrough or release.</param>
/// <param name="HostName">The host's name-label.</param>
/// <param name="VmName">The VM's name-label.</param>
/// <param name="GuestType">PV or HVM.</param>
/// <param name="Devices">The BDFs, comma-separated.</param>
/// <param name="State">The state machine's state.</param>
/// <param name="CurrentStep">The step running now; null before the first read and once ended.</param>
/// <param name="Outcome">The outcome, once ended.</param>
/// <param name="Cause">Why it rolled back.</param>
public sealed record LabSagaStatus(
    Guid Id, SagaKind Kind, string HostName, string VmName, GuestType GuestType, string Devices, string State, SagaStep? CurrentStep,
    SagaOutcome? Outcome, FailureCause? Cause);

/// <summary>A lab run's progress: its stage and every saga of the current phase.</summary>
/// <param name="Stage">The stage.</param>
/// <param name="Phase">1, or 2 for the releases of the release scenario.</param>
/// <param name="Message">What is happening, in a line.</param>
/// <param name="Sagas">Every saga of the phase, in submission order.</param>
public sealed record LabProgress(LabStage Stage, int Phase, string Message, IReadOnlyList<LabSagaStatus> Sagas);

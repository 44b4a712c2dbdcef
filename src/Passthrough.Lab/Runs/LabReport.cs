using Passthrough.Contracts.CoordinatorEvents;
using Passthrough.Contracts.Messaging;

namespace Passthrough.Lab.Runs;

/// <summary>The options a run used, as the report records them.</summary>
/// <param name="Scenario">The scenario.</param>
/// <param name="Hosts">Hosts.</param>
/// <param name="VmsPerHost">VMs per host.</param>
/// <param name="Seed">The seed.</param>
/// <param name="TimeScale">The time scale.</param>
/// <param name="InjectFault">Whether the fleet scenarios injected their fault.</param>
/// <param name="Bus"><c>in-memory</c> or <c>rabbitmq</c>.</param>
/// <param name="Store"><c>sqlite</c> or <c>postgresql</c>.</param>
public sealed record LabReportOptions(LabScenario Scenario, int Hosts, int VmsPerHost, long Seed, double TimeScale, bool InjectFault, string Bus, string Store);

/// <summary>A simulated host.</summary>
/// <param name="Name">Its name-label.</param>
/// <param name="Id">Its uuid.</param>
/// <param name="Product">Brand and version.</param>
/// <param name="Iommu">Whether its IOMMU was on at the start.</param>
/// <param name="Vms">Its VMs: name (PV or HVM).</param>
/// <param name="Devices">Its passthrough candidates: BDF kind.</param>
public sealed record LabHostSummary(string Name, string Id, string Product, bool Iommu, IReadOnlyList<string> Vms, IReadOnlyList<string> Devices);

/// <summary>The simulated fleet.</summary>
/// <param name="Hosts">Every host.</param>
/// <param name="Vms">How many VMs in all.</param>
/// <param name="PlannedAssignments">How many device groups the plan meant for a VM.</param>
public sealed record LabFleetSummary(IReadOnlyList<LabHostSummary> Hosts, int Vms, int PlannedAssignments);

/// <summary>One step (or compensation) of a saga as it ran.</summary>
/// <param name="Step">The step.</param>
/// <param name="Attempt">1 for the first attempt.</param>
/// <param name="StartedAt">When its command was sent.</param>
/// <param name="FinishedAt">When its answer arrived; null if it never did.</param>
/// <param name="DurationMs">Milliseconds from start to finish; null if unfinished.</param>
/// <param name="Succeeded">True, false, or null when unfinished.</param>
/// <param name="Failure">Why it failed.</param>
/// <param name="Detail">What it did, in a line.</param>
public sealed record LabStepReport(SagaStep Step, int Attempt, DateTimeOffset StartedAt, DateTimeOffset? FinishedAt, double? DurationMs, bool? Succeeded, Failure? Failure, string? Detail);

/// <summary>One saga of the run.</summary>
/// <param name="Id">The saga id.</param>
/// <param name="Kind">Passthrough or release.</param>
/// <param name="Phase">1 for the first phase; 2 for the releases of the release scenario.</param>
/// <param name="HostName">The host's name-label.</param>
/// <param name="Host">The host's uuid.</param>
/// <param name="VmName">The VM's name-label.</param>
/// <param name="Vm">The VM's uuid.</param>
/// <param name="GuestType">PV or HVM.</param>
/// <param name="DeviceKind">What the devices are (a GPU group holds the GPU and its audio).</param>
/// <param name="Devices">The BDFs.</param>
/// <param name="InjectedFault">The fault the lab injected for this saga; null for none.</param>
/// <param name="Outcome">The outcome; null when the saga never ended (stuck).</param>
/// <param name="State">The state machine's last state.</param>
/// <param name="Cause">Why it rolled back (or failed to).</param>
/// <param name="LeftForOperator">What a person must fix (after a failed rollback).</param>
/// <param name="SubmittedAt">When the API accepted it.</param>
/// <param name="FinishedAt">When it ended.</param>
/// <param name="DurationMs">Milliseconds from submission to its end; null if unfinished.</param>
/// <param name="Steps">Every step and compensation, in order.</param>
public sealed record LabSagaReport(
    Guid Id, SagaKind Kind, int Phase, string HostName, string Host, string VmName, string Vm, GuestType GuestType, FleetDeviceKind DeviceKind,
    IReadOnlyList<string> Devices, string? InjectedFault, SagaOutcome? Outcome, string State, Failure? Cause, IReadOnlyList<string> LeftForOperator,
    DateTimeOffset SubmittedAt, DateTimeOffset? FinishedAt, double? DurationMs, IReadOnlyList<LabStepReport> Steps);

/// <summary>A check on the simulated hosts themselves after the run.</summary>
/// <param name="Name">A stable name, e.g. <c>no-device-half-assigned</c>.</param>
/// <param name="Description">What it checks.</param>
/// <param name="Passed">Whether it held.</param>
/// <param name="Details">What was checked when it held; every violation when it did not.</param>
public sealed record LabInvariant(string Name, string Description, bool Passed, IReadOnlyList<string> Details);

/// <summary>Counts of outcomes.</summary>
/// <param name="Sagas">Every saga.</param>
/// <param name="Completed">Completed.</param>
/// <param name="RolledBack">Rolled back exactly.</param>
/// <param name="RollbackFailed">Rollback failed (a person must act).</param>
/// <param name="Unfinished">Never ended within the run's timeout.</param>
public sealed record LabTotals(int Sagas, int Completed, int RolledBack, int RollbackFailed, int Unfinished);

/// <summary>Everything a lab run did and found: written as JSON with a Markdown twin (<see cref="LabReportWriter"/>).</summary>
/// <param name="Options">The options.</param>
/// <param name="Fleet">The fleet.</param>
/// <param name="Sagas">Every saga, in submission order.</param>
/// <param name="Invariants">The checks on the hosts.</param>
/// <param name="Totals">Outcome counts.</param>
/// <param name="StartedAt">When the run began.</param>
/// <param name="FinishedAt">When the checks were done.</param>
/// <param name="WallTimeMs">Milliseconds the run took, start-up and shutdown excluded.</param>
public sealed record LabReport(
    LabReportOptions Options, LabFleetSummary Fleet, IReadOnlyList<LabSagaReport> Sagas, IReadOnlyList<LabInvariant> Invariants, LabTotals Totals,
    DateTimeOffset StartedAt, DateTimeOffset FinishedAt, double WallTimeMs)
{
    /// <summary>Whether every invariant held.</summary>
    public bool Passed => Invariants.All(i => i.Passed);
}

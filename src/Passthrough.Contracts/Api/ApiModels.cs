using Passthrough.Contracts.CoordinatorCommands;
using Passthrough.Contracts.CoordinatorEvents;
using Passthrough.Contracts.Messaging;

// The coordinator's HTTP API (JSON, camelCase): what the CLI, the lab and operators' scripts send and read.
// Inputs are strings so that the coordinator can name exactly which field is malformed.
namespace Passthrough.Contracts.Api;

/// <summary>The API's routes.</summary>
public static class ApiRoutes
{
    /// <summary>POST: submit a passthrough (<see cref="PassthroughRequestBody"/>).</summary>
    public const string Passthroughs = "/api/v1/passthroughs";

    /// <summary>POST: submit a release (<see cref="ReleaseRequestBody"/>).</summary>
    public const string Releases = "/api/v1/releases";

    /// <summary>GET: list sagas (<c>?skip=&amp;take=</c>), newest first; GET <c>/{id}</c>: one saga.</summary>
    public const string Sagas = "/api/v1/sagas";

    /// <summary>GET: liveness and the store in use.</summary>
    public const string Health = "/health";
}

/// <summary>Options of a passthrough as the API takes them; every field optional.</summary>
public sealed record PassthroughOptionsBody(
    HideMode? HideMode = null,
    bool? AllowHostReboot = null,
    bool? AllowForcedShutdown = null,
    SnapshotPolicy? Snapshot = null,
    double? VerifyTimeoutSeconds = null,
    IommuPolicy? Iommu = null,
    bool? IncludeSiblings = null,
    GuestSshTarget? GuestSsh = null);

/// <summary>POST <see cref="ApiRoutes.Passthroughs"/>.</summary>
/// <param name="Host">Host uuid.</param>
/// <param name="Vm">VM uuid.</param>
/// <param name="Devices">BDFs (<c>0000:03:00.0</c> or <c>03:00.0</c>).</param>
/// <param name="Options">Options; null for the defaults.</param>
/// <param name="RequestedBy">Who asks (for the record).</param>
public sealed record PassthroughRequestBody(string? Host, string? Vm, IReadOnlyList<string>? Devices, PassthroughOptionsBody? Options = null, string? RequestedBy = null);

/// <summary>POST <see cref="ApiRoutes.Releases"/>.</summary>
public sealed record ReleaseRequestBody(string? Host, string? Vm, IReadOnlyList<string>? Devices, bool? AllowForcedShutdown = null, bool? RestartVm = null, string? RequestedBy = null);

/// <summary>202 answer to a submission: the saga's id and where to read it.</summary>
public sealed record SagaAccepted(Guid Id, SagaKind Kind, string Location);

/// <summary>
/// Any 4xx/5xx answer. <paramref name="Field"/> names the offending input field when there is one;
/// <paramref name="HeldBy"/> is the saga that holds a device or VM (409).
/// </summary>
public sealed record ApiError(string Error, string? Field = null, Guid? HeldBy = null, string? Resource = null);

/// <summary>One step (or compensation) a saga ran.</summary>
/// <param name="Step">The step.</param>
/// <param name="Attempt">The attempt, 1 for the first.</param>
/// <param name="StartedAt">When its command was sent.</param>
/// <param name="FinishedAt">When its answer arrived (null while running).</param>
/// <param name="Succeeded">True, false, or null while running.</param>
/// <param name="Failure">Why it failed.</param>
/// <param name="Detail">What it did, in a line (e.g. the snapshot uuid, the previous pci key).</param>
public sealed record SagaStepView(SagaStep Step, int Attempt, DateTimeOffset StartedAt, DateTimeOffset? FinishedAt, bool? Succeeded, Failure? Failure, string? Detail);

/// <summary>A saga as the API shows it.</summary>
/// <param name="Id">The saga id.</param>
/// <param name="Kind">Passthrough or release.</param>
/// <param name="State">The state machine's state name.</param>
/// <param name="Host">Host uuid.</param>
/// <param name="Vm">VM uuid.</param>
/// <param name="Devices">The devices (siblings included once preflight added them).</param>
/// <param name="CurrentStep">The step running now; null when finished.</param>
/// <param name="Outcome">The outcome, once finished.</param>
/// <param name="Cause">Why it rolled back (or failed to).</param>
/// <param name="LeftForOperator">What a person must fix after <see cref="SagaOutcome.RollbackFailed"/>.</param>
/// <param name="Steps">Every step and compensation, in order.</param>
/// <param name="CreatedAt">Submission time.</param>
/// <param name="UpdatedAt">Last change.</param>
/// <param name="FinishedAt">When it ended.</param>
public sealed record SagaView(
    Guid Id, SagaKind Kind, string State, string Host, string Vm, IReadOnlyList<string> Devices, SagaStep? CurrentStep,
    SagaOutcome? Outcome, Failure? Cause, IReadOnlyList<string> LeftForOperator, IReadOnlyList<SagaStepView> Steps,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, DateTimeOffset? FinishedAt);

/// <summary>A page of sagas, newest first.</summary>
public sealed record SagaPage(IReadOnlyList<SagaView> Items, int Skip, int Take);

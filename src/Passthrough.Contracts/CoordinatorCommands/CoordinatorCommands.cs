using System.Text.Json.Serialization;
using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Messaging;
using Passthrough.Contracts.Pci;

// Requests that start a saga in the coordinator: sent by its HTTP API (and, later, by rollouts and remediation) after
// the saga's devices and VM were claimed.
namespace Passthrough.Contracts.CoordinatorCommands;

/// <summary>What happens to the snapshot a passthrough saga takes.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<SnapshotPolicy>))]
public enum SnapshotPolicy
{
    /// <summary>Destroy it when the saga completes; keep it (as evidence) when the saga rolls back.</summary>
    DeleteOnSuccess = 0,

    /// <summary>Keep it whatever the outcome.</summary>
    Keep,

    /// <summary>On rollback revert the VM to it (while halted) and destroy it; destroy it when the saga completes.</summary>
    RevertOnFailure,
}

/// <summary>What the saga demands of the host's IOMMU.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<IommuPolicy>))]
public enum IommuPolicy
{
    /// <summary>An IOMMU must be on (the default; mandatory from Xen 4.13 anyway).</summary>
    Required = 0,

    /// <summary>A PV guest may get a device without an IOMMU on Xen &lt; 4.13 (the device can then DMA anywhere).</summary>
    AllowPvWithoutIommu,
}

/// <summary>Options of a passthrough request.</summary>
/// <param name="HideMode">How the devices are taken from dom0.</param>
/// <param name="AllowHostReboot">Whether the saga may reboot the host (required by the reboot hide modes).</param>
/// <param name="AllowForcedShutdown">Force the VM off when a clean shutdown misses its deadline.</param>
/// <param name="Snapshot">What happens to the snapshot.</param>
/// <param name="VerifyTimeout">How long the guest has to boot and prove the devices.</param>
/// <param name="Iommu">The IOMMU policy.</param>
/// <param name="IncludeSiblings">Add missing sibling functions instead of refusing.</param>
/// <param name="GuestSsh">Verify over SSH (the guest runs no agent); null: the guest agent answers.</param>
public sealed record PassthroughOptions(
    HideMode HideMode = HideMode.Auto,
    bool AllowHostReboot = false,
    bool AllowForcedShutdown = false,
    SnapshotPolicy Snapshot = SnapshotPolicy.DeleteOnSuccess,
    TimeSpan? VerifyTimeout = null,
    IommuPolicy Iommu = IommuPolicy.Required,
    bool IncludeSiblings = false,
    GuestSshTarget? GuestSsh = null)
{
    /// <summary>The verification deadline when none is given.</summary>
    public static readonly TimeSpan DefaultVerifyTimeout = TimeSpan.FromMinutes(5);

    /// <summary>The defaults.</summary>
    public static PassthroughOptions Default { get; } = new();
}

/// <summary>Options of a release request.</summary>
/// <param name="AllowForcedShutdown">Force the VM off when a clean shutdown misses its deadline.</param>
/// <param name="RestartVm">Start the VM again after the release when it ran before.</param>
public sealed record ReleaseOptions(bool AllowForcedShutdown = false, bool RestartVm = true)
{
    /// <summary>The defaults.</summary>
    public static ReleaseOptions Default { get; } = new();
}

/// <summary>Start a passthrough saga with id <paramref name="SagaId"/>.</summary>
public sealed record RequestPassthrough(
    Guid SagaId, HostId Host, VmId Vm, IReadOnlyList<PciAddress> Devices, PassthroughOptions Options,
    string RequestedBy, DateTimeOffset At);

/// <summary>
/// Start a release saga with id <paramref name="SagaId"/>. <paramref name="KnownOriginalDrivers"/> carries the dom0
/// drivers the passthrough recorded, so each device goes back to exactly the driver it had.
/// </summary>
public sealed record RequestRelease(
    Guid SagaId, HostId Host, VmId Vm, IReadOnlyList<PciAddress> Devices, ReleaseOptions Options,
    IReadOnlyList<DriverBinding> KnownOriginalDrivers, string RequestedBy, DateTimeOffset At);

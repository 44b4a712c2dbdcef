using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Messaging;
using Passthrough.Contracts.Pci;

// Events a host agent publishes: answers to host commands (carrying saga and command ids), and host state.
namespace Passthrough.Contracts.HostEvents;

/// <summary>
/// Preflight (or the release check) found nothing against the request; the facts the later steps need, captured before
/// anything changed, so a compensation can restore them even when the step it undoes never answered.
/// </summary>
/// <param name="Devices">The devices the saga works on (with siblings added when the request allowed it), as dom0 sees them now.</param>
/// <param name="VmName">The VM's name label.</param>
/// <param name="VmPciKey">The VM's <c>other-config:pci</c> exactly as it is now; null when absent.</param>
/// <param name="NextBootHideList">The hide list exactly as <c>xen-cmdline --get-dom0</c> prints it now; null when absent.</param>
/// <param name="HostBootId">The host's boot id now.</param>
public sealed record PreflightPassed(
    Guid SagaId, Guid CommandId, SagaStep Step, HostId Host, VmId Vm,
    VmPowerState PowerState, GuestType DomainType, string XenVersion, bool IommuEnabled,
    bool Dom0AccessApi, IReadOnlyList<HostPciDevice> Devices, IReadOnlyList<string> Warnings,
    string VmName, string? VmPciKey, string? NextBootHideList, string HostBootId) : ISagaReply;

/// <summary>Preflight refused the request; nothing was changed.</summary>
public sealed record PreflightRefused(
    Guid SagaId, Guid CommandId, SagaStep Step, HostId Host, IReadOnlyList<Failure> Reasons,
    IReadOnlyList<PciAddress> SuggestedSiblings) : ISagaReply;

/// <summary>A snapshot was taken.</summary>
public sealed record VmSnapshotted(
    Guid SagaId, Guid CommandId, SagaStep Step, HostId Host, VmId Vm, XenUuid Snapshot) : ISagaReply;

/// <summary>The VM was reverted to a snapshot.</summary>
public sealed record VmSnapshotReverted(
    Guid SagaId, Guid CommandId, SagaStep Step, HostId Host, VmId Vm, XenUuid Snapshot) : ISagaReply;

/// <summary>A snapshot was destroyed (or was already gone).</summary>
public sealed record VmSnapshotDestroyed(
    Guid SagaId, Guid CommandId, SagaStep Step, HostId Host, VmId Vm, XenUuid Snapshot) : ISagaReply;

/// <summary>The snapshots a <see cref="HostCommands.DestroySnapshotsNamed"/> found, destroyed (empty: there were none).</summary>
public sealed record VmSnapshotsDestroyed(
    Guid SagaId, Guid CommandId, SagaStep Step, HostId Host, VmId Vm, IReadOnlyList<XenUuid> Snapshots) : ISagaReply;

/// <summary>The VM is halted; <paramref name="WasRunning"/> says whether this command stopped it.</summary>
public sealed record VmShutDown(
    Guid SagaId, Guid CommandId, SagaStep Step, HostId Host, VmId Vm, bool WasRunning, bool Forced) : ISagaReply;

/// <summary>The VM is running; <paramref name="WasHalted"/> says whether this command started it.</summary>
public sealed record VmStarted(
    Guid SagaId, Guid CommandId, SagaStep Step, HostId Host, VmId Vm, bool WasHalted, int? DomId) : ISagaReply;

/// <summary>Devices were taken from dom0; <paramref name="Record"/> says exactly what changed.</summary>
public sealed record PciDevicesDetached(
    Guid SagaId, Guid CommandId, SagaStep Step, HostId Host, DetachRecord Record) : ISagaReply;

/// <summary>A detach was undone: drivers rebound, hide list restored.</summary>
public sealed record PciDetachUndone(
    Guid SagaId, Guid CommandId, SagaStep Step, HostId Host, IReadOnlyList<DriverBinding> Restored, string? HideList) : ISagaReply;

/// <summary>Released devices are back with their dom0 drivers.</summary>
public sealed record PciDevicesReattached(
    Guid SagaId, Guid CommandId, SagaStep Step, HostId Host, IReadOnlyList<DriverBinding> Restored, string? PreviousHideList, string? NewHideList) : ISagaReply;

/// <summary>The VM's <c>other-config:pci</c> changed from <paramref name="PreviousValue"/> (null: absent) to <paramref name="NewValue"/>.</summary>
public sealed record VmPciKeyChanged(
    Guid SagaId, Guid CommandId, SagaStep Step, HostId Host, VmId Vm, string? PreviousValue, string? NewValue) : ISagaReply;

/// <summary>The host came back from a reboot with a new boot id.</summary>
public sealed record HostRebooted(
    Guid SagaId, Guid CommandId, SagaStep Step, HostId Host, string PreviousBootId, string BootId) : ISagaReply;

/// <summary>Host-side proof: which of the devices the running domain has attached.</summary>
public sealed record PciAttachmentChecked(
    Guid SagaId, Guid CommandId, SagaStep Step, HostId Host, VmId Vm, IReadOnlyList<PciAddress> Attached, IReadOnlyList<PciAddress> Missing) : ISagaReply;

/// <summary>A host command failed; nothing or exactly what is said in <paramref name="Failure"/> changed.</summary>
public sealed record HostCommandFailed(
    Guid SagaId, Guid CommandId, SagaStep Step, HostId Host, Failure Failure) : ISagaReply;

/// <summary>The host's state: published at agent start and whenever it changes.</summary>
public sealed record HostInventoryReported(
    HostId Host, string Product, string ProductVersion, string XenVersion, string? XapiVersion, bool? IommuEnabled,
    bool Dom0AccessApi, string BootId, IReadOnlyList<HostPciDevice> Devices, DateTimeOffset At);

/// <summary>The host agent is alive and can reach the host.</summary>
public sealed record HostHeartbeat(HostId Host, string BootId, bool Reachable, DateTimeOffset At);

/// <summary>The answer to <see cref="HostCommands.VerifyGuestOverSsh"/>: what the agentless probe found in the guest.</summary>
public sealed record GuestProbedOverSsh(
    Guid SagaId, Guid CommandId, SagaStep Step, HostId Host, VmId Vm, bool Verified, string? BootId, string? Kernel,
    GuestType GuestType, PcifrontState Pcifront, IReadOnlyList<GuestPciDevice> Devices,
    IReadOnlyList<Failure> Problems, IReadOnlyList<string> Advisories) : ISagaReply;

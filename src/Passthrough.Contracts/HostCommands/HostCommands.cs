using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Messaging;
using Passthrough.Contracts.Pci;

// Commands the coordinator sends to one host agent's queue. Only the coordinator may send these; a host agent
// consumes only those addressed to its own hosts (the namespace is what broker permissions key on).
namespace Passthrough.Contracts.HostCommands;

/// <summary>Check everything before anything changes; answered by <see cref="HostEvents.PreflightPassed"/> or <see cref="HostEvents.PreflightRefused"/>.</summary>
public sealed record RunPreflight(
    Guid SagaId, SagaStep Step, int Attempt, Guid CommandId,
    HostId Host, VmId Vm, IReadOnlyList<PciAddress> Devices, PreflightOptions Options) : ISagaCommand;

/// <summary>Take a snapshot of the VM (<c>xe vm-snapshot</c>).</summary>
public sealed record SnapshotVm(
    Guid SagaId, SagaStep Step, int Attempt, Guid CommandId,
    HostId Host, VmId Vm, string SnapshotName) : ISagaCommand;

/// <summary>Revert the VM to a snapshot (<c>xe snapshot-revert</c>).</summary>
public sealed record RevertVmSnapshot(
    Guid SagaId, SagaStep Step, int Attempt, Guid CommandId,
    HostId Host, VmId Vm, XenUuid Snapshot) : ISagaCommand;

/// <summary>Destroy a snapshot the saga took (retention policy).</summary>
public sealed record DestroyVmSnapshot(
    Guid SagaId, SagaStep Step, int Attempt, Guid CommandId,
    HostId Host, VmId Vm, XenUuid Snapshot) : ISagaCommand;

/// <summary>
/// Destroy every snapshot of the VM that a <see cref="SnapshotVm"/> named <paramref name="SnapshotName"/> took: the
/// compensation when the snapshot step never answered (deadline, lost connection), so its uuid is unknown but the
/// snapshot may exist or still be in the making. The host agent runs its commands one at a time, so this runs after
/// a snapshot still in progress has ended. Answered by <see cref="HostEvents.VmSnapshotsDestroyed"/> (none found is fine).
/// </summary>
public sealed record DestroySnapshotsNamed(
    Guid SagaId, SagaStep Step, int Attempt, Guid CommandId,
    HostId Host, VmId Vm, string SnapshotName) : ISagaCommand;

/// <summary>Shut the VM down cleanly; force it after <paramref name="CleanShutdownDeadline"/> when <paramref name="AllowForce"/>.</summary>
public sealed record ShutdownVm(
    Guid SagaId, SagaStep Step, int Attempt, Guid CommandId,
    HostId Host, VmId Vm, TimeSpan CleanShutdownDeadline, bool AllowForce) : ISagaCommand;

/// <summary>Start the VM (cold start: <c>other-config:pci</c> is read when the domain is built).</summary>
public sealed record StartVm(
    Guid SagaId, SagaStep Step, int Attempt, Guid CommandId,
    HostId Host, VmId Vm) : ISagaCommand;

/// <summary>Take devices from dom0: bind to pciback now and persist the hide as <paramref name="Mode"/> says.</summary>
public sealed record DetachPciDevices(
    Guid SagaId, SagaStep Step, int Attempt, Guid CommandId,
    HostId Host, IReadOnlyList<PciAddress> Devices, HideMode Mode) : ISagaCommand;

/// <summary>Undo a detach exactly: rebind the recorded drivers and restore the previous hide list byte for byte.</summary>
public sealed record UndoPciDetach(
    Guid SagaId, SagaStep Step, int Attempt, Guid CommandId,
    HostId Host, DetachRecord Record) : ISagaCommand;

/// <summary>Release: give devices back to dom0 (original driver, or <c>drivers_probe</c>) and remove them from the hide list.</summary>
public sealed record ReattachPciDevices(
    Guid SagaId, SagaStep Step, int Attempt, Guid CommandId,
    HostId Host, IReadOnlyList<PciAddress> Devices, IReadOnlyList<DriverBinding> KnownOriginalDrivers) : ISagaCommand;

/// <summary>Merge devices into the VM's <c>other-config:pci</c> (the VM must be halted).</summary>
public sealed record AssignPciDevices(
    Guid SagaId, SagaStep Step, int Attempt, Guid CommandId,
    HostId Host, VmId Vm, IReadOnlyList<PciAddress> Devices) : ISagaCommand;

/// <summary>Set the VM's <c>other-config:pci</c> back to exactly <paramref name="Value"/> (null: remove the key).</summary>
public sealed record RestoreVmPciKey(
    Guid SagaId, SagaStep Step, int Attempt, Guid CommandId,
    HostId Host, VmId Vm, string? Value) : ISagaCommand;

/// <summary>Release: remove devices from the VM's <c>other-config:pci</c>, keeping the other entries.</summary>
public sealed record UnassignPciDevices(
    Guid SagaId, SagaStep Step, int Attempt, Guid CommandId,
    HostId Host, VmId Vm, IReadOnlyList<PciAddress> Devices) : ISagaCommand;

/// <summary>Disable, evacuate, reboot, wait for a new boot id, enable. Passthrough VMs must be halted first.</summary>
public sealed record RebootHost(
    Guid SagaId, SagaStep Step, int Attempt, Guid CommandId,
    HostId Host, TimeSpan LiveDeadline) : ISagaCommand;

/// <summary>Host-side proof of attachment: the VM's <c>attached_PCIs</c> / pci backend holds the devices.</summary>
public sealed record CheckPciAttachment(
    Guid SagaId, SagaStep Step, int Attempt, Guid CommandId,
    HostId Host, VmId Vm, IReadOnlyList<PciAddress> Devices) : ISagaCommand;

/// <summary>
/// Release check: the VM exists on the host and holds the devices in its <c>other-config:pci</c> (or they are still
/// hidden from dom0); answered by <see cref="HostEvents.PreflightPassed"/> or <see cref="HostEvents.PreflightRefused"/>.
/// </summary>
public sealed record RunReleaseCheck(
    Guid SagaId, SagaStep Step, int Attempt, Guid CommandId,
    HostId Host, VmId Vm, IReadOnlyList<PciAddress> Devices) : ISagaCommand;

/// <summary>
/// Agentless verification: the host agent logs into the guest over SSH and runs the same probe as the guest agent;
/// answered by <see cref="HostEvents.GuestProbedOverSsh"/>.
/// </summary>
public sealed record VerifyGuestOverSsh(
    Guid SagaId, SagaStep Step, int Attempt, Guid CommandId,
    HostId Host, VmId Vm, GuestSshTarget Target, IReadOnlyList<ExpectedDevice> Expected, string? PreviousBootId,
    bool RequirePcifront) : ISagaCommand;

using Passthrough.Contracts.GuestCommands;
using Passthrough.Contracts.GuestEvents;
using Passthrough.Contracts.HostCommands;
using Passthrough.Contracts.HostEvents;
using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Messaging;
using Passthrough.Contracts.Pci;

namespace Passthrough.Coordinator.Tests.Infrastructure;

/// <summary>
/// The facts a scripted host reports, and the replies a well-behaved agent would give to each command: used directly by
/// the flow unit tests and by the fake host agent of the state machine tests.
/// </summary>
internal sealed class ScriptedHost
{
    public static readonly HostId HostId = HostId.Parse("6e2cbb4e-7d44-4b9b-9a3c-1f0f3c8e2a10");
    public static readonly VmId VmId = VmId.Parse("0f8c8e9a-3b1d-4c55-8d27-2e5b9d6c7a31");
    public static readonly PciAddress Usb = PciAddress.Parse("0000:03:00.0");
    public static readonly PciAddress UsbSibling = PciAddress.Parse("0000:03:00.1");
    public static readonly PciDeviceId UsbId = PciDeviceId.Create(0x1033, 0x0194);

    public VmPowerState PowerState { get; set; } = VmPowerState.Running;

    public GuestType DomainType { get; set; } = GuestType.PV;

    public string? VmPciKey { get; set; } = "0/0000:05:00.0";

    public string? HideList { get; set; } = "(0000:05:00.0)";

    public string Driver { get; set; } = "xhci_hcd";

    public bool RebootRequired { get; set; }

    /// <summary>Functions preflight adds to the request (siblings).</summary>
    public List<PciAddress> AddedSiblings { get; } = [];

    public XenUuid Snapshot { get; } = XenUuid.NewUuid();

    public ISagaReply Success(ISagaCommand command) => command switch
    {
        RunPreflight c => Passed(c.SagaId, c.CommandId, c.Step, c.Devices.Concat(AddedSiblings).Distinct().ToList(), Driver),
        RunReleaseCheck c => Passed(c.SagaId, c.CommandId, c.Step, c.Devices, "pciback"),
        SnapshotVm c => new VmSnapshotted(c.SagaId, c.CommandId, c.Step, c.Host, c.Vm, Snapshot),
        ShutdownVm c => new VmShutDown(c.SagaId, c.CommandId, c.Step, c.Host, c.Vm, WasRunning: true, Forced: false),
        DetachPciDevices c => new PciDevicesDetached(c.SagaId, c.CommandId, c.Step, c.Host, new DetachRecord(c.Mode,
            [.. c.Devices.Select(d => new DriverBinding(d, Driver, true))], HideList ?? string.Empty,
            Dom0HideListText(c.Devices), [], RebootRequired)),
        RebootHost c => new HostRebooted(c.SagaId, c.CommandId, c.Step, c.Host, "boot-1", "boot-2"),
        AssignPciDevices c => new VmPciKeyChanged(c.SagaId, c.CommandId, c.Step, c.Host, c.Vm, VmPciKey, "0/" + c.Devices[0]),
        RestoreVmPciKey c => new VmPciKeyChanged(c.SagaId, c.CommandId, c.Step, c.Host, c.Vm, "0/0000:03:00.0", c.Value),
        UnassignPciDevices c => new VmPciKeyChanged(c.SagaId, c.CommandId, c.Step, c.Host, c.Vm, VmPciKey, null),
        ReattachPciDevices c => new PciDevicesReattached(c.SagaId, c.CommandId, c.Step, c.Host,
            [.. c.Devices.Select(d => new DriverBinding(d, Driver, false))], HideList, null),
        StartVm c => new VmStarted(c.SagaId, c.CommandId, c.Step, c.Host, c.Vm, WasHalted: true, DomId: 7),
        VerifyGuestDevices c => new GuestDevicesVerified(c.SagaId, c.CommandId, c.Step, c.Vm, true, "guest-boot-2", "6.1.0-18-amd64", DomainType,
            DomainType == GuestType.PV ? PcifrontState.Active : PcifrontState.NotApplicable, [], [], []),
        VerifyGuestOverSsh c => new GuestProbedOverSsh(c.SagaId, c.CommandId, c.Step, c.Host, c.Vm, true, "guest-boot-2", "3.4.9", DomainType,
            PcifrontState.Active, [], [], []),
        CheckPciAttachment c => new PciAttachmentChecked(c.SagaId, c.CommandId, c.Step, c.Host, c.Vm, c.Devices, []),
        DestroyVmSnapshot c => new VmSnapshotDestroyed(c.SagaId, c.CommandId, c.Step, c.Host, c.Vm, c.Snapshot),
        DestroySnapshotsNamed c => new VmSnapshotsDestroyed(c.SagaId, c.CommandId, c.Step, c.Host, c.Vm, [Snapshot]),
        RevertVmSnapshot c => new VmSnapshotReverted(c.SagaId, c.CommandId, c.Step, c.Host, c.Vm, c.Snapshot),
        UndoPciDetach c => new PciDetachUndone(c.SagaId, c.CommandId, c.Step, c.Host, c.Record.Bindings, c.Record.PreviousHideList),
        _ => throw new ArgumentOutOfRangeException(nameof(command), command.GetType().Name, "No scripted answer."),
    };

    /// <summary>The failure a host (or guest) reports for <paramref name="command"/>.</summary>
    public static ISagaReply Failure(ISagaCommand command) => command switch
    {
        RunPreflight c => new PreflightRefused(c.SagaId, c.CommandId, c.Step, c.Host,
            [new Failure(FailureCause.SiblingFunctionsMissing, $"{c.Devices[0]} has sibling functions the request lacks")], [UsbSibling]),
        VerifyGuestDevices c => new GuestDevicesVerified(c.SagaId, c.CommandId, c.Step, c.Vm, false, "guest-boot-2", "3.2.0-4-amd64", GuestType.PV,
            PcifrontState.Absent, [], [new Failure(FailureCause.GuestLacksPcifront, "guest kernel lacks xen-pcifront")], []),
        CheckPciAttachment c => new PciAttachmentChecked(c.SagaId, c.CommandId, c.Step, c.Host, c.Vm, [], c.Devices),
        _ => new HostCommandFailed(command.SagaId, command.CommandId, command.Step, HostOf(command),
            new Failure(FailureCause.CommandFailed, $"scripted failure of {command.GetType().Name}")),
    };

    public static HostId HostOf(ISagaCommand command) =>
        (HostId?)command.GetType().GetProperty("Host")?.GetValue(command) ?? HostId;

    private static string Dom0HideListText(IEnumerable<PciAddress> devices) =>
        string.Concat(devices.Select(d => $"({d})"));

    private PreflightPassed Passed(Guid sagaId, Guid commandId, SagaStep step, IReadOnlyList<PciAddress> devices, string driver) =>
        new(sagaId, commandId, step, HostId, VmId, PowerState, DomainType, "4.17.3", true, false,
            [.. devices.Select(d => new HostPciDevice(d, UsbId, PciClass.Create(0x0c, 0x03, 0x30), "NEC", "uPD720200", driver, Dom0Access.Enabled,
                null, null, [], false, false))],
            [], "usb-vm", VmPciKey, HideList, "boot-1");
}

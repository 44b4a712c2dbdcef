using Passthrough.Contracts.Messaging;
using Passthrough.Simulation;
using Passthrough.Simulation.Model;
using static Passthrough.Xen.Tests.Driver.SimHost;

namespace Passthrough.Xen.Tests.Driver;

/// <summary>
/// Every injected fault (a command failing with the toolstack's real text, a hang, a dropped connection) surfaces as a
/// <see cref="Dom0Exception"/> whose failure names the operation, carries the original text and a classified cause.
/// </summary>
public sealed class FaultTests
{
    private const string Hung = "did not finish within";
    private const string Dropped = "Connection reset by peer";
    private const string InternalError = "The server failed to handle your request, due to an internal error. The given message may give details useful for debugging the problem.";

    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(10);

    private static readonly Dictionary<string, FaultCase> Cases = new FaultCase[]
    {
        new("detect while xapi is still starting", ProductProfile.XcpNg83,
            (f, s) => f.FailCommand("xe host-param-get", "The host toolstack is still initialising. Please wait."),
            s => s.Driver.DetectAsync(cancellationToken: Ct), FailureCause.ToolstackInitialising, "read software-version", "The host toolstack is still initialising. Please wait."),
        new("detect when xapi refuses connections", ProductProfile.XcpNg82,
            (f, s) => f.FailCommand("xe help", "Error: Connection refused (calling connect )"),
            s => s.Driver.DetectAsync(cancellationToken: Ct), FailureCause.HostUnreachable, "ask xe about pci-list", "Error: Connection refused (calling connect )"),
        new("IOMMU chipset-info hangs", ProductProfile.XcpNg83,
            (f, s) => f.HangCommand($"xe host-param-get uuid={s.Host.Uuid} param-name=chipset-info"),
            s => s.Driver.GetIommuAsync(Ct), FailureCause.Timeout, "read chipset-info:iommu", Hung),
        new("IOMMU xl info drops", ProductProfile.XenServer65,
            (f, s) => f.DropConnection("xl info"),
            s => s.Driver.GetIommuAsync(Ct), FailureCause.HostUnreachable, "read xl info", Dropped),
        new("inventory lspci hangs", ProductProfile.XcpNg82,
            (f, s) => f.HangCommand("lspci"),
            s => s.Driver.GetInventoryAsync(Ct), FailureCause.Timeout, "read lspci", Hung),
        new("inventory pci-list fails", ProductProfile.XcpNg83,
            (f, s) => f.FailCommand("xe pci-list", InternalError + "\nmessage: Db_exn.Read_missing_uuid(\"PCI\", \"\", \"OpaqueRef:NULL\")"),
            s => s.Driver.GetInventoryAsync(Ct), FailureCause.CommandFailed, "list XAPI PCI objects", "Db_exn.Read_missing_uuid"),
        new("inventory management PIF drops", ProductProfile.CitrixHypervisor82,
            (f, s) => f.DropConnection("xe pif-list"),
            s => s.Driver.GetInventoryAsync(Ct), FailureCause.HostUnreachable, "find the management interface", Dropped),
        new("bind unbind refused", ProductProfile.XcpNg82,
            (f, s) => f.FailCommand("tee /sys/bus/pci/devices/0000:03:00.0/driver/unbind", "tee: /sys/bus/pci/devices/0000:03:00.0/driver/unbind: Permission denied"),
            s => s.Driver.BindToPcibackAsync(DefaultDevices.PassthroughNic, Ct), FailureCause.CommandFailed, "unbind 0000:03:00.0 from igb", "Permission denied"),
        new("bind new_slot hangs", ProductProfile.XenServer71,
            (f, s) => f.HangCommand("tee /sys/bus/pci/drivers/pciback/new_slot"),
            s => s.Driver.BindToPcibackAsync(DefaultDevices.PassthroughNic, Ct), FailureCause.Timeout, "add 0000:03:00.0 to pciback's slots", Hung),
        new("restore driver bind fails", ProductProfile.XcpNg83,
            (f, s) => f.FailCommand("tee /sys/bus/pci/drivers/igb/bind", "tee: /sys/bus/pci/drivers/igb/bind: No such device"),
            async s => await s.Driver.RestoreDriverAsync(new DriverBinding(DefaultDevices.PassthroughNic, "igb", true), Ct), FailureCause.CommandFailed, "bind 0000:03:00.0 to igb", "No such device",
            s => s.Driver.BindToPcibackAsync(DefaultDevices.PassthroughNic, Ct)),
        new("persist hide write hangs", ProductProfile.XenServer65,
            (f, s) => f.HangCommand("xen-cmdline --set-dom0"),
            s => s.Driver.PersistHideAsync([DefaultDevices.PassthroughNic], Ct), FailureCause.Timeout, "write the dom0 hide list", Hung),
        new("persist hide read fails", ProductProfile.XcpNg82,
            (f, s) => f.FailCommand("xen-cmdline --get-dom0", "/opt/xensource/libexec/xen-cmdline: line 1: /boot/extlinux.conf: Permission denied"),
            s => s.Driver.PersistHideAsync([DefaultDevices.PassthroughNic], Ct), FailureCause.CommandFailed, "read the dom0 hide list", "/boot/extlinux.conf: Permission denied"),
        new("restore hide delete drops", ProductProfile.XenServer71,
            (f, s) => f.DropConnection("xen-cmdline --delete-dom0"),
            async s => await s.Driver.RestoreHideListAsync(new HideListChange(string.Empty, "xen-pciback.hide=(0000:03:00.0)", true), Ct), FailureCause.HostUnreachable, "delete the dom0 hide list", Dropped,
            s => s.Driver.PersistHideAsync([DefaultDevices.PassthroughNic], Ct)),
        new("dom0 access status drops", ProductProfile.XcpNg83,
            (f, s) => f.DropConnection("xe pci-get-dom0-access-status"),
            s => s.Driver.DisableDom0AccessAsync(s.Pci(DefaultDevices.PassthroughNic), Ct), FailureCause.HostUnreachable, "read dom0 access", Dropped),
        new("dom0 access disable fails", ProductProfile.XcpNg83,
            (f, s) => f.FailCommand("xe pci-disable-dom0-access", InternalError + "\nmessage: xenopsd internal error: Scanf.Scan_failure(\"scanf: bad input at char number 6: looking for ':', found '.'\")"),
            s => s.Driver.DisableDom0AccessAsync(s.Pci(DefaultDevices.PassthroughNic), Ct), FailureCause.MalformedHideList, "disable dom0 access", "scanf: bad input at char number 6"),
        new("list VMs drops", ProductProfile.XcpNg82,
            (f, s) => f.DropConnection("xe vm-list"),
            s => s.Driver.FindVmAsync(DefaultDevices.PvVmName, Ct), FailureCause.HostUnreachable, "list VMs", Dropped),
        new("pci key read drops", ProductProfile.XenServer65,
            (f, s) => f.DropConnection("xe vm-param-get"),
            s => s.Driver.MergePciKeyAsync(s.Vm(DefaultDevices.PvVmName), [DefaultDevices.PassthroughNic], Ct), FailureCause.HostUnreachable, "read other-config", Dropped),
        new("pci key write refused", ProductProfile.XcpNg83,
            (f, s) => f.FailCommand("xe vm-param-set", $"The uuid you supplied was invalid.\ntype: VM\nuuid: {s.Vm(DefaultDevices.PvVmName)}"),
            s => s.Driver.MergePciKeyAsync(s.Vm(DefaultDevices.PvVmName), [DefaultDevices.PassthroughNic], Ct), FailureCause.CommandFailed, "set other-config:pci", "The uuid you supplied was invalid."),
        new("pci key remove hangs", ProductProfile.CitrixHypervisor82,
            (f, s) => f.HangCommand("xe vm-param-remove"),
            s => s.Driver.RestorePciKeyAsync(s.Vm(DefaultDevices.PvVmName), null, Ct), FailureCause.Timeout, "remove other-config:pci", Hung,
            s => s.Driver.MergePciKeyAsync(s.Vm(DefaultDevices.PvVmName), [DefaultDevices.PassthroughNic], Ct)),
        new("start Cannot_add", ProductProfile.XcpNg82,
            (f, s) => f.FailCommand("xe vm-start", InternalError + "\nmessage: xenopsd internal error: Device.PCI.Cannot_add(0000:03:00.0, Xenctrlext.Unix_error(30, \"1: Operation not permitted\"))"),
            s => s.Driver.StartVmAsync(s.Vm(DefaultDevices.HvmVmName), Ct), FailureCause.DeviceCannotBeAdded, "start the VM", "Device.PCI.Cannot_add(0000:03:00.0"),
        new("start pciback has not loaded", ProductProfile.XenServer71,
            (f, s) => f.FailCommand("xe vm-start", InternalError + "\nmessage: pciback has not loaded"),
            s => s.Driver.StartVmAsync(s.Vm(DefaultDevices.PvVmName), Ct), FailureCause.PcibackNotLoaded, "start the VM", "pciback has not loaded"),
        new("start RMRR", ProductProfile.XcpNg82,
            (f, s) => f.FailCommand("xe vm-start", InternalError + "\nmessage: xenopsd internal error: Device.PCI.Cannot_add(0000:08:00.0, Xenctrlext.Unix_error(1, \"[VT-D] It's disallowed to assign 0000:08:00.0 with shared RMRR at 7ba77000 for Dom32753.\"))"),
            s => s.Driver.StartVmAsync(s.Vm(DefaultDevices.PvVmName), Ct), FailureCause.Rmrr, "start the VM", "shared RMRR at 7ba77000"),
        new("start hangs", ProductProfile.XcpNg83,
            (f, s) => f.HangCommand("xe vm-start"),
            s => s.Driver.StartVmAsync(s.Vm(DefaultDevices.PvVmName), Ct), FailureCause.Timeout, "start the VM", Hung),
        new("forced shutdown refused", ProductProfile.XcpNg83,
            (f, s) => f.HangCommand("xe vm-shutdown").FailCommand("xe vm-shutdown", $"You attempted an operation on a VM that was not in an appropriate power state at the time; for example, you attempted to start a VM that was already running. The parameters returned are the VM's handle, and the expected and actual VM state at the time of the call.\nvm: {s.Vm("busy")} (busy)\nexpected: paused, suspended, running\nactual: halted"),
            s => s.Driver.ShutdownVmAsync(s.Vm("busy"), TimeSpan.FromSeconds(30), allowForce: true, Ct), FailureCause.CommandFailed, "force the VM off", "expected: paused, suspended, running"),
        new("snapshot fails", ProductProfile.XenServer71,
            (f, s) => f.FailCommand("xe vm-snapshot", "Error code: SR_BACKEND_FAILURE_44\nError parameters: , There is insufficient space,"),
            s => s.Driver.SnapshotVmAsync(s.Vm(DefaultDevices.PvVmName), "before", Ct), FailureCause.CommandFailed, "snapshot the VM", "SR_BACKEND_FAILURE_44"),
        new("revert drops", ProductProfile.XcpNg82,
            (f, s) => f.DropConnection("xe snapshot-revert"),
            s => s.Driver.RevertSnapshotAsync(s.Host.Vm(DefaultDevices.PvVmName).Snapshots[0].Uuid, Ct), FailureCause.HostUnreachable, "revert to the snapshot", Dropped,
            s => s.Driver.SnapshotVmAsync(s.Vm(DefaultDevices.PvVmName), "before", Ct)),
        new("destroy snapshot hangs", ProductProfile.XcpNg83,
            (f, s) => f.HangCommand("xe snapshot-uninstall"),
            s => s.Driver.DestroySnapshotAsync(s.Host.Vm(DefaultDevices.PvVmName).Snapshots[0].Uuid, Ct), FailureCause.Timeout, "destroy the snapshot", Hung,
            s => s.Driver.SnapshotVmAsync(s.Vm(DefaultDevices.PvVmName), "before", Ct)),
        new("reboot disable fails", ProductProfile.XcpNg82,
            (f, s) => f.FailCommand("xe host-disable", $"You attempted an operation which involves a host which could not be contacted.\nhost: {s.Host.Uuid} ({s.Host.Name})"),
            s => s.Driver.RebootHostAsync(Deadline, Ct), FailureCause.CommandFailed, "disable the host", "could not be contacted"),
        new("reboot HOST_NOT_DISABLED", ProductProfile.XenServer65,
            (f, s) => f.FailCommand("xe host-reboot", "This operation cannot be performed because the host is not disabled. Please disable the host and then try again."),
            s => s.Driver.RebootHostAsync(Deadline, Ct), FailureCause.HostNotDisabled, "reboot the host", "the host is not disabled"),
        new("reboot evacuate hangs", ProductProfile.XcpNg83,
            (f, s) => f.HangCommand("xe host-evacuate"),
            s => s.Driver.RebootHostAsync(Deadline, Ct), FailureCause.Timeout, "evacuate the host", Hung),
        new("reboot final enable fails", ProductProfile.XcpNg82,
            (f, s) => f.FailCommand("xe host-enable", InternalError + "\nmessage: Failure(\"host enable failed\")"),
            s => s.Driver.RebootHostAsync(Deadline, Ct), FailureCause.CommandFailed, "enable the host", "host enable failed"),
    }.ToDictionary(c => c.Name, StringComparer.Ordinal);

    public static TheoryData<string> CaseNames => [.. Cases.Keys];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task An_injected_fault_is_a_Dom0Exception_naming_the_operation_with_the_original_text_and_a_cause(string name)
    {
        var c = Cases[name];
        var sim = Create(c.Product, b => b.WithVm("busy", GuestType.HVM, VmPowerState.Running));
        if (c.Arrange is not null)
        {
            await c.Arrange(sim);
        }

        c.Arm(sim.Faults, sim);
        var injected = sim.Faults.Armed.Where(f => f.Kind == CommandFaultKind.Fail).Select(f => f.StandardError.Trim()).LastOrDefault();

        var error = await Assert.ThrowsAsync<Dom0Exception>(() => sim.Drive(() => c.Act(sim), TimeSpan.FromSeconds(15)));

        Assert.Equal(c.Cause, error.Cause);
        Assert.Contains(c.Operation, error.Failure.Message, StringComparison.Ordinal);
        Assert.NotNull(error.Failure.OriginalText);
        Assert.Contains(c.Text, error.Failure.OriginalText, StringComparison.Ordinal);
        if (injected is not null && c.Text != Hung && c.Text != Dropped)
        {
            Assert.Equal(injected, error.Failure.OriginalText);
        }

        if (c.Cause is not (FailureCause.CommandFailed or FailureCause.Unknown))
        {
            Assert.False(string.IsNullOrWhiteSpace(error.Failure.FixHint), "a classified cause comes with a fix hint");
        }
    }

    private sealed record FaultCase(
        string Name,
        ProductProfile Product,
        Action<SimulatedFaults, SimHost> Arm,
        Func<SimHost, Task> Act,
        FailureCause Cause,
        string Operation,
        string Text,
        Func<SimHost, Task>? Arrange = null);
}

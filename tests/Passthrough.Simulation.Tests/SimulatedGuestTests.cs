using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Messaging;
using Passthrough.Contracts.Pci;
using Passthrough.Guest;
using Passthrough.Simulation.Guest;
using Passthrough.Simulation.Model;
using Passthrough.Xen;

namespace Passthrough.Simulation.Tests;

/// <summary>The simulated host boots simulated guests whose trees the real Linux probe reads.</summary>
public sealed class SimulatedGuestTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"passthrough-guest-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private static async Task<(SimulatedHost Host, Dom0Driver Driver, VmId Vm)> AssignAndStartAsync(
        string vmName, PciAddress device, CancellationToken cancellationToken, Func<SimulatedHostBuilder, SimulatedHostBuilder>? configure = null)
    {
        var builder = new SimulatedHostBuilder(ProductProfile.XcpNg83);
        var host = (configure?.Invoke(builder) ?? builder).Build(TimeProvider.System);
        var driver = new Dom0Driver(new SimulatedHostRunner(host));
        var vm = (await driver.FindVmAsync(vmName, cancellationToken)).Uuid;
        await driver.BindToPcibackAsync(device, cancellationToken);
        await driver.MergePciKeyAsync(vm, [device], cancellationToken);
        await driver.StartVmAsync(vm, cancellationToken);
        return (host, driver, vm);
    }

    private static PciDeviceId IdOf(SimulatedHost host, PciAddress address) =>
        host.Read(h => { var f = h.Function(address); return PciDeviceId.Create(f.VendorId, f.DeviceId); });

    private static Task<GuestReport> ProbeAsync(SimulatedGuest guest) =>
        new LinuxGuestProbe(new LocalGuestFileSystem(guest.Root)).ProbeAsync(TestContext.Current.CancellationToken);

    [Fact]
    public async Task A_pv_guest_with_pcifront_sees_its_usb_controller_on_the_virtual_bus_with_its_driver()
    {
        var ct = TestContext.Current.CancellationToken;
        var (host, _, vm) = await AssignAndStartAsync(DefaultDevices.PvVmName, DefaultDevices.UsbController, ct);
        var guest = new SimulatedGuest(host, vm.Uuid, _root);

        Assert.True(guest.Refresh());
        var report = await ProbeAsync(guest);

        Assert.True(report.IsXen);
        Assert.Equal(GuestType.PV, report.GuestType);
        Assert.Equal(PcifrontState.Active, report.Pcifront.State);
        var device = Assert.Single(report.Devices);
        Assert.Equal("0000:00:00.0", device.Address.ToString());
        Assert.Equal(IdOf(host, DefaultDevices.UsbController), device.Id);
        Assert.Equal("xhci_hcd", device.Driver);
        Assert.Equal(guest.BootId, report.BootId);
        var verdict = GuestVerification.Build(report, [new ExpectedDevice(device.Id, null, "xhci_hcd")]);
        Assert.True(verdict.Verified, string.Join("; ", verdict.Problems.Select(p => p.Message)));
    }

    [Fact]
    public async Task A_pv_guest_without_pcifront_fails_verification_with_the_kernel_cause()
    {
        var ct = TestContext.Current.CancellationToken;
        var (host, _, vm) = await AssignAndStartAsync(DefaultDevices.PvVmName, DefaultDevices.UsbController, ct);
        var guest = new SimulatedGuest(host, vm.Uuid, _root, SimulatedGuestProfile.Debian7Tutorial with { Pcifront = SimulatedPcifront.Absent });

        guest.Refresh();
        var report = await ProbeAsync(guest);
        var verdict = GuestVerification.Build(report, [new ExpectedDevice(IdOf(host, DefaultDevices.UsbController))]);

        Assert.Equal(PcifrontState.Absent, report.Pcifront.State);
        Assert.Empty(report.Devices);
        Assert.False(verdict.Verified);
        Assert.Contains(verdict.Problems, p => p.Cause == FailureCause.GuestLacksPcifront && p.Message.Contains("guest kernel lacks xen-pcifront", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_module_that_is_not_loaded_is_reported_as_available()
    {
        var ct = TestContext.Current.CancellationToken;
        var (host, _, vm) = await AssignAndStartAsync(DefaultDevices.PvVmName, DefaultDevices.UsbController, ct);
        var guest = new SimulatedGuest(host, vm.Uuid, _root, new SimulatedGuestProfile(Pcifront: SimulatedPcifront.ModuleNotLoaded));

        guest.Refresh();
        var report = await ProbeAsync(guest);

        Assert.Equal(PcifrontState.AvailableNotLoaded, report.Pcifront.State);
        Assert.Equal(PcifrontModule.AvailableNotLoaded, report.Pcifront.Module);
    }

    [Fact]
    public async Task Passthrough_mode_keeps_the_host_bdf_and_hvm_guests_need_no_frontend()
    {
        var ct = TestContext.Current.CancellationToken;
        var (pvHost, _, pvVm) = await AssignAndStartAsync(DefaultDevices.PvVmName, DefaultDevices.PassthroughNic, ct);
        var pv = new SimulatedGuest(pvHost, pvVm.Uuid, Path.Combine(_root, "pv"), new SimulatedGuestProfile(PciMode: SimulatedPciMode.Passthrough));
        var (hvmHost, _, hvmVm) = await AssignAndStartAsync(DefaultDevices.HvmVmName, DefaultDevices.Nvme, ct);
        var hvm = new SimulatedGuest(hvmHost, hvmVm.Uuid, Path.Combine(_root, "hvm"));

        pv.Refresh();
        hvm.Refresh();
        var pvReport = await ProbeAsync(pv);
        var hvmReport = await ProbeAsync(hvm);

        Assert.Equal(DefaultDevices.PassthroughNic, Assert.Single(pvReport.Devices).Address);
        Assert.Equal(GuestType.HVM, hvmReport.GuestType);
        Assert.Equal(PcifrontState.NotApplicable, hvmReport.Pcifront.State);
        var nvme = Assert.Single(hvmReport.Devices, d => d.Id == IdOf(hvmHost, DefaultDevices.Nvme));
        Assert.Equal("0000:00:05.0", nvme.Address.ToString());
        Assert.Contains(hvmReport.Devices, d => d.Id.IsXenPlatform);
    }

    [Fact]
    public async Task Injected_faults_show_as_missing_device_unbound_driver_and_no_agent()
    {
        var ct = TestContext.Current.CancellationToken;
        var (host, _, vm) = await AssignAndStartAsync(DefaultDevices.PvVmName, DefaultDevices.UsbController, ct);
        var guest = new SimulatedGuest(host, vm.Uuid, _root);
        var expected = new ExpectedDevice(IdOf(host, DefaultDevices.UsbController), null, "xhci_hcd");

        guest.Faults.DriverNotBinding.Add(DefaultDevices.UsbController);
        guest.Refresh();
        var unbound = GuestVerification.Build(await ProbeAsync(guest), [expected]);
        guest.Faults.DriverNotBinding.Clear();
        guest.Faults.DevicesAbsent.Add(DefaultDevices.UsbController);
        guest.Faults.AgentNeverStarts = true;
        guest.Refresh();
        var absent = GuestVerification.Build(await ProbeAsync(guest), [expected]);

        Assert.Contains(unbound.Problems, p => p.Cause == FailureCause.GuestDriverNotBound);
        Assert.Contains(absent.Problems, p => p.Cause == FailureCause.GuestDeviceMissing);
        Assert.False(guest.AgentRunning);
    }

    [Fact]
    public async Task The_tree_follows_the_vm_a_cold_restart_gives_a_new_boot_id_and_a_halted_vm_has_no_tree()
    {
        var ct = TestContext.Current.CancellationToken;
        var (host, driver, vm) = await AssignAndStartAsync(DefaultDevices.PvVmName, DefaultDevices.UsbController, ct);
        var guest = new SimulatedGuest(host, vm.Uuid, _root);
        guest.Refresh();
        var firstBoot = (await ProbeAsync(guest)).BootId;

        await driver.ShutdownVmAsync(vm, TimeSpan.FromSeconds(30), allowForce: false, ct);
        guest.Refresh();
        var haltedTree = Directory.Exists(_root);
        await driver.StartVmAsync(vm, ct);
        guest.Refresh();
        var secondBoot = (await ProbeAsync(guest)).BootId;

        Assert.False(haltedTree);
        Assert.NotNull(firstBoot);
        Assert.NotNull(secondBoot);
        Assert.NotEqual(firstBoot, secondBoot);
    }

    [Fact]
    public async Task Runtime_faults_remove_the_frontend_or_the_device_from_a_running_guest()
    {
        var ct = TestContext.Current.CancellationToken;
        var (host, _, vm) = await AssignAndStartAsync(DefaultDevices.PvVmName, DefaultDevices.UsbController, ct);
        var guest = new SimulatedGuest(host, vm.Uuid, _root);
        guest.Refresh();
        var id = IdOf(host, DefaultDevices.UsbController);

        guest.UnbindDriver(id);
        var unbound = await ProbeAsync(guest);
        guest.RemoveDevice(id);
        var removed = await ProbeAsync(guest);
        guest.LosePcifront();
        var lost = await ProbeAsync(guest);

        Assert.Null(Assert.Single(unbound.Devices).Driver);
        Assert.Empty(removed.Devices);
        Assert.NotEqual(PcifrontState.Active, lost.Pcifront.State);
    }
}

using Passthrough.Contracts.Messaging;
using Passthrough.Contracts.Pci;
using Passthrough.Testing;

namespace Passthrough.Guest.Tests;

// The probe on guest-shaped trees: one fact per file, as sysfs/procfs present them.
public sealed class LinuxGuestProbeTests
{
    private const string Debian7 = "3.2.0-4-amd64";
    private const string PcifrontDep = "kernel/drivers/pci/xen-pcifront.ko:\n";
    private const string OtherDeps = "kernel/drivers/usb/host/uhci-hcd.ko:\nkernel/drivers/usb/host/ehci-hcd.ko:\n";

    private static readonly PciDeviceId Uhci = PciDeviceId.Parse("8086:2934");
    private static readonly PciDeviceId Ehci = PciDeviceId.Parse("8086:293a");
    private static readonly PciDeviceId Gtx1070 = PciDeviceId.Parse("10de:1b81");

    // The fixture's guest: PV, pcifront loaded as a module, two USB controllers at vpci addresses 00:00.0 and 00:00.2.
    internal static GuestTree PvWithPcifrontActive(string release = Debian7) =>
        GuestTree.Linux(release, "PV")
            .PcifrontDriver().PcifrontDevice().PcifrontModuleLoaded()
            .Modules(release, "kernel/drivers/xen/xenbus/xenbus_probe_frontend.ko\n", PcifrontDep + OtherDeps)
            .XenBusDevices("vbd-51712", "vif-0")
            .PciDevice("0000:00:00.0", "8086:2934", "0c0300", "uhci_hcd", "1462:7360")
            .PciDevice("0000:00:00.2", "8086:293a", "0c0320", "ehci_hcd", "1462:7360")
            .KernLog(Fixture.Text("guest-dmesg-pcifront-vpci.txt"));

    // A PV guest whose domain has a PCI device (xenbus made pci-0) but whose kernel has no pcifront at all.
    internal static GuestTree PvWithoutPcifront(string release = Debian7) =>
        GuestTree.Linux(release, "PV")
            .PcifrontDevice()
            .Modules(release, "kernel/drivers/xen/xenbus/xenbus_probe_frontend.ko\n", OtherDeps)
            .XenBusDevices("vbd-51712", "pci-0")
            .KernLog("[    0.195606] PCI: setting up Xen PCI frontend stub\n[    0.198612] PCI: System does not support PCI\n");

    [Fact]
    public async Task A_pv_guest_with_pcifront_active_lists_both_usb_controllers_at_their_vpci_addresses()
    {
        using var tree = PvWithPcifrontActive();

        var report = await Probe.TreeAsync(tree);

        Assert.Equal(GuestOs.Linux, report.Os);
        Assert.True(report.IsXen);
        Assert.Equal(GuestType.PV, report.GuestType);
        Assert.Equal(GuestPaths.GuestType, report.GuestTypeSource);
        Assert.Equal(Debian7, report.KernelRelease);
        Assert.Equal("5b3d1f0e-8c1a-4c53-9a47-0d2f4b1e6a77", report.BootId);
        Assert.Equal(new PcifrontReport(PcifrontState.Active, PcifrontModule.Loaded, true, true), report.Pcifront);
        Assert.Equal(
            [
                new GuestPciDevice(PciAddress.Parse("0000:00:00.0"), Uhci, PciDeviceId.Parse("1462:7360"), PciClass.Parse("0c0300"), "uhci_hcd"),
                new GuestPciDevice(PciAddress.Parse("0000:00:00.2"), Ehci, PciDeviceId.Parse("1462:7360"), PciClass.Parse("0c0320"), "ehci_hcd"),
            ],
            report.Devices);
        Assert.Empty(report.Advisories);
    }

    [Fact]
    public async Task The_kernel_log_lines_about_the_frontend_are_in_the_report()
    {
        using var tree = PvWithPcifrontActive();

        var report = await Probe.TreeAsync(tree);

        Assert.Equal(6, report.KernelLog.Count);
        Assert.Contains("[    0.199048] pcifront pci-0: Installing PCI frontend", report.KernelLog);
        var evidence = PcifrontDmesg.Parse(string.Join('\n', report.KernelLog));
        Assert.True(evidence.FrontendInstalled);
        Assert.Equal([PciAddress.Parse("0000:00:00.2"), PciAddress.Parse("0000:00:00.0")], evidence.EnabledDevices);
    }

    [Fact]
    public async Task A_pv_guest_without_the_module_has_pcifront_absent_and_sees_no_devices()
    {
        using var tree = PvWithoutPcifront();

        var report = await Probe.TreeAsync(tree);

        Assert.Equal(GuestType.PV, report.GuestType);
        Assert.Equal(new PcifrontReport(PcifrontState.Absent, PcifrontModule.Absent, false, true), report.Pcifront);
        Assert.Empty(report.Devices);
        Assert.Contains(report.Advisories, a => a.Contains("lacks xen-pcifront", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_pv_guest_with_the_module_on_disk_but_not_loaded_is_available_not_loaded_with_the_fix_in_an_advisory()
    {
        using var tree = GuestTree.Linux(Debian7, "PV").PcifrontDevice().Modules(Debian7, string.Empty, OtherDeps + PcifrontDep);

        var report = await Probe.TreeAsync(tree);

        Assert.Equal(new PcifrontReport(PcifrontState.AvailableNotLoaded, PcifrontModule.AvailableNotLoaded, false, true), report.Pcifront);
        Assert.Contains(report.Advisories, a => a.Contains("modprobe xen-pcifront", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("kernel/drivers/pci/xen-pcifront.ko.xz: kernel/drivers/xen/xen-pciback.ko.xz\n")]
    [InlineData("kernel/drivers/pci/xen-pcifront.ko.zst:\n")]
    [InlineData("/lib/modules/6.1.0/kernel/drivers/pci/xen-pcifront.ko:\n")]
    public async Task Compressed_and_absolute_module_entries_count_as_available(string depLine)
    {
        using var tree = GuestTree.Linux("6.1.0", "PV").Modules("6.1.0", string.Empty, depLine);

        var report = await Probe.TreeAsync(tree);

        Assert.Equal(PcifrontState.AvailableNotLoaded, report.Pcifront.State);
    }

    [Fact]
    public async Task A_module_that_only_depends_on_pcifront_is_not_pcifront()
    {
        using var tree = GuestTree.Linux("6.1.0", "PV").Modules("6.1.0", string.Empty, "kernel/drivers/foo/bar.ko: kernel/drivers/pci/xen-pcifront.ko\n");

        var report = await Probe.TreeAsync(tree);

        Assert.Equal(PcifrontState.Absent, report.Pcifront.State);
    }

    [Fact]
    public async Task A_built_in_pcifront_with_its_device_is_active()
    {
        using var tree = GuestTree.Linux("3.4.9", "PV").PcifrontDriver().PcifrontDevice()
            .Modules("3.4.9", "kernel/drivers/pci/xen-pcifront.ko\n", OtherDeps);

        var report = await Probe.TreeAsync(tree);

        Assert.Equal(new PcifrontReport(PcifrontState.Active, PcifrontModule.BuiltIn, true, true), report.Pcifront);
    }

    [Fact]
    public async Task A_loaded_pcifront_without_a_frontend_device_means_the_domain_has_no_pci_devices()
    {
        using var tree = GuestTree.Linux(Debian7, "PV").PcifrontDriver().PcifrontModuleLoaded().Modules(Debian7, string.Empty, PcifrontDep);

        var report = await Probe.TreeAsync(tree);

        Assert.Equal(new PcifrontReport(PcifrontState.LoadedNoDevice, PcifrontModule.Loaded, true, false), report.Pcifront);
        Assert.Contains(report.Advisories, a => a.Contains("cold-start", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Without_a_modules_tree_or_driver_the_pcifront_state_is_unknown()
    {
        using var tree = GuestTree.Linux(Debian7, "PV");

        var report = await Probe.TreeAsync(tree);

        Assert.Equal(new PcifrontReport(PcifrontState.Unknown, PcifrontModule.Unknown, false, false), report.Pcifront);
    }

    [Fact]
    public async Task An_hvm_guest_sees_its_device_on_the_emulated_bus_and_needs_no_pcifront()
    {
        using var tree = GuestTree.Linux("6.1.0-18-amd64", "HVM")
            .Modules("6.1.0-18-amd64", string.Empty, OtherDeps)
            .PciDevice("0000:00:00.0", "8086:1237", "060000")
            .PciDevice("0000:00:01.0", "8086:7000", "060100")
            .PciDevice("0000:00:02.0", "5853:0001", "ff8000", "xen-platform-pci", "5853:0001")
            .PciDevice("0000:00:05.0", "10de:1b81", "030000", "nvidia", "1462:3301");

        var report = await Probe.TreeAsync(tree);

        Assert.Equal(GuestType.HVM, report.GuestType);
        Assert.Equal(PcifrontState.NotApplicable, report.Pcifront.State);
        var gpu = Assert.Single(report.Devices, d => d.Id == Gtx1070);
        Assert.Equal(PciAddress.Parse("0000:00:05.0"), gpu.Address);
        Assert.Equal("nvidia", gpu.Driver);
        Assert.Equal(4, report.Devices.Count);
    }

    [Fact]
    public async Task A_pv_guest_in_passthrough_mode_sees_the_host_bdf()
    {
        using var tree = GuestTree.Linux(Debian7, "PV").PcifrontDriver().PcifrontDevice().PcifrontModuleLoaded()
            .Modules(Debian7, string.Empty, PcifrontDep)
            .PciDevice("0000:04:00.0", "10de:1b81", "030000");

        var report = await Probe.TreeAsync(tree);

        var gpu = Assert.Single(report.Devices);
        Assert.Equal(PciAddress.Parse("0000:04:00.0"), gpu.Address);
        Assert.Null(gpu.Driver);
    }

    [Theory]
    [InlineData(0x000000e0u, GuestType.PV, "PV-only feature bits")]
    [InlineData(0x000020e0u, GuestType.PV, "PV-only feature bits")]
    [InlineData(0x00000705u, GuestType.HVM, "HVM-only feature bits")]
    public async Task An_old_3_4_9_kernel_without_guest_type_is_typed_from_the_xen_feature_bits(uint features, GuestType expected, string reason)
    {
        using var tree = GuestTree.Linux("3.4.9", string.Empty).Features(features)
            .PcifrontDriver().PcifrontDevice().Modules("3.4.9", "kernel/drivers/pci/xen-pcifront.ko\n", OtherDeps);

        var report = await Probe.TreeAsync(tree);

        Assert.True(report.IsXen);
        Assert.Equal(expected, report.GuestType);
        Assert.Contains("kernel < 4.13", report.GuestTypeSource, StringComparison.Ordinal);
        Assert.Contains(reason, report.GuestTypeSource, StringComparison.Ordinal);
        Assert.Equal(expected == GuestType.PV ? PcifrontState.Active : PcifrontState.NotApplicable, report.Pcifront.State);
    }

    [Fact]
    public async Task An_old_kernel_in_dom0_is_pv_from_the_control_domain_capability()
    {
        using var tree = GuestTree.Linux("3.10.0+2", string.Empty).Write("proc/xen/capabilities", "control_d\n")
            .PciDevice("0000:00:00.0", "8086:0c00", "060000");

        var report = await Probe.TreeAsync(tree);

        Assert.Equal(GuestType.PV, report.GuestType);
        Assert.Contains("control_d", report.GuestTypeSource, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_old_kernel_with_the_xen_platform_device_is_hvm()
    {
        using var tree = GuestTree.Linux("3.4.9", string.Empty).PciDevice("0000:00:03.0", "5853:0001", "ff8000");

        var report = await Probe.TreeAsync(tree);

        Assert.Equal(GuestType.HVM, report.GuestType);
        Assert.Contains("platform", report.GuestTypeSource, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_old_kernel_with_an_emulated_host_bridge_is_hvm()
    {
        using var tree = GuestTree.Linux("3.4.9", string.Empty).XenBusDevices("vbd-768").PciDevice("0000:00:00.0", "8086:1237", "060000");

        var report = await Probe.TreeAsync(tree);

        Assert.Equal(GuestType.HVM, report.GuestType);
        Assert.Contains("host bridge", report.GuestTypeSource, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_old_kernel_with_xenbus_disks_and_no_emulated_chipset_is_pv()
    {
        using var tree = GuestTree.Linux("3.4.9", string.Empty).XenBusDevices("vbd-51712", "vif-0").PcifrontDriver().PcifrontDevice()
            .PciDevice("0000:00:00.0", "8086:2934", "0c0300", "uhci_hcd");

        var report = await Probe.TreeAsync(tree);

        Assert.Equal(GuestType.PV, report.GuestType);
        Assert.Contains("xenbus", report.GuestTypeSource, StringComparison.Ordinal);
        Assert.Equal(PcifrontState.Active, report.Pcifront.State);
    }

    [Fact]
    public async Task An_old_kernel_with_no_deciding_evidence_is_unknown_with_an_advisory()
    {
        using var tree = GuestTree.Linux("3.4.9", string.Empty);

        var report = await Probe.TreeAsync(tree);

        Assert.True(report.IsXen);
        Assert.Equal(GuestType.Unknown, report.GuestType);
        Assert.Contains(report.Advisories, a => a.Contains("Could not tell whether this Xen guest is PV or HVM", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_unrecognised_guest_type_value_falls_back_and_says_so()
    {
        using var tree = GuestTree.Linux("6.1.0", "Nonsense").Features(0x000000e0u);

        var report = await Probe.TreeAsync(tree);

        Assert.Equal(GuestType.PV, report.GuestType);
        Assert.Contains(report.Advisories, a => a.Contains("'Nonsense'", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("PVH", GuestType.PVH)]
    [InlineData("HVM", GuestType.HVM)]
    public async Task A_pvh_or_hvm_guest_type_makes_pcifront_not_applicable(string text, GuestType expected)
    {
        using var tree = GuestTree.Linux("6.1.0", text).Modules("6.1.0", string.Empty, string.Empty);

        var report = await Probe.TreeAsync(tree);

        Assert.Equal(expected, report.GuestType);
        Assert.Equal(PcifrontState.NotApplicable, report.Pcifront.State);
        Assert.Equal(PcifrontModule.Absent, report.Pcifront.Module);
    }

    [Fact]
    public async Task A_machine_without_xen_says_so_and_reads_no_kernel_log()
    {
        using var tree = GuestTree.Linux("6.1.0").KernLog("[ 0.1] pcifront pci-0: Installing PCI frontend\n")
            .PciDevice("0000:00:1f.2", "8086:2922", "010601", "ahci");

        var report = await Probe.TreeAsync(tree);

        Assert.False(report.IsXen);
        Assert.Equal(GuestType.Unknown, report.GuestType);
        Assert.Equal(PcifrontState.NotApplicable, report.Pcifront.State);
        Assert.Empty(report.KernelLog);
        Assert.Single(report.Devices);
    }

    [Fact]
    public async Task A_3_5_kernel_with_a_usb_controller_gets_the_xen_wiki_advisory_not_a_refusal()
    {
        using var tree = PvWithPcifrontActive("3.5.0-17-generic");

        var report = await Probe.TreeAsync(tree);

        var advisory = Assert.Single(report.Advisories);
        Assert.StartsWith("kernel 3.5.0-17-generic: ", advisory, StringComparison.Ordinal);
        Assert.Contains("3.4.9 or 3.3.8", advisory, StringComparison.Ordinal);
        Assert.Equal(PcifrontState.Active, report.Pcifront.State);
        Assert.True(GuestVerification.Build(report, [new ExpectedDevice(Uhci)]).Verified);
    }

    [Fact]
    public async Task A_3_4_9_kernel_with_the_same_controllers_gets_no_advisory()
    {
        using var tree = PvWithPcifrontActive("3.4.9");

        var report = await Probe.TreeAsync(tree);

        Assert.Empty(report.Advisories);
    }

    [Fact]
    public async Task A_3_5_kernel_without_a_usb_controller_gets_no_advisory()
    {
        using var tree = GuestTree.Linux("3.5.7", "PV").PcifrontDriver().PcifrontDevice().Modules("3.5.7", string.Empty, PcifrontDep)
            .PciDevice("0000:00:00.0", "8086:10d3", "020000", "e1000e").KernLog(string.Empty);

        var report = await Probe.TreeAsync(tree);

        Assert.Empty(report.Advisories);
    }

    [Fact]
    public async Task A_3_5_kernel_expecting_a_usb_controller_gets_the_advisory_before_it_is_visible()
    {
        using var tree = PvWithoutPcifront("3.5.7");

        var report = await Probe.TreeAsync(tree, new LinuxGuestProbeOptions { ExpectedClasses = [PciClass.Parse("0c0330")] });

        Assert.Contains(report.Advisories, a => a.StartsWith("kernel 3.5.7: ", StringComparison.Ordinal) && a.Contains("USB controllers", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Configured_advisories_replace_the_seeded_list()
    {
        using var tree = PvWithPcifrontActive("3.5.7");
        var options = new LinuxGuestProbeOptions { Advisories = [new KernelAdvisory("3.0..4.0", "*", "Old kernel.")] };

        var report = await Probe.TreeAsync(tree, options);

        Assert.Equal(["kernel 3.5.7: Old kernel."], report.Advisories);
    }

    [Fact]
    public async Task An_unreadable_kernel_log_is_an_advisory_not_a_failure()
    {
        using var tree = PvWithPcifrontActive().Delete("var/log/kern.log");

        var report = await Probe.TreeAsync(tree);

        Assert.Empty(report.KernelLog);
        Assert.Contains(report.Advisories, a => a.Contains("kernel log is unreadable", StringComparison.Ordinal));
        Assert.Equal(PcifrontState.Active, report.Pcifront.State);
    }

    [Fact]
    public async Task Kernel_log_reading_can_be_turned_off()
    {
        using var tree = PvWithPcifrontActive().Delete("var/log/kern.log");

        var report = await Probe.TreeAsync(tree, new LinuxGuestProbeOptions { ReadKernelLog = false });

        Assert.Empty(report.Advisories);
    }

    [Fact]
    public async Task A_device_with_a_malformed_attribute_is_left_out_with_an_advisory()
    {
        using var tree = PvWithPcifrontActive().Write("sys/bus/pci/devices/0000:00:00.2/vendor", "garbage\n");

        var report = await Probe.TreeAsync(tree);

        Assert.Equal([PciAddress.Parse("0000:00:00.0")], report.Devices.Select(d => d.Address));
        Assert.Contains(report.Advisories, a => a.Contains("0000:00:00.2", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_driver_link_that_does_not_point_into_a_drivers_directory_is_no_driver()
    {
        using var tree = GuestTree.Linux("6.1.0").PciDevice("0000:00:01.0", "1af4:1041", "020000");
        tree.Link("sys/bus/pci/devices/0000:00:01.0/driver", "../../../elsewhere/virtio-pci");

        var report = await Probe.TreeAsync(tree);

        Assert.Null(Assert.Single(report.Devices).Driver);
    }

    [Fact]
    public async Task A_root_that_is_not_a_linux_tree_cannot_be_probed()
    {
        using var tree = GuestTree.Create();

        var error = await Assert.ThrowsAsync<GuestProbeException>(() => Probe.TreeAsync(tree));

        Assert.Contains("osrelease", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Guest_controlled_names_never_become_paths_outside_the_fixed_set()
    {
        using var tree = GuestTree.Linux("3.4.9", "PV").Write("proc/sys/kernel/osrelease", "../../../etc\n")
            .Dir("sys/bus/pci/devices/..evil").Dir("sys/bus/pci/devices/0000:00:00.0 x")
            .PciDevice("0000:00:00.0", "8086:2934", "0c0300");
        var recording = new RecordingFileSystem(new LocalGuestFileSystem(tree.Root));

        var report = await new LinuxGuestProbe(recording).ProbeAsync(Probe.Ct);

        Assert.All(recording.Paths, path => Assert.True(GuestPaths.IsAllowed(path), path));
        Assert.DoesNotContain(recording.Paths, path => path.Contains("..", StringComparison.Ordinal));
        Assert.Equal(PcifrontModule.Unknown, report.Pcifront.Module);
        Assert.Contains(report.Advisories, a => a.Contains("not usable in a path", StringComparison.Ordinal));
        Assert.Contains(report.Advisories, a => a.Contains("'..evil'", StringComparison.Ordinal));
        Assert.Single(report.Devices);
    }

    [Fact]
    public async Task The_local_file_system_refuses_paths_that_climb_out_of_its_root()
    {
        using var tree = GuestTree.Linux("6.1.0");
        var fs = new LocalGuestFileSystem(tree.Root);

        await Assert.ThrowsAsync<ArgumentException>(() => fs.ReadTextAsync("/proc/../../etc/passwd", Probe.Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => fs.ReadTextAsync("proc/sys/kernel/osrelease", Probe.Ct));
        Assert.Equal("6.1.0\n", await fs.ReadTextAsync("/proc/sys/kernel/osrelease", Probe.Ct));
    }
}

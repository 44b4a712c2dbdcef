using Passthrough.Contracts.Messaging;
using Passthrough.Simulation.Model;

namespace Passthrough.Simulation.Tests;

/// <summary>The behaviour DOMAIN.md describes: hiding, reboots, IOMMU rules, VM start, snapshots, evacuation.</summary>
public sealed class HostSemanticsTests
{
    private const string XenCmdline = "/opt/xensource/libexec/xen-cmdline";

    [Fact]
    public void Hide_then_reboot_binds_pciback_and_changes_the_boot_id()
    {
        var sim = Sim.Create();
        var bootId = sim.Run("cat", "/proc/sys/kernel/random/boot_id").StandardOutput;

        sim.Run(XenCmdline, "--set-dom0", "xen-pciback.hide=(0000:03:00.0)(0000:00:14.0)");
        Assert.Equal("../../../../bus/pci/drivers/igb\n", sim.Run("readlink", "/sys/bus/pci/devices/0000:03:00.0/driver").StandardOutput);
        sim.RebootAndWait();

        Assert.NotEqual(bootId, sim.Run("cat", "/proc/sys/kernel/random/boot_id").StandardOutput);
        Assert.Contains("xen-pciback.hide=(0000:03:00.0)(0000:00:14.0)", sim.Run("cat", "/proc/cmdline").StandardOutput, StringComparison.Ordinal);
        Assert.Equal("../../../../bus/pci/drivers/pciback\n", sim.Run("readlink", "/sys/bus/pci/devices/0000:03:00.0/driver").StandardOutput);
        Assert.Equal("../../../bus/pci/drivers/pciback\n", sim.Run("readlink", "/sys/bus/pci/devices/0000:00:14.0/driver").StandardOutput);
        Assert.Equal("0000:00:14.0 \n0000:03:00.0 \n", sim.Run("xl", "pci-assignable-list").StandardOutput);
        Assert.Equal("true\n", sim.Xe("host-param-get", "uuid=" + sim.HostUuid, "param-name=enabled"));
    }

    [Fact]
    public void Assignable_list_has_no_trailing_space_before_xen_4_15()
    {
        var sim = Sim.Create(ProductProfile.XcpNg82, b => b.HiddenAtBoot("(0000:03:00.0)"));

        Assert.Equal("0000:03:00.0\n", sim.Run("xl", "pci-assignable-list").StandardOutput);
    }

    [Fact]
    public void A_reboot_loses_dynamic_binds_and_new_slots()
    {
        var sim = Sim.Create();
        sim.DetachToPciback(DefaultDevices.PassthroughNic);
        Assert.Equal("0000:03:00.0\n", sim.Run("cat", "/sys/bus/pci/drivers/pciback/slots").StandardOutput);

        sim.RebootAndWait();

        Assert.Equal("igb", sim.Host.Function(DefaultDevices.PassthroughNic).BoundDriver);
        Assert.Equal(string.Empty, sim.Run("cat", "/sys/bus/pci/drivers/pciback/slots").StandardOutput);
    }

    [Fact]
    public void A_garbled_hide_list_stops_pciback_from_loading()
    {
        var sim = Sim.Create();
        sim.Run(XenCmdline, "--set-dom0", "xen-pciback.hide=(0000:03:00.0");

        sim.RebootAndWait();

        var assignable = sim.Run("xl", "pci-assignable-list");
        Assert.Equal(0, assignable.ExitCode);
        Assert.Equal(string.Empty, assignable.StandardOutput);
        Assert.Equal("libxl: error: libxl_pci.c:415:libxl_device_pci_assignable_list: Looks like pciback driver not loaded\n", assignable.StandardError);
        Assert.Equal(2, sim.Run("ls", "-1", "/sys/bus/pci/drivers/pciback").ExitCode);
        Assert.Contains("xen_pciback: Error parsing pci_devs_to_hide at \"(0000:03:00.0\"", sim.Run("dmesg").StandardOutput, StringComparison.Ordinal);
        Assert.Equal("igb", sim.Host.Function(DefaultDevices.PassthroughNic).BoundDriver);
    }

    [Fact]
    public void A_short_hide_entry_binds_pciback_but_keeps_xapi_initialising()
    {
        var sim = Sim.Create();
        sim.Run(XenCmdline, "--set-dom0", "xen-pciback.hide=(03:00.0)");

        sim.RebootAndWait();
        sim.Time.Advance(TimeSpan.FromHours(1));
        sim.Dom0.Refresh();

        Assert.Equal("pciback", sim.Host.Function(DefaultDevices.PassthroughNic).BoundDriver);
        var xe = sim.XeFails("host-param-get", "uuid=" + sim.HostUuid, "param-name=enabled");
        Assert.Equal("The host toolstack is still initialising. Please wait.\n", xe.StandardError);
        Assert.Contains("scanf: bad input at char number 6: looking for ':', found '.'", sim.Host.Boot.XapiStartFailure, StringComparison.Ordinal);
        Assert.Equal(0, sim.Run("xl", "info").ExitCode);
    }

    [Fact]
    public void Xapi_initialises_for_its_configured_time_after_the_host_is_up()
    {
        var sim = Sim.Create(configure: b => b.WithTimings(t =>
        {
            t.RebootDowntime = TimeSpan.FromSeconds(60);
            t.XapiNotListening = TimeSpan.FromSeconds(10);
            t.XapiInitialising = TimeSpan.FromSeconds(20);
        }));
        sim.Xe("host-disable", "uuid=" + sim.HostUuid);
        sim.Xe("host-reboot", "uuid=" + sim.HostUuid);

        sim.Time.Advance(TimeSpan.FromSeconds(59));
        Assert.Throws<Passthrough.Shell.ConnectionRefusedException>(() => sim.Run("cat", "/proc/cmdline"));
        sim.Time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal("Error: Connection refused (calling connect )\n", sim.XeFails("vm-list").StandardError);
        Assert.Equal(0, sim.Run("cat", "/proc/cmdline").ExitCode);
        sim.Time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal("The host toolstack is still initialising. Please wait.\n", sim.XeFails("vm-list").StandardError);
        sim.Time.Advance(TimeSpan.FromSeconds(20));
        Assert.Equal("true\n", sim.Xe("host-param-get", "uuid=" + sim.HostUuid, "param-name=enabled"));
    }

    [Fact]
    public void Host_disable_auto_enable_false_keeps_the_host_disabled_after_reboot()
    {
        var sim = Sim.Create();
        sim.Xe("host-disable", "uuid=" + sim.HostUuid, "auto-enable=false");
        sim.Xe("host-reboot", "uuid=" + sim.HostUuid);
        sim.Time.Advance(TimeSpan.FromMinutes(5));

        Assert.Equal("false\n", sim.Xe("host-param-get", "uuid=" + sim.HostUuid, "param-name=enabled"));
        sim.Xe("host-enable", "uuid=" + sim.HostUuid);
        Assert.Equal("true\n", sim.Xe("host-param-get", "uuid=" + sim.HostUuid, "param-name=enabled"));
    }

    [Fact]
    public void Reboot_without_disable_fails_host_not_disabled()
    {
        var sim = Sim.Create();

        var result = sim.XeFails("host-reboot", "uuid=" + sim.HostUuid);

        Assert.Equal("This operation cannot be performed because the host is not disabled. Please disable the host and then try again.\n", result.StandardError);
        Assert.Equal(HostPhase.Live, sim.Host.Boot.Phase);
    }

    [Fact]
    public void Reboot_with_a_running_vm_fails_host_in_use_until_it_is_evacuated()
    {
        var sim = Sim.Create(configure: b => b.WithVm("web01", GuestType.HVM, VmPowerState.Running));
        var web = sim.Host.Vm("web01");
        sim.Xe("host-disable", "uuid=" + sim.HostUuid);

        var inUse = sim.XeFails("host-reboot", "uuid=" + sim.HostUuid).StandardError;
        Assert.Equal($"This operation cannot be completed as the host is in use by (at least) the object of type and ref echoed below.\nhost: {sim.HostUuid} (xenhost-01)\ntype: vm\nref: {web.Uuid} (web01)\n", inUse);

        sim.Xe("host-evacuate", "uuid=" + sim.HostUuid);
        var residentOn = sim.Xe("vm-param-get", "uuid=" + web.Uuid, "param-name=resident-on").TrimEnd('\n');
        Assert.Equal(sim.Host.PoolPeers[0].Uuid.ToString(), residentOn);
        Assert.Equal("running\n", sim.Xe("vm-param-get", "uuid=" + web.Uuid, "param-name=power-state"));
        Assert.Contains(residentOn, sim.Xe("host-list", "params=uuid", "--minimal"), StringComparison.Ordinal);

        sim.Xe("host-reboot", "uuid=" + sim.HostUuid);
        Assert.Equal(HostPhase.Down, sim.Host.Boot.Phase);
    }

    [Fact]
    public void Evacuation_refuses_a_vm_with_pci_and_a_single_host_pool_has_nowhere_to_go()
    {
        var sim = Sim.Create();
        var vm = sim.Host.Vm(DefaultDevices.PvVmName);
        sim.DetachToPciback(DefaultDevices.PassthroughNic);
        sim.Xe("vm-param-set", "uuid=" + vm.Uuid, "other-config:pci=0/0000:03:00.0");
        sim.Xe("vm-start", "uuid=" + vm.Uuid, "on=" + sim.HostUuid);

        Assert.Equal($"This operation could not be performed, because the VM has one or more PCI devices passed through.\nvm: {vm.Uuid} (debian7-pv)\n", sim.XeFails("host-evacuate", "uuid=" + sim.HostUuid).StandardError);

        var lonely = Sim.Create(configure: b => b.WithoutPoolPeers().WithVm("web01", GuestType.HVM, VmPowerState.Running));
        Assert.Equal("There were no servers available to complete the specified operation.\n", lonely.XeFails("host-evacuate", "uuid=" + lonely.HostUuid).StandardError);
    }

    [Fact]
    public void A_pv_vm_starts_with_its_device_bound_to_pciback_and_shows_it_in_xl()
    {
        var sim = Sim.Create();
        var vm = sim.Host.Vm(DefaultDevices.PvVmName);
        sim.DetachToPciback(DefaultDevices.PassthroughNic);
        sim.Xe("vm-param-set", "uuid=" + vm.Uuid, "other-config:pci=0/0000:03:00.0");

        sim.Xe("vm-start", "uuid=" + vm.Uuid, "on=" + sim.HostUuid);

        Assert.Equal([DefaultDevices.PassthroughNic], vm.AttachedPcis);
        Assert.Equal("Vdev Device\n00.0 0000:03:00.0\n", sim.Run("xl", "pci-list", vm.DomId.ToString(System.Globalization.CultureInfo.InvariantCulture)).StandardOutput);
        Assert.Equal(string.Empty, sim.Run("xl", "pci-assignable-list").StandardOutput);

        sim.Xe("vm-shutdown", "uuid=" + vm.Uuid);
        Assert.Empty(vm.AttachedPcis);
        Assert.Equal("pciback", sim.Host.Function(DefaultDevices.PassthroughNic).BoundDriver);
    }

    [Fact]
    public void Malformed_pci_entries_are_dropped_silently_at_start()
    {
        var sim = Sim.Create();
        var vm = sim.Host.Vm(DefaultDevices.HvmVmName);
        sim.DetachToPciback(DefaultDevices.PassthroughNic);
        sim.Xe("vm-param-set", "uuid=" + vm.Uuid, "other-config:pci=0/03:00.0,0/0000:03:00.0, 0/0000:00:14.0,x/0000:00:14.0");

        sim.Xe("vm-start", "uuid=" + vm.Uuid, "on=" + sim.HostUuid);

        Assert.Equal([DefaultDevices.PassthroughNic], vm.AttachedPcis);
    }

    [Fact]
    public void A_device_still_on_its_dom0_driver_fails_the_start()
    {
        var sim = Sim.Create();
        var vm = sim.Host.Vm(DefaultDevices.HvmVmName);
        sim.Xe("vm-param-set", "uuid=" + vm.Uuid, "other-config:pci=0/0000:03:00.0");

        var error = sim.XeFails("vm-start", "uuid=" + vm.Uuid, "on=" + sim.HostUuid).StandardError;

        Assert.Contains("xenopsd internal error: Device.PCI.Cannot_add(0000:03:00.0, ", error, StringComparison.Ordinal);
        Assert.Equal(VmPowerState.Halted, vm.PowerState);
        Assert.Equal("igb", sim.Host.Function(DefaultDevices.PassthroughNic).BoundDriver);
    }

    [Fact]
    public void Xenopsd_binding_mode_takes_the_device_from_dom0_at_start()
    {
        var sim = Sim.Create(configure: b => b.BindingToPcibackAtVmStart());
        var vm = sim.Host.Vm(DefaultDevices.HvmVmName);
        sim.Xe("vm-param-set", "uuid=" + vm.Uuid, "other-config:pci=0/0000:03:00.0");

        sim.Xe("vm-start", "uuid=" + vm.Uuid, "on=" + sim.HostUuid);

        Assert.Equal("pciback", sim.Host.Function(DefaultDevices.PassthroughNic).BoundDriver);
        Assert.Equal(VmPowerState.Running, vm.PowerState);
    }

    [Fact]
    public void A_device_in_use_by_another_running_vm_cannot_be_added()
    {
        var sim = Sim.Create();
        sim.DetachToPciback(DefaultDevices.PassthroughNic);
        foreach (var name in new[] { DefaultDevices.PvVmName, DefaultDevices.HvmVmName })
        {
            sim.Xe("vm-param-set", "uuid=" + sim.VmUuid(name), "other-config:pci=0/0000:03:00.0");
        }

        sim.Xe("vm-start", "uuid=" + sim.VmUuid(DefaultDevices.PvVmName));

        Assert.Contains("Cannot_add(0000:03:00.0, Xenctrlext.Unix_error(16, \"16: Device or resource busy\"))", sim.XeFails("vm-start", "uuid=" + sim.VmUuid(DefaultDevices.HvmVmName)).StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public void Hvm_with_the_iommu_off_fails_at_start_on_every_version()
    {
        foreach (var profile in ProductProfile.Presets)
        {
            var sim = Sim.Create(profile, b => b.WithIommu(false));
            var vm = sim.Host.Vm(DefaultDevices.HvmVmName);
            sim.DetachToPciback(DefaultDevices.PassthroughNic);
            sim.Xe("vm-param-set", "uuid=" + vm.Uuid, "other-config:pci=0/0000:03:00.0");

            var error = sim.XeFails("vm-start", "uuid=" + vm.Uuid).StandardError;

            Assert.StartsWith("The server failed to handle your request, due to an internal error.", error, StringComparison.Ordinal);
            Assert.True(
                error.Contains("IOMMU unavailable", StringComparison.Ordinal) || error.Contains("Cannot_add(0000:03:00.0, Xenctrlext.Unix_error(30, \"1: Operation not permitted\"))", StringComparison.Ordinal),
                profile.Name + ": " + error);
            Assert.Equal(VmPowerState.Halted, vm.PowerState);
        }
    }

    [Fact]
    public void Pv_without_an_iommu_works_on_xen_4_4()
    {
        var sim = Sim.Create(ProductProfile.XenServer65, b => b.WithIommu(false));
        var vm = sim.Host.Vm(DefaultDevices.PvVmName);
        sim.DetachToPciback(DefaultDevices.PassthroughNic);
        sim.Xe("vm-param-set", "uuid=" + vm.Uuid, "other-config:pci=0/0000:03:00.0");

        sim.Xe("vm-start", "uuid=" + vm.Uuid);

        Assert.Equal(VmPowerState.Running, vm.PowerState);
        Assert.Equal([DefaultDevices.PassthroughNic], vm.AttachedPcis);
    }

    [Fact]
    public void Pv_without_an_iommu_fails_from_xen_4_13()
    {
        var sim = Sim.Create(ProductProfile.CitrixHypervisor82, b => b.WithIommu(false));
        var vm = sim.Host.Vm(DefaultDevices.PvVmName);
        sim.DetachToPciback(DefaultDevices.PassthroughNic);
        sim.Xe("vm-param-set", "uuid=" + vm.Uuid, "other-config:pci=0/0000:03:00.0");

        var error = sim.XeFails("vm-start", "uuid=" + vm.Uuid).StandardError;

        Assert.Equal(
            "The server failed to handle your request, due to an internal error. The given message may give details useful for debugging the problem.\nmessage: xenopsd internal error: Invalid_argument(\"IOMMU unavailable\")\n",
            error);
    }

    [Fact]
    public void A_vm_without_devices_starts_without_an_iommu()
    {
        var sim = Sim.Create(ProductProfile.XcpNg83, b => b.WithIommu(false));

        sim.Xe("vm-start", "uuid=" + sim.VmUuid(DefaultDevices.HvmVmName));

        Assert.Equal(VmPowerState.Running, sim.Host.Vm(DefaultDevices.HvmVmName).PowerState);
    }

    [Fact]
    public void Start_fails_when_pciback_is_not_loaded()
    {
        var sim = Sim.Create(configure: b => b.HiddenAtBoot("(zz)"));
        sim.Host.Boot.XapiStartFailure = null;
        sim.Host.Boot.Phase = HostPhase.Live;
        var vm = sim.Host.Vm(DefaultDevices.PvVmName);
        sim.Xe("vm-param-set", "uuid=" + vm.Uuid, "other-config:pci=0/0000:03:00.0");

        Assert.EndsWith("message: pciback has not loaded\n", sim.XeFails("vm-start", "uuid=" + vm.Uuid).StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public void Snapshot_with_pci_attached_works_and_revert_restores_the_old_pci_key_halted()
    {
        var sim = Sim.Create();
        var vm = sim.Host.Vm(DefaultDevices.PvVmName);
        sim.DetachToPciback(DefaultDevices.PassthroughNic);
        sim.Xe("vm-param-set", "uuid=" + vm.Uuid, "other-config:pci=0/0000:03:00.0");
        sim.Xe("vm-start", "uuid=" + vm.Uuid);

        var snapshot = sim.Xe("vm-snapshot", "uuid=" + vm.Uuid, "new-name-label=with-nic").TrimEnd('\n');
        Assert.Equal(VmPowerState.Running, vm.PowerState);
        sim.Xe("vm-shutdown", "uuid=" + vm.Uuid);
        sim.Xe("vm-param-remove", "uuid=" + vm.Uuid, "param-name=other-config", "param-key=pci");
        sim.Xe("vm-start", "uuid=" + vm.Uuid);

        sim.Xe("snapshot-revert", "snapshot-uuid=" + snapshot);

        Assert.Equal("0/0000:03:00.0\n", sim.Xe("vm-param-get", "uuid=" + vm.Uuid, "param-name=other-config", "param-key=pci"));
        Assert.Equal("halted\n", sim.Xe("vm-param-get", "uuid=" + vm.Uuid, "param-name=power-state"));
        Assert.Equal(snapshot + "\n", sim.Xe("vm-param-get", "uuid=" + vm.Uuid, "param-name=snapshots"));
    }

    [Fact]
    public void Dom0_access_api_hides_for_the_next_boot_and_reports_each_state()
    {
        var sim = Sim.Create();
        var nic = "uuid=" + sim.PciUuid(DefaultDevices.PassthroughNic);
        var gpu = "uuid=" + sim.PciUuid(DefaultDevices.Gpu);

        Assert.Equal("enabled\n", sim.Xe("pci-get-dom0-access-status", nic));
        Assert.Equal("disable_on_reboot\n", sim.Xe("pci-disable-dom0-access", nic));
        Assert.Equal("disable_on_reboot\n", sim.Xe("pci-disable-dom0-access", gpu));
        Assert.Equal("xen-pciback.hide=(0000:01:00.0)(0000:03:00.0)\n", sim.Run(XenCmdline, "--get-dom0", "xen-pciback.hide").StandardOutput);

        sim.RebootAndWait();
        Assert.Equal("disabled\n", sim.Xe("pci-get-dom0-access-status", nic));
        Assert.Equal("pciback", sim.Host.Function(DefaultDevices.PassthroughNic).BoundDriver);

        Assert.Equal("enable_on_reboot\n", sim.Xe("pci-enable-dom0-access", nic));
        Assert.Equal("xen-pciback.hide=(0000:01:00.0)\n", sim.Run(XenCmdline, "--get-dom0", "xen-pciback.hide").StandardOutput);
        Assert.Equal("enable_on_reboot\n", sim.Xe("pci-enable-dom0-access", gpu));
        Assert.Equal("\n", sim.Run(XenCmdline, "--get-dom0", "xen-pciback.hide").StandardOutput);
    }

    [Fact]
    public void Dom0_access_status_fails_on_a_short_hide_entry()
    {
        var sim = Sim.Create();
        sim.Run(XenCmdline, "--set-dom0", "xen-pciback.hide=(04:00.0)");

        var error = sim.XeFails("pci-get-dom0-access-status", "uuid=" + sim.PciUuid(DefaultDevices.PassthroughNic)).StandardError;

        Assert.Contains("message: Scanf.Scan_failure(\"scanf: bad input at char number 6: looking for ':', found '.'\")", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Xen_cmdline_replaces_and_deletes_the_hide_parameter_keeping_the_rest()
    {
        var sim = Sim.Create();
        var before = sim.Host.NextBootDom0Cmdline;

        sim.Run(XenCmdline, "--set-dom0", "xen-pciback.hide=(0000:00:14.0)");
        sim.Run(XenCmdline, "--set-dom0", "xen-pciback.hide=(0000:03:00.0)");
        Assert.Equal(before + " xen-pciback.hide=(0000:03:00.0)", sim.Host.NextBootDom0Cmdline);
        Assert.Equal(before, sim.Host.BootedDom0Cmdline);

        sim.Run("xen-cmdline", "--delete-dom0", "xen-pciback.hide");
        Assert.Equal(before, sim.Host.NextBootDom0Cmdline);
        Assert.Equal(1, sim.Run(XenCmdline, "--frobnicate").ExitCode);
    }
}

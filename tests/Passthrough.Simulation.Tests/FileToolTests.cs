using Passthrough.Simulation.Model;

namespace Passthrough.Simulation.Tests;

/// <summary>cat, ls, grep, find, readlink, tee, findmnt, udevadm, lspci and their errors over the simulated /proc and sysfs.</summary>
public sealed class FileToolTests
{
    [Fact]
    public void Inventory_names_the_host_product_and_dom0()
    {
        var sim = Sim.Create();

        var lines = sim.Run("cat", "/etc/xensource-inventory").StandardOutput.TrimEnd('\n').Split('\n');

        Assert.All(lines, l => Assert.Matches("^[A-Z_0-9]+='[^']*'$", l));
        Assert.Contains("PRODUCT_BRAND='XCP-ng'", lines);
        Assert.Contains("PRODUCT_VERSION='8.3.0'", lines);
        Assert.Contains($"INSTALLATION_UUID='{sim.HostUuid}'", lines);
        Assert.Contains($"CONTROL_DOMAIN_UUID='{sim.Host.ControlDomain.Uuid}'", lines);
        Assert.Contains("MANAGEMENT_INTERFACE='xenbr0'", lines);
        Assert.Contains(lines, l => l.StartsWith("BUILD_NUMBER='", StringComparison.Ordinal));
    }

    [Fact]
    public void Boot_id_and_cmdline_are_one_line_each()
    {
        var sim = Sim.Create();

        Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\n$", sim.Run("cat", "/proc/sys/kernel/random/boot_id").StandardOutput);
        Assert.Equal(sim.Host.BootedDom0Cmdline + "\n", sim.Run("cat", "/proc/cmdline").StandardOutput);
    }

    [Fact]
    public void Cat_of_a_missing_file_fails_like_coreutils()
    {
        var sim = Sim.Create();

        var result = sim.Run("cat", "/etc/nothing");

        Assert.Equal(1, result.ExitCode);
        Assert.Equal("cat: /etc/nothing: No such file or directory\n", result.StandardError);
    }

    [Fact]
    public void Unknown_programs_are_not_found()
    {
        var sim = Sim.Create();

        var result = sim.Run("frobnicate", "--now");

        Assert.Equal(127, result.ExitCode);
        Assert.Equal("sh: 1: frobnicate: not found\n", result.StandardError);
        Assert.Equal(127, Sim.Create(configure: b => b.WithoutLspci()).Run("lspci", "-Dnn").ExitCode);
        Assert.Equal(127, sim.Run("/tmp/xen-cmdline", "--get-dom0", "xen-pciback.hide").ExitCode);
        Assert.Equal(0, sim.Run("/usr/bin/cat", "/proc/cmdline").ExitCode);
    }

    [Fact]
    public void Devices_are_listed_one_bdf_a_line()
    {
        var sim = Sim.Create();

        var lines = sim.Run("ls", "-1", "/sys/bus/pci/devices").StandardOutput.TrimEnd('\n').Split('\n');

        Assert.Equal(sim.Host.PciFunctions.Select(f => f.Address.ToString()), lines);
        Assert.Equal("ls: cannot access '/sys/nope': No such file or directory\n", sim.Run("ls", "-1", "/sys/nope").StandardError);
    }

    [Fact]
    public void Grep_prints_every_id_file_with_its_path()
    {
        var sim = Sim.Create();
        var usb = "/sys/bus/pci/devices/0000:00:14.0/";
        string[] files = [.. new[] { "vendor", "device", "subsystem_vendor", "subsystem_device", "class", "revision" }.Select(f => usb + f)];

        var result = sim.Run("grep", ["-H", string.Empty, .. files]);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(
            $"{usb}vendor:0x8086\n{usb}device:0xa36d\n{usb}subsystem_vendor:0x1028\n{usb}subsystem_device:0x0869\n{usb}class:0x0c0330\n{usb}revision:0x10\n",
            result.StandardOutput);
    }

    [Fact]
    public void Grep_reports_a_missing_file_and_exits_2()
    {
        var sim = Sim.Create();

        var result = sim.Run("grep", "-H", string.Empty, "/sys/bus/pci/devices/0000:00:14.0/vendor", "/sys/bus/pci/devices/0000:09:00.0/vendor");

        Assert.Equal(2, result.ExitCode);
        Assert.Equal("/sys/bus/pci/devices/0000:00:14.0/vendor:0x8086\n", result.StandardOutput);
        Assert.Equal("grep: /sys/bus/pci/devices/0000:09:00.0/vendor: No such file or directory\n", result.StandardError);
    }

    [Fact]
    public void Find_lists_bound_functions_under_their_drivers()
    {
        var sim = Sim.Create(configure: b => b.HiddenAtBoot("(0000:03:00.0)"));

        var lines = sim.Run("find", "/sys/bus/pci/drivers", "-mindepth", "2", "-maxdepth", "2", "-name", "????:??:??.?").StandardOutput.TrimEnd('\n').Split('\n');

        Assert.Contains("/sys/bus/pci/drivers/pciback/0000:03:00.0", lines);
        Assert.Contains("/sys/bus/pci/drivers/xhci_hcd/0000:00:14.0", lines);
        Assert.DoesNotContain(lines, l => l.Contains("0000:01:00.0", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.EndsWith("/bind", StringComparison.Ordinal));
        Assert.Equal(sim.Host.PciFunctions.Count(f => f.BoundDriver is not null), lines.Length);
    }

    [Fact]
    public void Readlink_gives_the_driver_link_or_exit_1_when_unbound()
    {
        var sim = Sim.Create();

        Assert.Equal("../../../bus/pci/drivers/xhci_hcd\n", sim.Run("readlink", "/sys/bus/pci/devices/0000:00:14.0/driver").StandardOutput);
        var unbound = sim.Run("readlink", "/sys/bus/pci/devices/0000:01:00.0/driver");
        Assert.Equal(1, unbound.ExitCode);
        Assert.Equal(string.Empty, unbound.StandardOutput + unbound.StandardError);
        Assert.Equal("/sys/bus/pci/drivers/xhci_hcd\n", sim.Run("readlink", "-f", "/sys/bus/pci/devices/0000:00:14.0/driver").StandardOutput);
    }

    [Fact]
    public void Management_nic_resolves_to_its_pci_function()
    {
        var sim = Sim.Create();

        Assert.Equal("/sys/devices/pci0000:00/0000:00:1f.6\n", sim.Run("readlink", "-f", "/sys/class/net/eth0/device").StandardOutput);
        Assert.Equal("/sys/devices/pci0000:00/0000:00:1c.0/0000:03:00.0\n", sim.Run("readlink", "-f", "/sys/class/net/eth1/device").StandardOutput);
        Assert.Equal(1, sim.Run("readlink", "-f", "/sys/class/net/eth9/device").ExitCode);
    }

    [Fact]
    public void A_nic_bound_to_pciback_has_no_network_device()
    {
        var sim = Sim.Create();
        sim.DetachToPciback(DefaultDevices.PassthroughNic);

        Assert.Equal("eth0\nlo\n", sim.Run("ls", "-1", "/sys/class/net").StandardOutput);
        Assert.Equal("false\n", sim.Xe("pif-list", "device=eth1", "params=currently-attached", "--minimal"));
    }

    [Fact]
    public void Root_device_resolves_to_the_sata_controller()
    {
        var sim = Sim.Create();

        Assert.Equal("/dev/sda1\n", sim.Run("findmnt", "-no", "SOURCE", "/").StandardOutput);
        var path = sim.Run("udevadm", "info", "--query=path", "--name=/dev/sda1").StandardOutput;
        Assert.Equal("/devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda/sda1\n", path);
        Assert.Equal(path, sim.Run("udevadm", "info", "-q", "path", "-n", "/dev/sda1").StandardOutput);
        Assert.Equal("0000:00:17.0", path.Split('/')[3]);
    }

    [Fact]
    public void Tee_echoes_stdin_and_unbinds_through_the_driver_link()
    {
        var sim = Sim.Create();

        var result = sim.RunWithInput("0000:00:14.0", "tee", "/sys/bus/pci/devices/0000:00:14.0/driver/unbind");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("0000:00:14.0", result.StandardOutput);
        Assert.Null(sim.Host.Function(DefaultDevices.UsbController).BoundDriver);
        var again = sim.RunWithInput("0000:00:14.0", "tee", "/sys/bus/pci/devices/0000:00:14.0/driver/unbind");
        Assert.Equal("tee: /sys/bus/pci/devices/0000:00:14.0/driver/unbind: No such file or directory\n", again.StandardError);
    }

    [Fact]
    public void Bind_to_pciback_needs_a_slot_and_an_unbound_device()
    {
        var sim = Sim.Create();
        const string Bind = "/sys/bus/pci/drivers/pciback/bind";

        Assert.Equal($"tee: {Bind}: No such device\n", sim.RunWithInput("0000:00:14.0\n", "tee", Bind).StandardError);
        sim.RunWithInput("0000:00:14.0\n", "tee", "/sys/bus/pci/drivers/pciback/new_slot");
        Assert.Equal($"tee: {Bind}: No such device\n", sim.RunWithInput("0000:00:14.0\n", "tee", Bind).StandardError);
        sim.RunWithInput("0000:00:14.0\n", "tee", "/sys/bus/pci/drivers/xhci_hcd/unbind");
        Assert.Equal(0, sim.RunWithInput("0000:00:14.0\n", "tee", Bind).ExitCode);
        Assert.Equal("pciback", sim.Host.Function(DefaultDevices.UsbController).BoundDriver);
        Assert.Contains("pciback 0000:00:14.0: seizing device", sim.Run("dmesg").StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public void Release_from_pciback_then_drivers_probe_restores_the_dom0_driver()
    {
        var sim = Sim.Create();
        sim.DetachToPciback(DefaultDevices.UsbController);

        Assert.Equal(0, sim.RunWithInput("0000:00:14.0", "tee", "/sys/bus/pci/drivers/pciback/unbind").ExitCode);
        Assert.Equal(0, sim.RunWithInput("0000:00:14.0", "tee", "/sys/bus/pci/drivers/pciback/remove_slot").ExitCode);
        Assert.Equal(0, sim.RunWithInput("0000:00:14.0", "tee", "/sys/bus/pci/drivers_probe").ExitCode);

        Assert.Equal("xhci_hcd", sim.Host.Function(DefaultDevices.UsbController).BoundDriver);
        Assert.Equal("tee: /sys/bus/pci/drivers/pciback/remove_slot: No such file or directory\n", sim.RunWithInput("0000:00:14.0", "tee", "/sys/bus/pci/drivers/pciback/remove_slot").StandardError);
    }

    [Fact]
    public void Drivers_probe_prefers_pciback_for_its_slots_and_binding_the_original_driver_works()
    {
        var sim = Sim.Create();
        sim.RunWithInput("0000:03:00.0", "tee", "/sys/bus/pci/devices/0000:03:00.0/driver/unbind");
        sim.RunWithInput("0000:03:00.0", "tee", "/sys/bus/pci/drivers/pciback/new_slot");

        sim.RunWithInput("0000:03:00.0", "tee", "/sys/bus/pci/drivers_probe");
        Assert.Equal("pciback", sim.Host.Function(DefaultDevices.PassthroughNic).BoundDriver);

        sim.RunWithInput("0000:03:00.0", "tee", "/sys/bus/pci/drivers/pciback/unbind");
        Assert.Equal(0, sim.RunWithInput("0000:03:00.0", "tee", "/sys/bus/pci/drivers/igb/bind").ExitCode);
        Assert.Equal("igb", sim.Host.Function(DefaultDevices.PassthroughNic).BoundDriver);
        Assert.Equal("tee: /sys/bus/pci/drivers/nosuch/bind: No such file or directory\n", sim.RunWithInput("0000:03:00.0", "tee", "/sys/bus/pci/drivers/nosuch/bind").StandardError);
        Assert.Equal("tee: /sys/bus/pci/drivers/pciback/new_slot: Invalid argument\n", sim.RunWithInput("garbage", "tee", "/sys/bus/pci/drivers/pciback/new_slot").StandardError);
        Assert.Equal("tee: /sys/bus/pci/devices/0000:03:00.0/vendor: Permission denied\n", sim.RunWithInput("0x1", "tee", "/sys/bus/pci/devices/0000:03:00.0/vendor").StandardError);
    }

    [Fact]
    public void Lspci_honours_its_flags()
    {
        var sim = Sim.Create();

        Assert.Contains("00:14.0 USB controller: Intel Corporation Cannon Lake PCH USB 3.1 xHCI Host Controller (rev 10)\n", sim.Run("lspci").StandardOutput, StringComparison.Ordinal);
        Assert.Contains("0000:00:14.0 0c03: 8086:a36d (rev 10)\n", sim.Run("lspci", "-Dn").StandardOutput, StringComparison.Ordinal);
        Assert.Equal(2, sim.Run("lspci", "-Q").ExitCode);
    }

    [Fact]
    public void Xl_pci_list_is_empty_for_a_domain_without_devices()
    {
        var sim = Sim.Create();

        var result = sim.Run("xl", "pci-list", "0");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(string.Empty, result.StandardOutput);
    }

    [Fact]
    public void Xl_info_reports_the_profiles_xen_version()
    {
        foreach (var profile in ProductProfile.Presets)
        {
            var sim = Sim.Create(profile);
            var lines = sim.Run("xl", "info").StandardOutput.Split('\n');

            Assert.Contains($"xen_version            : {profile.XenVersion}", lines);
            Assert.Contains($"xen_major              : {profile.XenMajor}", lines);
        }
    }
}

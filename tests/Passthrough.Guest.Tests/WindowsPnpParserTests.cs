using System.Text;
using Passthrough.Contracts.Messaging;
using Passthrough.Contracts.Pci;

namespace Passthrough.Guest.Tests;

public sealed class WindowsPnpParserTests
{
    private static readonly PciDeviceId Gtx1070 = PciDeviceId.Parse("10de:1b81");
    private static readonly PciDeviceId Renesas = PciDeviceId.Parse("1912:0014");

    [Fact]
    public void The_full_capture_yields_every_pci_device_but_xens_own()
    {
        var devices = WindowsPnpParser.Parse(Fixture.Text("windows-pnp-pci-full.txt"));

        Assert.Equal(
            ["8086:1237", "8086:7000", "1013:00b8", "10de:1b81", "10de:10f0", "1912:0014"],
            devices.Select(d => d.Id.ToString()));
        Assert.DoesNotContain(devices, d => d.Id.Vendor == 0x5853);
    }

    [Fact]
    public void Xens_platform_device_is_kept_only_when_asked_for()
    {
        var devices = WindowsPnpParser.Parse(Fixture.Text("windows-pnp-pci-full.txt"), includeXenPlatform: true);

        var platform = Assert.Single(devices, d => d.Id.IsXenPlatform);
        Assert.Equal("xenbus", platform.Service);
    }

    [Fact]
    public void The_gpu_row_gives_ids_subsystem_revision_class_service_and_location()
    {
        var gpu = Assert.Single(WindowsPnpParser.Parse(Fixture.Text("windows-pnp-pci-full.txt")), d => d.Id == Gtx1070);

        Assert.Equal(@"PCI\VEN_10DE&DEV_1B81&SUBSYS_33011462&REV_A1\4&1F4B2F2C&0&0028", gpu.InstanceId);
        Assert.Equal(PciDeviceId.Parse("1462:3301"), gpu.Subsystem);
        Assert.Equal((byte)0xa1, gpu.Revision);
        Assert.Equal(PnpStatus.Ok, gpu.Status);
        Assert.Equal("Display", gpu.PnpClass);
        Assert.Equal("NVIDIA GeForce GTX 1070", gpu.FriendlyName);
        Assert.Equal(PciClass.Parse("030000"), gpu.ClassCode);
        Assert.Equal("nvlddmkm", gpu.Service);
        Assert.Equal(PciAddress.Parse("0000:00:05.0"), gpu.Location);
        Assert.Equal(new GuestPciDevice(PciAddress.Parse("0000:00:05.0"), Gtx1070, PciDeviceId.Parse("1462:3301"), PciClass.Parse("030000"), "nvlddmkm"), gpu.ToGuestDevice());
    }

    [Fact]
    public void A_quoted_name_with_commas_and_doubled_quotes_is_one_field_and_an_error_status_means_no_driver()
    {
        var usb = Assert.Single(WindowsPnpParser.Parse(Fixture.Text("windows-pnp-pci-full.txt")), d => d.Id == Renesas);

        Assert.Equal("Renesas USB 3.0 eXtensible Host Controller - 1.0 (Microsoft), \"uPD720201\"", usb.FriendlyName);
        Assert.Equal(PnpStatus.Error, usb.Status);
        Assert.Equal(PciClass.Parse("0c0330"), usb.ClassCode);
        Assert.Null(usb.Service);
        Assert.Null(usb.ToGuestDevice().Driver);
    }

    [Fact]
    public void The_minimal_capture_with_a_type_line_parses_and_guesses_classes_from_the_setup_class()
    {
        var devices = WindowsPnpParser.Parse(Fixture.Text("windows-pnp-pci-minimal.txt"));

        Assert.Equal(["8086:7010", "8086:10d3", "1912:0014", "10de:1b81"], devices.Select(d => d.Id.ToString()));
        Assert.Equal([PnpStatus.Ok, PnpStatus.Degraded, PnpStatus.Ok, PnpStatus.Unknown], devices.Select(d => d.Status));
        Assert.Equal(PciClass.Create(0x0c, 0x03), devices[2].ClassCode);
        Assert.Equal(WindowsPnpDevice.StartedWithoutServiceName, devices[2].ToGuestDevice().Driver);
        Assert.Null(devices[1].ToGuestDevice().Driver);
        Assert.Null(devices[3].Subsystem);
        Assert.Equal(default, devices[3].ToGuestDevice().Address);
    }

    [Theory]
    [InlineData(@"PCI\VEN_10DE&DEV_1B81&SUBSYS_11BF10DE&REV_A1\4&1", "10de:1b81", "10de:11bf", 0xa1)]
    [InlineData(@"pci\ven_8086&dev_1e31&subsys_05771028&rev_04\3&11583659&0&A0", "8086:1e31", "1028:0577", 0x04)]
    [InlineData(@"PCI\VEN_1912&DEV_0014", "1912:0014", null, null)]
    public void Instance_ids_give_vendor_device_and_a_subsystem_with_its_device_first(string instanceId, string id, string? subsystem, int? revision)
    {
        Assert.True(WindowsPnpParser.TryParseInstanceId(instanceId, out var parsed, out var sub, out var rev));

        Assert.Equal(PciDeviceId.Parse(id), parsed);
        Assert.Equal(subsystem is null ? null : PciDeviceId.Parse(subsystem), sub);
        Assert.Equal(revision is null ? null : (byte)revision, rev);
    }

    [Theory]
    [InlineData(@"ACPI\PNP0A03\0")]
    [InlineData(@"USB\VID_0781&PID_5567\4C530001")]
    [InlineData(@"PCI\VEN_10DE&DEV_1B8\4&1")]
    [InlineData(@"PCI\VEN_XYZW&DEV_1B81\4&1")]
    public void Other_instance_ids_are_not_pci_functions(string instanceId)
    {
        Assert.False(WindowsPnpParser.TryParseInstanceId(instanceId, out _, out _, out _));
    }

    [Theory]
    [InlineData("OK", PnpStatus.Ok)]
    [InlineData("ok", PnpStatus.Ok)]
    [InlineData("Error", PnpStatus.Error)]
    [InlineData("Degraded", PnpStatus.Degraded)]
    [InlineData("Unknown", PnpStatus.Unknown)]
    [InlineData("", PnpStatus.Unknown)]
    public void Statuses_are_read_case_insensitively(string text, PnpStatus status)
    {
        Assert.Equal(status, WindowsPnpParser.ParseStatus(text));
    }

    [Fact]
    public void Non_pci_rows_are_skipped_and_columns_are_found_by_name_in_any_order()
    {
        const string csv = "\"Status\",\"InstanceId\"\n\"OK\",\"ACPI\\PNP0A03\\0\"\n\"OK\",\"PCI\\VEN_8086&DEV_10D3&SUBSYS_A01F8086&REV_00\\4&1\"\n";

        var device = Assert.Single(WindowsPnpParser.Parse(csv));

        Assert.Equal(PciDeviceId.Parse("8086:10d3"), device.Id);
        Assert.Null(device.FriendlyName);
        Assert.Null(device.ClassCode);
    }

    [Fact]
    public void Output_without_the_header_is_refused()
    {
        Assert.Throws<FormatException>(() => WindowsPnpParser.Parse("\"PCI\\VEN_8086&DEV_10D3\\4&1\",\"OK\"\n"));
    }

    [Fact]
    public void The_probe_output_makes_an_hvm_xen_report_without_xens_devices_and_with_an_advisory_per_unhealthy_device()
    {
        var report = WindowsGuestProbe.ParseOutput(Fixture.Text("windows-probe-output.txt"));

        Assert.Equal(GuestOs.Windows, report.Os);
        Assert.True(report.IsXen);
        Assert.Equal(GuestType.HVM, report.GuestType);
        Assert.Equal("10.0.20348.0", report.KernelRelease);
        Assert.Equal("2024-05-14T07:41:09.5000000Z", report.BootId);
        Assert.Equal(PcifrontState.NotApplicable, report.Pcifront.State);
        Assert.Equal(6, report.Devices.Count);
        var advisory = Assert.Single(report.Advisories);
        Assert.Contains("as Error", advisory, StringComparison.Ordinal);
        Assert.Contains("1912", advisory, StringComparison.Ordinal);
    }

    [Fact]
    public void A_windows_guest_is_verified_by_ids_and_a_device_in_error_is_not_bound()
    {
        var report = WindowsGuestProbe.ParseOutput(Fixture.Text("windows-probe-output.txt"));

        var verdict = GuestVerification.Build(report, [new ExpectedDevice(Gtx1070, Driver: "nvlddmkm"), new ExpectedDevice(Renesas, Driver: "USBXHCI")]);

        Assert.False(verdict.Verified);
        Assert.True(verdict.Devices[0].DriverOk);
        Assert.False(verdict.Devices[1].Bound);
        Assert.Equal(FailureCause.GuestDriverNotBound, Assert.Single(verdict.Problems).Cause);
    }

    [Fact]
    public void Without_xens_platform_device_windows_is_not_on_xen()
    {
        const string output = "#os 10.0.19045.0\n\"InstanceId\",\"Status\"\n\"PCI\\VEN_8086&DEV_10D3\\4&1\",\"OK\"\n";

        var report = WindowsGuestProbe.ParseOutput(output);

        Assert.False(report.IsXen);
        Assert.Equal(GuestType.Unknown, report.GuestType);
        Assert.Null(report.BootId);
    }

    [Fact]
    public async Task The_probe_runs_the_fixed_script_through_the_runner_as_an_encoded_command()
    {
        var output = Fixture.Text("windows-probe-output.txt");
        var runner = new RecordingRunner(null, request => RecordingRunner.Result(request, 0, output));

        var report = await new WindowsGuestProbe(runner).ProbeAsync(Probe.Ct);

        var request = Assert.Single(runner.Requests);
        Assert.Equal("powershell.exe", request.Program);
        Assert.Equal(["-NoProfile", "-NonInteractive", "-EncodedCommand"], request.Arguments.Take(3));
        Assert.Equal(WindowsGuestProbe.Script, Encoding.Unicode.GetString(Convert.FromBase64String(request.Arguments[3])));
        Assert.Equal(6, report.Devices.Count);
    }

    [Fact]
    public async Task A_failing_powershell_cannot_probe()
    {
        var runner = new RecordingRunner(null, request => RecordingRunner.Result(request, 1, stderr: "Get-PnpDevice : The term 'Get-PnpDevice' is not recognized"));

        var error = await Assert.ThrowsAsync<GuestProbeException>(() => new WindowsGuestProbe(runner).ProbeAsync(Probe.Ct));

        Assert.Equal(FailureCause.CommandFailed, error.Cause);
        Assert.Contains("Get-PnpDevice", error.Message, StringComparison.Ordinal);
    }
}

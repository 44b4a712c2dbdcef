using System.Diagnostics;
using System.Text.RegularExpressions;
using Passthrough.Contracts.Messaging;

namespace Passthrough.Guest.Tests;

// The probe on this machine's real /sys and /proc. This machine is not a Xen guest; lspci (pciutils, installed by the
// test command) is the independent witness of its PCI devices. A missing lspci fails these tests.
public sealed partial class RealMachineTests
{
    [Fact]
    public async Task This_machine_is_not_a_xen_guest_and_the_probe_says_so()
    {
        var report = await new LinuxGuestProbe(new LocalGuestFileSystem("/")).ProbeAsync(Probe.Ct);

        Assert.Equal(GuestOs.Linux, report.Os);
        Assert.False(report.IsXen);
        Assert.Equal(GuestType.Unknown, report.GuestType);
        Assert.Equal(PcifrontState.NotApplicable, report.Pcifront.State);
        Assert.Equal((await File.ReadAllTextAsync("/proc/sys/kernel/osrelease", Probe.Ct)).Trim(), report.KernelRelease);
        Assert.Equal((await File.ReadAllTextAsync("/proc/sys/kernel/random/boot_id", Probe.Ct)).Trim(), report.BootId);
    }

    [Fact]
    public async Task The_probe_lists_exactly_the_pci_devices_lspci_prints()
    {
        var lspci = await LspciAsync();
        Assert.NotEmpty(lspci);

        var report = await new LinuxGuestProbe(new LocalGuestFileSystem("/")).ProbeAsync(Probe.Ct);

        Assert.Equal(lspci, report.Devices.Select(d => (d.Address.ToString(), d.Id.ToString(), d.Class.Code16.ToString("x4", System.Globalization.CultureInfo.InvariantCulture))));
    }

    [Fact]
    public async Task The_bound_drivers_are_the_basenames_of_the_sysfs_driver_links()
    {
        var report = await new LinuxGuestProbe(new LocalGuestFileSystem("/")).ProbeAsync(Probe.Ct);

        Assert.NotEmpty(report.Devices);
        foreach (var device in report.Devices)
        {
            var link = new FileInfo($"/sys/bus/pci/devices/{device.Address}/driver").LinkTarget;
            Assert.Equal(link is null ? null : Path.GetFileName(link), device.Driver);
        }
    }

    [Fact]
    public async Task The_machine_roots_kernel_log_comes_from_dmesg()
    {
        var log = await new LocalGuestFileSystem("/").ReadKernelLogAsync(Probe.Ct);

        Assert.Contains("Linux version", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refused_dmesg_falls_back_to_kern_log_and_a_tree_never_runs_dmesg()
    {
        var refusing = new RecordingRunner(null, request => RecordingRunner.Result(request, 1, stderr: "dmesg: read kernel buffer failed: Operation not permitted\n"));
        using var tree = Testing.GuestTree.Linux("6.1.0", "PV").KernLog("[    0.1] from kern.log\n");

        var machine = await new LocalGuestFileSystem("/", refusing).ReadKernelLogAsync(Probe.Ct);
        var fromTree = await new LocalGuestFileSystem(tree.Root, refusing).ReadKernelLogAsync(Probe.Ct);

        Assert.Equal("dmesg", Assert.Single(refusing.Requests).Program);
        Assert.Equal(File.Exists("/var/log/kern.log") ? await File.ReadAllTextAsync("/var/log/kern.log", Probe.Ct) : null, machine);
        Assert.Equal("[    0.1] from kern.log\n", fromTree);
    }

    // (BDF, vendor:device, class) per line of `lspci -Dn`: "0000:00:03.0 0200: 1af4:1041 (rev 01)".
    internal static async Task<List<(string Bdf, string Id, string Class)>> LspciAsync()
    {
        var start = new ProcessStartInfo("lspci") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-Dn");
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            Assert.Fail($"lspci is not installed ({ex.Message}): install pciutils (the test command does).");
            throw;
        }

        using (process)
        {
            var output = await process.StandardOutput.ReadToEndAsync(Probe.Ct);
            await process.WaitForExitAsync(Probe.Ct);
            Assert.Equal(0, process.ExitCode);
            return [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line =>
            {
                var match = LspciLine().Match(line);
                Assert.True(match.Success, $"unexpected lspci line: {line}");
                return (match.Groups["bdf"].Value, match.Groups["id"].Value, match.Groups["class"].Value);
            })];
        }
    }

    [GeneratedRegex(@"^(?<bdf>[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]) (?<class>[0-9a-f]{4}): (?<id>[0-9a-f]{4}:[0-9a-f]{4})")]
    private static partial Regex LspciLine();
}

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Passthrough.Shell;
using Passthrough.Testing;

namespace Passthrough.Cli.Tests;

// `passthrough guest probe` on guest-shaped trees (--root), on this machine, and against a closed SSH port.
public sealed class GuestProbeCommandTests
{
    private const string Release = "3.2.0-4-amd64";
    private const string HostKey = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static (CliEnvironment Environment, StringWriter Out, StringWriter Error, List<CommandTarget> Opened) Environment()
    {
        var factory = new CommandRunnerFactory(new SshCommandRunnerOptions { ConnectTimeout = TimeSpan.FromSeconds(5) });
        var opened = new List<CommandTarget>();
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var environment = new CliEnvironment(stdout, stderr, target =>
        {
            opened.Add(target);
            return factory.Create(target);
        }, TimeProvider.System);
        return (environment, stdout, stderr, opened);
    }

    // The shared fixture's PV guest: pcifront loaded, two USB controllers at vpci addresses.
    private static GuestTree PvWithPcifront() =>
        GuestTree.Linux(Release, "PV")
            .PcifrontDriver().PcifrontDevice().PcifrontModuleLoaded()
            .Modules(Release, string.Empty, "kernel/drivers/pci/xen-pcifront.ko:\n")
            .PciDevice("0000:00:00.0", "8086:2934", "0c0300", "uhci_hcd")
            .PciDevice("0000:00:00.2", "8086:293a", "0c0320", "ehci_hcd")
            .KernLog("[    0.199048] pcifront pci-0: Installing PCI frontend\n[    0.199125] pcifront pci-0: Creating PCI Frontend Bus 0000:00\n");

    private static GuestTree PvWithoutPcifront() =>
        GuestTree.Linux(Release, "PV").PcifrontDevice().Modules(Release, string.Empty, "kernel/drivers/usb/host/uhci-hcd.ko:\n").KernLog(string.Empty);

    [Fact]
    public async Task A_guest_with_every_expected_device_bound_is_verified_with_exit_code_0()
    {
        using var tree = PvWithPcifront();
        var (environment, stdout, stderr, _) = Environment();

        var code = await CliApplication.RunAsync(
            ["guest", "probe", "--target", "local", "--root", tree.Root, "--expect", "8086:293a=ehci_hcd", "--expect", "8086:2934"], environment);

        Assert.Equal(ExitCodes.Ok, code);
        Assert.Equal(string.Empty, stderr.ToString());
        var text = stdout.ToString();
        Assert.Contains("Xen         yes, guest type PV", text, StringComparison.Ordinal);
        Assert.Contains("pcifront    Active", text, StringComparison.Ordinal);
        Assert.Contains("0000:00:00.2  8086:293a", text, StringComparison.Ordinal);
        Assert.Contains("Installing PCI frontend", text, StringComparison.Ordinal);
        Assert.Contains("Verdict     verified", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_pv_guest_lacking_pcifront_is_not_verified_with_its_own_exit_code_and_the_reason()
    {
        using var tree = PvWithoutPcifront();
        var (environment, stdout, _, _) = Environment();

        var code = await CliApplication.RunAsync(["guest", "probe", "--target", "local", "--root", tree.Root, "--expect", "8086:293a"], environment);

        Assert.Equal(ExitCodes.NotVerified, code);
        Assert.Equal(10, ExitCodes.NotVerified);
        var text = stdout.ToString();
        Assert.Contains("Verdict     NOT verified", text, StringComparison.Ordinal);
        Assert.Contains("problem: GuestLacksPcifront: guest kernel lacks xen-pcifront", text, StringComparison.Ordinal);
        Assert.Contains("problem: GuestDeviceMissing", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_expectations_a_successful_probe_exits_0_even_when_pcifront_is_absent()
    {
        using var tree = PvWithoutPcifront();
        var (environment, stdout, _, _) = Environment();

        var code = await CliApplication.RunAsync(["guest", "probe", "--target", "local", "--root", tree.Root], environment);

        Assert.Equal(ExitCodes.Ok, code);
        Assert.Contains("pcifront    Absent", stdout.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("Verdict", stdout.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Json_output_carries_the_facts_devices_and_verification()
    {
        using var tree = PvWithPcifront();
        var (environment, stdout, _, _) = Environment();

        var code = await CliApplication.RunAsync(
            ["guest", "probe", "-t", "local", "--root", tree.Root, "--expect", "8086:293a=ehci_hcd", "8086:1b81", "-o", "json"], environment);

        Assert.Equal(ExitCodes.NotVerified, code);
        using var json = JsonDocument.Parse(stdout.ToString());
        var root = json.RootElement;
        Assert.Equal("local", root.GetProperty("target").GetString());
        Assert.Equal(tree.Root, root.GetProperty("root").GetString());
        Assert.True(root.GetProperty("isXen").GetBoolean());
        Assert.Equal("PV", root.GetProperty("guestType").GetString());
        Assert.Equal(Release, root.GetProperty("kernelRelease").GetString());
        Assert.Equal("Active", root.GetProperty("pcifront").GetProperty("state").GetString());
        var devices = root.GetProperty("devices").EnumerateArray().ToList();
        Assert.Equal(["0000:00:00.0", "0000:00:00.2"], devices.Select(d => d.GetProperty("bdf").GetString()));
        Assert.Equal("8086:293a", devices[1].GetProperty("vendorDevice").GetString());
        Assert.Equal("0c0320", devices[1].GetProperty("classCode").GetString());
        Assert.Equal("USB controller", devices[1].GetProperty("className").GetString());
        Assert.Equal("ehci_hcd", devices[1].GetProperty("driver").GetString());
        Assert.Equal(2, root.GetProperty("kernelLog").GetArrayLength());
        var verification = root.GetProperty("verification");
        Assert.False(verification.GetProperty("verified").GetBoolean());
        var expected = verification.GetProperty("devices").EnumerateArray().ToList();
        Assert.True(expected[0].GetProperty("present").GetBoolean());
        Assert.True(expected[0].GetProperty("bound").GetBoolean());
        Assert.Equal("0000:00:00.2", expected[0].GetProperty("bdf").GetString());
        Assert.False(expected[1].GetProperty("present").GetBoolean());
        var problem = Assert.Single(verification.GetProperty("problems").EnumerateArray());
        Assert.Equal("GuestDeviceMissing", problem.GetProperty("cause").GetString());
    }

    [Fact]
    public async Task Json_output_without_expectations_has_a_null_verification()
    {
        var (environment, stdout, _, _) = Environment();

        var code = await CliApplication.RunAsync(["guest", "probe", "--target", "local", "--output", "json"], environment);

        Assert.Equal(ExitCodes.Ok, code);
        using var json = JsonDocument.Parse(stdout.ToString());
        Assert.False(json.RootElement.GetProperty("isXen").GetBoolean());
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("verification").ValueKind);
        Assert.NotEqual(0, json.RootElement.GetProperty("devices").GetArrayLength());
    }

    [Fact]
    public async Task An_unreachable_ssh_target_could_not_be_probed()
    {
        var (environment, stdout, stderr, opened) = Environment();
        var key = await GenerateKeyAsync();

        var code = await CliApplication.RunAsync(
            ["guest", "probe", "--target", $"ssh://root@127.0.0.1:{ClosedPort()}", "--identity", key, "--host-key", HostKey, "--expect", "8086:293a"], environment);

        Assert.Equal(ExitCodes.CouldNotProbe, code);
        Assert.Equal(11, ExitCodes.CouldNotProbe);
        Assert.Single(opened);
        Assert.Equal(string.Empty, stdout.ToString());
        var line = Assert.Single(stderr.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: could not probe the guest (HostUnreachable): ", line, StringComparison.Ordinal);
        Assert.Contains("connection refused", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_root_that_is_not_a_linux_tree_could_not_be_probed()
    {
        using var tree = GuestTree.Create();
        var (environment, _, stderr, _) = Environment();

        var code = await CliApplication.RunAsync(["guest", "probe", "--target", "local", "--root", tree.Root], environment);

        Assert.Equal(ExitCodes.CouldNotProbe, code);
        Assert.Contains("osrelease", stderr.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("8086", "is not an expected device")]
    [InlineData("0000:00:1d.7", "is not an expected device")]
    [InlineData("8086:293a=bad driver", "is not an expected device")]
    public async Task A_malformed_expectation_is_a_usage_error_and_probes_nothing(string expect, string reason)
    {
        var (environment, stdout, stderr, opened) = Environment();

        var code = await CliApplication.RunAsync(["guest", "probe", "--target", "local", "--expect", expect], environment);

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains(reason, stderr.ToString(), StringComparison.Ordinal);
        Assert.Empty(opened);
        Assert.Equal(string.Empty, stdout.ToString());
    }

    [Fact]
    public async Task A_root_with_an_ssh_target_is_a_usage_error()
    {
        var (environment, _, stderr, opened) = Environment();
        var key = await GenerateKeyAsync();

        var code = await CliApplication.RunAsync(
            ["guest", "probe", "--target", "ssh://root@guest.example:22", "-i", key, "--host-key", HostKey, "--root", "/tmp"], environment);

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("--root applies only to a local Linux target", stderr.ToString(), StringComparison.Ordinal);
        Assert.Empty(opened);
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    // A real key, so the SSH runner gets as far as connecting (it loads the key first).
    private static async Task<string> GenerateKeyAsync()
    {
        var directory = Directory.CreateTempSubdirectory("passthrough-cli-key-").FullName;
        var path = Path.Combine(directory, "id_ed25519");
        var start = new ProcessStartInfo("ssh-keygen") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "-q", "-t", "ed25519", "-N", string.Empty, "-f", path })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        await process.WaitForExitAsync(Ct);
        Assert.Equal(0, process.ExitCode);
        return path;
    }
}

using System.Text.Json;
using Passthrough.Simulation;
using Passthrough.Simulation.Model;
using Passthrough.Shell;

namespace Passthrough.Cli.Tests;

public sealed class HostInventoryCommandTests
{
    private const string Target = "ssh://root@xcp-ng-1.example:22";
    private const string HostKey = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    private static (CliEnvironment Environment, StringWriter Out, StringWriter Error, List<CommandTarget> Opened) Environment(ProductProfile profile)
    {
        var host = new SimulatedHostBuilder(profile).Build(TimeProvider.System);
        var opened = new List<CommandTarget>();
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var environment = new CliEnvironment(stdout, stderr, target =>
        {
            opened.Add(target);
            return new SimulatedHostRunner(host);
        }, TimeProvider.System);
        return (environment, stdout, stderr, opened);
    }

    private static string IdentityFile()
    {
        var path = Path.Combine(Path.GetTempPath(), $"passthrough-cli-test-{Guid.NewGuid():N}.key");
        File.WriteAllText(path, "not read: the runner is simulated\n");
        return path;
    }

    [Fact]
    public async Task Prints_product_iommu_and_a_row_per_device_with_flags()
    {
        var (environment, stdout, stderr, opened) = Environment(ProductProfile.XcpNg83);

        var code = await CliApplication.RunAsync(["host", "inventory", "--target", Target, "--identity", IdentityFile(), "--host-key", HostKey], environment);

        Assert.Equal(ExitCodes.Ok, code);
        Assert.Equal(string.Empty, stderr.ToString());
        var text = stdout.ToString();
        Assert.Contains("XCP-ng", text, StringComparison.Ordinal);
        Assert.Contains("IOMMU       enabled", text, StringComparison.Ordinal);
        Assert.True(text.Contains(DefaultDevices.UsbController.ToString(), StringComparison.Ordinal), text);
        Assert.Contains("boot-device", text, StringComparison.Ordinal);
        Assert.Contains("management-nic", text, StringComparison.Ordinal);
        Assert.Equal(Target, Assert.Single(opened).ToString());
    }

    [Fact]
    public async Task Json_output_has_the_same_fields_and_marks_the_usb_controller_without_a_xapi_object()
    {
        var (environment, stdout, _, _) = Environment(ProductProfile.XcpNg83);

        var code = await CliApplication.RunAsync(["host", "inventory", "--target", Target, "-i", IdentityFile(), "--host-key", HostKey, "--output", "json"], environment);

        Assert.Equal(ExitCodes.Ok, code);
        using var json = JsonDocument.Parse(stdout.ToString());
        var root = json.RootElement;
        Assert.Equal("XCP-ng", root.GetProperty("product").GetString());
        Assert.True(root.GetProperty("dom0AccessApi").GetBoolean());
        var devices = root.GetProperty("devices").EnumerateArray().ToList();
        var usb = devices.Single(d => d.GetProperty("bdf").GetString() == DefaultDevices.UsbController.ToString());
        Assert.Equal(JsonValueKind.Null, usb.GetProperty("xapiUuid").ValueKind);
        Assert.Equal("0c0330", usb.GetProperty("classCode").GetString());
        var gpu = devices.Single(d => d.GetProperty("bdf").GetString() == DefaultDevices.Gpu.ToString());
        Assert.Equal(JsonValueKind.String, gpu.GetProperty("xapiUuid").ValueKind);
        Assert.Contains(DefaultDevices.GpuAudio.ToString(), gpu.GetProperty("siblings").EnumerateArray().Select(s => s.GetString()));
        Assert.True(devices.Single(d => d.GetProperty("bdf").GetString() == DefaultDevices.SataController.ToString()).GetProperty("bootDevice").GetBoolean());
        Assert.True(devices.Single(d => d.GetProperty("bdf").GetString() == DefaultDevices.ManagementNic.ToString()).GetProperty("managementNic").GetBoolean());
    }

    [Fact]
    public async Task An_old_host_without_xe_pci_commands_is_inventoried_from_sysfs()
    {
        var (environment, stdout, _, _) = Environment(ProductProfile.XenServer65);

        var code = await CliApplication.RunAsync(["host", "inventory", "-t", Target, "-i", IdentityFile(), "--host-key", HostKey, "-o", "json"], environment);

        Assert.Equal(ExitCodes.Ok, code);
        using var json = JsonDocument.Parse(stdout.ToString());
        Assert.False(json.RootElement.GetProperty("xapiPciCommands").GetBoolean());
        Assert.All(json.RootElement.GetProperty("devices").EnumerateArray(), d => Assert.Equal(JsonValueKind.Null, d.GetProperty("xapiUuid").ValueKind));
    }

    [Theory]
    [InlineData("ftp://root@host", "neither 'local' nor")]
    [InlineData("ssh://root@host:70000", "outside 1-65535")]
    [InlineData("ssh://root@bad host", "neither 'local' nor")]
    public async Task A_malformed_target_is_one_clear_line_and_the_usage_exit_code(string target, string reason)
    {
        var (environment, stdout, stderr, opened) = Environment(ProductProfile.XcpNg83);

        var code = await CliApplication.RunAsync(["host", "inventory", "--target", target, "-i", IdentityFile(), "--host-key", HostKey], environment);

        Assert.Equal(ExitCodes.Usage, code);
        var line = Assert.Single(stderr.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        Assert.Contains(reason, line, StringComparison.Ordinal);
        Assert.Empty(opened);
        Assert.Equal(string.Empty, stdout.ToString());
    }

    [Fact]
    public async Task An_ssh_target_without_a_pinned_host_key_is_refused()
    {
        var (environment, _, stderr, opened) = Environment(ProductProfile.XcpNg83);

        var code = await CliApplication.RunAsync(["host", "inventory", "--target", Target, "-i", IdentityFile()], environment);

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("unpinned host keys are refused", stderr.ToString(), StringComparison.Ordinal);
        Assert.Empty(opened);
    }

    [Fact]
    public async Task A_missing_identity_file_is_named()
    {
        var (environment, _, stderr, _) = Environment(ProductProfile.XcpNg83);

        var code = await CliApplication.RunAsync(["host", "inventory", "--target", Target, "-i", "/nonexistent/key", "--host-key", HostKey], environment);

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("/nonexistent/key", stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_host_that_stops_answering_gives_the_unreachable_exit_code()
    {
        var host = new SimulatedHostBuilder(ProductProfile.XcpNg83).Build(TimeProvider.System);
        var runner = new SimulatedHostRunner(host);
        runner.Faults.DropConnection("cat", SimulatedFaults.Always);
        var stderr = new StringWriter();
        var environment = new CliEnvironment(new StringWriter(), stderr, _ => runner, TimeProvider.System);

        var code = await CliApplication.RunAsync(["host", "inventory", "--target", Target, "-i", IdentityFile(), "--host-key", HostKey], environment);

        Assert.Equal(ExitCodes.Unreachable, code);
        Assert.StartsWith("error: ", stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_required_option_is_a_usage_error()
    {
        var (environment, _, stderr, _) = Environment(ProductProfile.XcpNg83);

        var code = await CliApplication.RunAsync(["host", "inventory"], environment);

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("--target", stderr.ToString(), StringComparison.Ordinal);
    }
}

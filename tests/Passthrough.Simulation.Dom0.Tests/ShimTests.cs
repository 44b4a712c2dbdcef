using Passthrough.Shell;

namespace Passthrough.Simulation.Dom0.Tests;

// The executables on this machine (child processes, no SSH): argv, stdin, exit status and the saved state.
public sealed class ShimTests : IAsyncDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("passthrough-shims-").FullName;
    private readonly LocalCommandRunner _local = new();
    private readonly SimulatedDom0Installation _installation;

    public ShimTests()
    {
        _installation = SimulatedDom0Installation.Install(_directory, SimulatedDom0SshdFixture.NewHost());
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask DisposeAsync()
    {
        await _local.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    private Task<CommandResult> Shim(string tool, string? stdin, params string[] args) =>
        _local.RunAsync(new CommandRequest(_installation.ShimPath(tool), args) { StandardInput = stdin }, Ct);

    [Fact]
    public async Task Every_tool_gets_an_executable_shim_and_opt_links_to_xe_and_xen_cmdline()
    {
        Assert.All(SimulatedDom0Installation.Tools, tool => Assert.True(
            File.GetUnixFileMode(_installation.ShimPath(tool)).HasFlag(UnixFileMode.UserExecute), tool));
        Assert.Equal(_installation.ShimPath("xe"), new FileInfo(Path.Combine(_installation.OptDirectory, "xensource/bin/xe")).LinkTarget);

        var hide = await _local.RunAsync(
            new CommandRequest(Path.Combine(_installation.OptDirectory, "xensource/libexec/xen-cmdline"), "--get-dom0", "xen-pciback.hide"), Ct);

        Assert.Equal((0, "\n"), (hide.ExitCode, hide.StandardOutput));
    }

    [Fact]
    public async Task Tee_reads_stdin_and_its_sysfs_write_is_saved()
    {
        var nic = DefaultDevices.PassthroughNic.ToString();

        var unbind = await Shim("tee", nic, $"/sys/bus/pci/devices/{nic}/driver/unbind");

        Assert.Equal((0, nic, string.Empty), (unbind.ExitCode, unbind.StandardOutput, unbind.StandardError));
        Assert.Null(_installation.ReadHost().Function(DefaultDevices.PassthroughNic).BoundDriver);
    }

    [Fact]
    public async Task A_refused_sysfs_write_keeps_the_kernels_text_and_exit_status()
    {
        var nic = DefaultDevices.PassthroughNic.ToString();

        var bind = await Shim("tee", nic, "/sys/bus/pci/drivers/pciback/bind");

        Assert.Equal(1, bind.ExitCode);
        Assert.StartsWith("tee: /sys/bus/pci/drivers/pciback/bind: ", bind.StandardError, StringComparison.Ordinal);
        Assert.Equal("igb", _installation.ReadHost().Function(DefaultDevices.PassthroughNic).BoundDriver);
    }

    [Fact]
    public async Task File_tools_given_the_machines_paths_run_the_machines_own_tools()
    {
        var file = Path.Combine(_directory, "machine file.txt");
        await File.WriteAllTextAsync(file, "alpha\nbeta\n", Ct);
        var before = await File.ReadAllTextAsync(_installation.State.Path, Ct);

        var cat = await Shim("cat", null, file);
        var grep = await Shim("grep", null, "-c", "a", file);
        var tee = await Shim("tee", "gamma\n", "-a", file);
        var ls = await Shim("ls", null, "-1", _directory);

        Assert.Equal("alpha\nbeta\n", cat.StandardOutput);
        Assert.Equal("2\n", grep.StandardOutput);
        Assert.Equal((0, "gamma\n"), (tee.ExitCode, tee.StandardOutput));
        Assert.Equal("alpha\nbeta\ngamma\n", await File.ReadAllTextAsync(file, Ct));
        Assert.Contains("host.json", ls.StandardOutput.Split('\n'));
        Assert.Equal(before, await File.ReadAllTextAsync(_installation.State.Path, Ct));
    }

    [Fact]
    public async Task The_program_itself_also_hands_machine_paths_to_the_real_tool()
    {
        // The shim's sh pre-check is an optimisation; the program decides the same way when called directly.
        var tool = Path.Combine(AppContext.BaseDirectory, SimulatedDom0Installation.ToolFileName);

        var hostname = await _local.RunAsync(new CommandRequest("dotnet", tool, "cat", "/etc/hostname"), Ct);
        var unset = await _local.RunAsync(new CommandRequest("dotnet", tool, "cat", "/proc/cmdline"), Ct);

        Assert.Equal(await File.ReadAllTextAsync("/etc/hostname", Ct), hostname.StandardOutput);
        Assert.Equal(125, unset.ExitCode);
        Assert.Contains(SimulatedDom0Installation.StateVariable, unset.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Concurrent_processes_lose_no_change()
    {
        var vm = _installation.ReadHost().Vm(DefaultDevices.PvVmName).Uuid;

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Shim("xe", null, "vm-param-set", $"uuid={vm}", $"other-config:key{i}=value{i}")));

        Assert.All(results, r => Assert.Equal(0, r.ExitCode));
        var otherConfig = _installation.ReadHost().Vm(DefaultDevices.PvVmName).OtherConfig;
        Assert.All(Enumerable.Range(0, 8), i => Assert.Equal($"value{i}", otherConfig[$"key{i}"]));
    }

    [Fact]
    public async Task While_the_host_reboots_a_command_prints_sshs_refusal_and_exits_255()
    {
        var host = _installation.ReadHost().Uuid;
        _installation.UpdateHost(h => h.Timings.RebootDowntime = TimeSpan.FromMinutes(5));
        Assert.Equal(0, (await Shim("xe", null, "host-disable", $"uuid={host}")).ExitCode);
        Assert.Equal(0, (await Shim("xe", null, "host-reboot", $"uuid={host}")).ExitCode);

        var bootId = await Shim("cat", null, "/proc/sys/kernel/random/boot_id");

        Assert.Equal((255, string.Empty), (bootId.ExitCode, bootId.StandardOutput));
        Assert.Equal("ssh: connect to host xenhost-01 port 22: Connection refused\n", bootId.StandardError);
    }

    [Fact]
    public async Task An_armed_fault_is_printed_by_the_executable_and_then_used_up()
    {
        _installation.FailCommand("xl pci-assignable-list", "libxl: error: libxl_pci.c:415:libxl_device_pci_assignable_list: Looks like pciback driver not loaded");

        var faulted = await Shim("xl", null, "pci-assignable-list");
        var normal = await Shim("xl", null, "pci-assignable-list");

        Assert.Equal(1, faulted.ExitCode);
        Assert.Equal("libxl: error: libxl_pci.c:415:libxl_device_pci_assignable_list: Looks like pciback driver not loaded\n", faulted.StandardError);
        Assert.Equal(0, normal.ExitCode);
        Assert.Empty(_installation.ArmedFaults);
    }
}

using Passthrough.Contracts.Messaging;
using Passthrough.Shell;
using Passthrough.Simulation.Model;

namespace Passthrough.Simulation.Dom0.Tests;

// Unit tier for the shared state file: no processes, no SSH.
public sealed class StateFileTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("passthrough-state-").FullName;
    private readonly SimulatedHostStateFile _state;
    private readonly SimulatedHost _host = SimulatedDom0SshdFixture.NewHost();

    public StateFileTests()
    {
        _state = new SimulatedHostStateFile(Path.Combine(_directory, "host.json"));
        _state.Write(_host);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string HvmUuid => _host.Vm(DefaultDevices.HvmVmName).Uuid.ToString();

    [Fact]
    public void A_command_that_changes_the_host_is_saved_and_one_that_only_reads_leaves_the_file_alone()
    {
        var nic = DefaultDevices.PassthroughNic.ToString();
        var written = File.GetLastWriteTimeUtc(_state.Path);
        var read = _state.Execute(new CommandRequest("readlink", $"/sys/bus/pci/devices/{nic}/driver"));
        Assert.Equal(written, File.GetLastWriteTimeUtc(_state.Path));
        Assert.Equal("../../../../bus/pci/drivers/igb\n", read.StandardOutput);

        var unbind = _state.Execute(new CommandRequest("tee", $"/sys/bus/pci/devices/{nic}/driver/unbind") { StandardInput = nic });

        Assert.Equal(0, unbind.ExitCode);
        Assert.Null(_state.Read().Function(DefaultDevices.PassthroughNic).BoundDriver);
        Assert.Equal(1, _state.Execute(new CommandRequest("readlink", $"/sys/bus/pci/devices/{nic}/driver")).ExitCode);
    }

    [Fact]
    public void An_armed_fault_answers_instead_of_the_command_as_many_times_as_armed()
    {
        // Armed through a second handle on the same file, as a test arms faults for the executables.
        new SimulatedHostStateFile(_state.Path).WriteFaults([new CommandFault("xe vm-start", CommandFaultKind.Fail, 2, 1, "The server failed to handle your request.\n", "partial\n")]);
        var start = new CommandRequest("xe", "vm-start", $"uuid={HvmUuid}", $"on={_host.Uuid}");

        var first = _state.Execute(start);
        var second = _state.Execute(new CommandRequest("/opt/xensource/bin/xe", start.Arguments));
        var unrelated = _state.Execute(new CommandRequest("xe", "vm-param-get", $"uuid={HvmUuid}", "param-name=power-state"));
        var third = _state.Execute(start);

        Assert.Equal((1, "partial\n", "The server failed to handle your request.\n"), (first.ExitCode, first.StandardOutput, first.StandardError));
        Assert.Equal(first.StandardError, second.StandardError);
        Assert.Equal("halted\n", unrelated.StandardOutput);
        Assert.Equal(0, third.ExitCode);
        Assert.Empty(_state.ReadFaults());
        Assert.False(File.Exists(_state.FaultsPath));
        Assert.Equal(VmPowerState.Running, _state.Read().Vm(DefaultDevices.HvmVmName).PowerState);
    }

    [Fact]
    public void Only_failing_commands_can_be_armed_in_a_file()
    {
        var hang = new CommandFault("xe vm-shutdown", CommandFaultKind.Hang, 1);

        var refused = Assert.Throws<NotSupportedException>(() => _state.WriteFaults([hang]));

        Assert.Contains("Hang", refused.Message, StringComparison.Ordinal);
        Assert.Empty(_state.ReadFaults());
    }

    [Fact]
    public async Task Concurrent_commands_each_see_the_others_changes()
    {
        // Without the lock, read-change-write cycles overlap and keys written meanwhile are lost.
        var writers = Enumerable.Range(0, 24).Select(i => Task.Run(
            () => _state.Execute(new CommandRequest("xe", "vm-param-set", $"uuid={HvmUuid}", $"other-config:key{i}=value{i}")),
            TestContext.Current.CancellationToken));

        var results = await Task.WhenAll(writers);

        Assert.All(results, r => Assert.Equal(0, r.ExitCode));
        var otherConfig = _state.Read().Vm(DefaultDevices.HvmVmName).OtherConfig;
        Assert.All(Enumerable.Range(0, 24), i => Assert.Equal($"value{i}", otherConfig[$"key{i}"]));
    }

    [Fact]
    public void A_host_that_is_down_refuses_the_command_and_its_boot_cycle_is_saved()
    {
        _state.Update(h => h.Timings.RebootDowntime = TimeSpan.FromMinutes(5));
        Assert.Equal(0, _state.Execute(new CommandRequest("xe", "host-disable", $"uuid={_host.Uuid}")).ExitCode);
        Assert.Equal(0, _state.Execute(new CommandRequest("xe", "host-reboot", $"uuid={_host.Uuid}")).ExitCode);

        var refused = Assert.Throws<ConnectionRefusedException>(() => _state.Execute(new CommandRequest("cat", "/proc/sys/kernel/random/boot_id")));

        Assert.EndsWith("ssh: connect to host xenhost-01 port 22: Connection refused", refused.Message, StringComparison.Ordinal);
        var saved = _state.Read();
        Assert.Equal(HostPhase.Down, saved.Boot.Phase);
        Assert.Equal(1, saved.Boot.RebootCount);
    }

    [Theory]
    [InlineData("/sys", true)]
    [InlineData("/sys/bus/pci/devices/0000:03:00.0/driver/unbind", true)]
    [InlineData("/proc/cmdline", true)]
    [InlineData("/proc/sys/kernel/random/boot_id", true)]
    [InlineData("/etc/xensource-inventory", true)]
    [InlineData("/opt/xensource/libexec/xen-cmdline", true)]
    [InlineData("/system", false)]
    [InlineData("/proc/1234/environ", false)]
    [InlineData("/proc", false)]
    [InlineData("/etc/hostname", false)]
    [InlineData("/opt/nuget", false)]
    [InlineData("-H", false)]
    [InlineData("", false)]
    public void Simulated_paths_are_the_dom0_files_of_the_catalogue(string path, bool simulated) =>
        Assert.Equal(simulated, SimulatedDom0Installation.IsSimulatedPath(path));
}

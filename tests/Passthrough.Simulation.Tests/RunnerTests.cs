using Microsoft.Extensions.Time.Testing;
using Passthrough.Shell;
using Passthrough.Simulation.Model;

namespace Passthrough.Simulation.Tests;

/// <summary>The in-process runner: latency, fault injection, and the reboot window as connection failures.</summary>
public sealed class RunnerTests
{
    private static (SimulatedHostRunner Runner, FakeTimeProvider Time) Create(Func<SimulatedHostBuilder, SimulatedHostBuilder>? configure = null, SimulatedLatency? latency = null)
    {
        var time = new FakeTimeProvider(Sim.Start);
        var builder = new SimulatedHostBuilder(ProductProfile.XcpNg83);
        var host = (configure?.Invoke(builder) ?? builder).Build(time);
        return (new SimulatedHostRunner(host, time, latency), time);
    }

    private static CommandRequest Xe(params string[] args) => new("xe", args);

    [Fact]
    public async Task Runs_commands_and_names_the_simulated_target()
    {
        var (runner, _) = Create();
        await using var _ = runner;

        var result = await runner.RunAsync(new CommandRequest("cat", "/proc/cmdline"), TestContext.Current.CancellationToken);

        Assert.True(result.Succeeded);
        Assert.Equal("sim://xenhost-01", runner.Target.ToString());
        Assert.Equal(runner.Target, result.Target);
        Assert.Single(runner.History);
    }

    [Fact]
    public async Task A_fault_that_fails_once_fails_the_first_matching_command_only()
    {
        var (runner, _) = Create();
        await using var _ = runner;
        var vm = runner.Host.Vm(DefaultDevices.PvVmName).Uuid.ToString();
        runner.Faults.FailCommand("xe vm-start", "The host toolstack is still initialising. Please wait.");

        var listed = await runner.RunAsync(Xe("vm-list"), TestContext.Current.CancellationToken);
        var first = await runner.RunAsync(Xe("vm-start", "uuid=" + vm), TestContext.Current.CancellationToken);
        var second = await runner.RunAsync(Xe("vm-start", "uuid=" + vm), TestContext.Current.CancellationToken);

        Assert.True(listed.Succeeded);
        Assert.Equal(1, first.ExitCode);
        Assert.Equal("The host toolstack is still initialising. Please wait.\n", first.StandardError);
        Assert.True(second.Succeeded);
        Assert.Empty(runner.Faults.Armed);
    }

    [Fact]
    public async Task A_fault_can_hit_n_times_or_always()
    {
        var (runner, _) = Create();
        await using var _ = runner;
        runner.Faults.FailCommand("lspci", "lspci: Cannot open /sys/bus/pci/devices", times: 2, exitCode: 2);
        runner.Faults.FailCommand("xl info", "xc: error: Could not obtain handle on privileged command interface", times: SimulatedFaults.Always);

        var codes = new List<int>();
        for (var i = 0; i < 3; i++)
        {
            codes.Add((await runner.RunAsync(new CommandRequest("lspci", "-Dnn"), TestContext.Current.CancellationToken)).ExitCode);
            codes.Add((await runner.RunAsync(new CommandRequest("xl", "info"), TestContext.Current.CancellationToken)).ExitCode);
        }

        Assert.Equal([2, 1, 2, 1, 0, 1], codes);
        Assert.Equal(0, (await runner.RunAsync(new CommandRequest("xl", "dmesg"), TestContext.Current.CancellationToken)).ExitCode);
    }

    [Fact]
    public async Task A_hanging_command_times_out_at_the_request_timeout()
    {
        var (runner, time) = Create();
        await using var _ = runner;
        runner.Faults.HangCommand("xe vm-shutdown");
        var request = new CommandRequest("xe", "vm-shutdown", "uuid=" + runner.Host.Vm(DefaultDevices.PvVmName).Uuid) { Timeout = TimeSpan.FromSeconds(30) };

        var running = runner.RunAsync(request, TestContext.Current.CancellationToken);
        Assert.False(running.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(29));
        Assert.False(running.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));

        var error = await Assert.ThrowsAsync<CommandTimeoutException>(() => running);
        Assert.Equal(TimeSpan.FromSeconds(30), error.Timeout);
        Assert.Equal(runner.Target, error.Target);
    }

    [Fact]
    public async Task A_hanging_command_ends_when_cancelled()
    {
        var (runner, _) = Create();
        await using var _ = runner;
        runner.Faults.HangCommand("xe");
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);

        var running = runner.RunAsync(Xe("vm-list"), cancel.Token);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
    }

    [Fact]
    public async Task A_dropped_connection_throws_connection_lost()
    {
        var (runner, _) = Create();
        await using var _ = runner;
        runner.Faults.DropConnection("xe host-evacuate");

        await Assert.ThrowsAsync<ConnectionLostException>(() => runner.RunAsync(Xe("host-evacuate", "uuid=" + runner.Host.Uuid), TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Latency_is_waited_on_the_clock_and_reported_as_elapsed()
    {
        var latency = new SimulatedLatency
        {
            Default = TimeSpan.FromMilliseconds(10),
            PerCommand = new Dictionary<string, TimeSpan> { ["xe"] = TimeSpan.FromSeconds(1), ["xe vm-start"] = TimeSpan.FromSeconds(8) },
            Scale = 0.5,
        };
        var (runner, time) = Create(latency: latency);
        await using var _ = runner;

        var start = runner.RunAsync(Xe("vm-start", "uuid=" + runner.Host.Vm(DefaultDevices.HvmVmName).Uuid), TestContext.Current.CancellationToken);
        time.Advance(TimeSpan.FromSeconds(3));
        Assert.False(start.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));

        var result = await start;
        Assert.True(result.Succeeded, result.StandardError);
        Assert.Equal(TimeSpan.FromSeconds(4), result.Elapsed);
        Assert.Equal(TimeSpan.FromSeconds(0.5), latency.For(Xe("vm-list")));
        Assert.Equal(TimeSpan.FromMilliseconds(5), latency.For(new CommandRequest("cat", "/proc/cmdline")));
        Assert.Equal(TimeSpan.Zero, SimulatedLatency.Realistic.Scaled(0).For(Xe("vm-start")));
    }

    [Fact]
    public async Task While_the_host_reboots_every_command_is_refused_then_it_comes_back_with_a_new_boot_id()
    {
        var (runner, time) = Create();
        await using var _ = runner;
        var ct = TestContext.Current.CancellationToken;
        var bootId = (await runner.RunAsync(new CommandRequest("cat", "/proc/sys/kernel/random/boot_id"), ct)).StandardOutput;
        await runner.RunCheckedAsync(Xe("host-disable", "uuid=" + runner.Host.Uuid), ct);
        await runner.RunCheckedAsync(Xe("host-reboot", "uuid=" + runner.Host.Uuid), ct);

        var refused = await Assert.ThrowsAsync<ConnectionRefusedException>(() => runner.RunAsync(new CommandRequest("cat", "/proc/cmdline"), ct));
        Assert.Equal(runner.Target, refused.Target);

        time.Advance(runner.Host.Timings.RebootDowntime);
        var initialising = await runner.RunAsync(Xe("host-param-get", "uuid=" + runner.Host.Uuid, "param-name=enabled"), ct);
        Assert.Equal("The host toolstack is still initialising. Please wait.\n", initialising.StandardError);

        time.Advance(runner.Host.Timings.XapiInitialising);
        Assert.Equal("true\n", (await runner.RunCheckedAsync(Xe("host-param-get", "uuid=" + runner.Host.Uuid, "param-name=enabled"), ct)).StandardOutput);
        Assert.NotEqual(bootId, (await runner.RunAsync(new CommandRequest("cat", "/proc/sys/kernel/random/boot_id"), ct)).StandardOutput);
    }

    [Fact]
    public async Task A_host_that_never_returns_refuses_connections_forever()
    {
        var (runner, time) = Create();
        await using var _ = runner;
        var ct = TestContext.Current.CancellationToken;
        runner.Faults.NeverReturnFromReboot();
        await runner.RunCheckedAsync(Xe("host-disable", "uuid=" + runner.Host.Uuid), ct);
        await runner.RunCheckedAsync(Xe("host-reboot", "uuid=" + runner.Host.Uuid), ct);

        time.Advance(TimeSpan.FromDays(1));

        await Assert.ThrowsAsync<ConnectionRefusedException>(() => runner.RunAsync(new CommandRequest("cat", "/proc/sys/kernel/random/boot_id"), ct));
        Assert.False(runner.Dom0.IsReachable());
    }

    [Fact]
    public async Task Flr_timeout_fails_the_pciback_bind_and_logs_the_kernel_warning()
    {
        var (runner, _) = Create();
        await using var _ = runner;
        var ct = TestContext.Current.CancellationToken;
        runner.Faults.FlrTimesOut(DefaultDevices.PassthroughNic);
        const string Bdf = "0000:03:00.0";
        await runner.RunCheckedAsync(new CommandRequest("tee", $"/sys/bus/pci/devices/{Bdf}/driver/unbind") { StandardInput = Bdf }, ct);
        await runner.RunCheckedAsync(new CommandRequest("tee", "/sys/bus/pci/drivers/pciback/new_slot") { StandardInput = Bdf }, ct);

        var bind = await runner.RunAsync(new CommandRequest("tee", "/sys/bus/pci/drivers/pciback/bind") { StandardInput = Bdf }, ct);

        Assert.Equal(1, bind.ExitCode);
        Assert.Equal("tee: /sys/bus/pci/drivers/pciback/bind: No such device\n", bind.StandardError);
        Assert.Contains("pciback 0000:03:00.0: timed out waiting for pending transaction: performing function level reset anyway", (await runner.RunAsync(new CommandRequest("dmesg"), ct)).StandardOutput, StringComparison.Ordinal);
        Assert.Null(runner.Host.Function(DefaultDevices.PassthroughNic).BoundDriver);

        runner.Faults.Clear();
        Assert.True((await runner.RunAsync(new CommandRequest("tee", "/sys/bus/pci/drivers/pciback/bind") { StandardInput = Bdf }, ct)).Succeeded);
    }

    [Fact]
    public async Task A_device_that_fails_to_bind_stays_unbound()
    {
        var (runner, _) = Create();
        await using var _ = runner;
        var ct = TestContext.Current.CancellationToken;
        runner.Faults.DeviceFailsToBind(DefaultDevices.UsbController);
        const string Bdf = "0000:00:14.0";
        await runner.RunCheckedAsync(new CommandRequest("tee", "/sys/bus/pci/drivers/xhci_hcd/unbind") { StandardInput = Bdf }, ct);

        var bind = await runner.RunAsync(new CommandRequest("tee", "/sys/bus/pci/drivers/xhci_hcd/bind") { StandardInput = Bdf }, ct);

        Assert.Equal("tee: /sys/bus/pci/drivers/xhci_hcd/bind: No such device\n", bind.StandardError);
        Assert.Null(runner.Host.Function(DefaultDevices.UsbController).BoundDriver);
    }

    [Fact]
    public async Task A_disposed_runner_refuses_work()
    {
        var (runner, _) = Create();
        await runner.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => runner.RunAsync(new CommandRequest("true"), TestContext.Current.CancellationToken));
    }
}

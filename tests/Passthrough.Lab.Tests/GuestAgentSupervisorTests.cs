using System.Collections.Concurrent;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Passthrough.Contracts.GuestEvents;
using Passthrough.Contracts.Ids;
using Passthrough.GuestAgent;
using Passthrough.GuestAgent.MassTransit;
using Passthrough.Xen;

namespace Passthrough.Lab.Tests;

// The supervisor on an in-memory MassTransit bus: VMs started and stopped through the simulated dom0 (as a host agent
// would), agents observed through the GuestBooted events they publish.
public sealed class GuestAgentSupervisorTests : IAsyncLifetime
{
    private static readonly GuestAgentSettings Fast = new() { HeartbeatInterval = TimeSpan.FromSeconds(1), WatchInterval = TimeSpan.FromMilliseconds(100) };

    private readonly ConcurrentQueue<GuestBooted> _booted = new();
    private SimulatedFleet? _fleet;
    private IHost? _host;

    private static readonly Action<GuestAgentSupervisorOptions> SlowPolls = o =>
    {
        o.PollInterval = TimeSpan.FromSeconds(30);
        o.MaxBackoff = TimeSpan.FromSeconds(30);
    };

    private bool _started;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private SimulatedFleet Fleet => _fleet ?? throw new InvalidOperationException("No fleet.");

    private GuestAgentFleet Agents => _host!.Services.GetRequiredService<GuestAgentFleet>();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        if (_host is not null)
        {
            if (_started)
            {
                await _host.StopAsync(CancellationToken.None);
            }

            _host.Dispose();
        }

        if (_fleet is not null)
        {
            await _fleet.DisposeAsync();
        }
    }

    private async Task StartAsync(FleetSpec spec, Action<GuestAgentSupervisorOptions>? configure = null)
    {
        _fleet = SimulatedFleet.Create(spec);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, EnvironmentName = "Development" });
        builder.Services.AddOptions<MassTransitHostOptions>().Configure(o => o.WaitUntilStarted = true);
        builder.Services.AddMassTransit(x =>
        {
            x.DisableUsageTelemetry();
            x.UsingInMemory((_, cfg) => cfg.ReceiveEndpoint($"lab-tests-{Guid.NewGuid():N}", e => e.Handler<GuestBooted>(c =>
            {
                _booted.Enqueue(c.Message);
                return Task.CompletedTask;
            })));
        });
        builder.Services.AddSimulatedFleet(_fleet, o =>
        {
            o.PollInterval = TimeSpan.FromMilliseconds(50);
            configure?.Invoke(o);
        }, agents => agents.Settings = Fast);
        _host = builder.Build();
        await _host.StartAsync(Ct);
        _started = true;
    }

    private async Task<GuestBooted> BootedAsync(VmId vm, Func<GuestBooted, bool>? match = null)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            var found = _booted.FirstOrDefault(m => m.Vm == vm && (match is null || match(m)));
            if (found is not null)
            {
                return found;
            }

            Assert.True(DateTime.UtcNow < deadline, $"No GuestBooted from VM {vm} within 20 s.");
            await Task.Delay(20, Ct);
        }
    }

    private static async Task EventuallyAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for: {what}");
            await Task.Delay(20, Ct);
        }
    }

    [Fact]
    public async Task Starting_a_vm_starts_its_agent_which_reports_the_boot_and_stopping_it_stops_the_agent()
    {
        await StartAsync(new FleetSpec { VmsPerHost = 2 });
        var vm = Fleet.Vms[0];
        var driver = new Dom0Driver(vm.Host.Runner);

        Assert.Empty(Agents.Agents);
        await driver.StartVmAsync(vm.VmId, Ct);
        var booted = await BootedAsync(vm.VmId);

        Assert.Equal(vm.Guest.BootId, booted.BootId);
        Assert.Equal(Passthrough.Contracts.Messaging.GuestType.PV, booted.GuestType);
        Assert.True(Agents.Agents.ContainsKey(vm.VmId));
        Assert.False(Agents.Agents.ContainsKey(Fleet.Vms[1].VmId), "a halted VM has no agent");

        await driver.ShutdownVmAsync(vm.VmId, TimeSpan.FromSeconds(30), allowForce: false, Ct);
        await EventuallyAsync(() => !Agents.Agents.ContainsKey(vm.VmId), "the agent of the halted VM to stop");
        await EventuallyAsync(() => !Directory.Exists(vm.Guest.Root), "the halted VM's tree to go");

        Assert.Null(vm.Guest.BootId);
    }

    [Fact]
    public async Task A_restarted_vm_gets_a_new_boot_id_and_a_new_boot_report()
    {
        await StartAsync(new FleetSpec { VmsPerHost = 2 });
        var vm = Fleet.Vms[1];
        var driver = new Dom0Driver(vm.Host.Runner);
        await driver.StartVmAsync(vm.VmId, Ct);
        var first = await BootedAsync(vm.VmId);

        await driver.ShutdownVmAsync(vm.VmId, TimeSpan.FromSeconds(30), allowForce: false, Ct);
        await EventuallyAsync(() => !Agents.Agents.ContainsKey(vm.VmId), "the agent of the halted VM to stop");
        await driver.StartVmAsync(vm.VmId, Ct);
        var second = await BootedAsync(vm.VmId, m => m.BootId != first.BootId);

        Assert.Equal(vm.Guest.BootId, second.BootId);
        Assert.Equal(2, _booted.Count(m => m.Vm == vm.VmId));
        Assert.Equal(second.BootId, Agents.Agents[vm.VmId].Logic.BootId);
    }

    [Fact]
    public async Task A_vm_booted_again_between_two_polls_gets_its_agent_restarted()
    {
        // A slow poll so that the stop and start both happen between two passes: only the boot id tells.
        await StartAsync(new FleetSpec { VmsPerHost = 1 }, SlowPolls);
        var supervisor = _host!.Services.GetRequiredService<GuestAgentSupervisor>();
        var vm = Fleet.Vms[0];
        var driver = new Dom0Driver(vm.Host.Runner);
        await driver.StartVmAsync(vm.VmId, Ct);
        await supervisor.ReconcileAsync(Ct);
        var first = await BootedAsync(vm.VmId);

        await driver.ShutdownVmAsync(vm.VmId, TimeSpan.FromSeconds(30), allowForce: false, Ct);
        await driver.StartVmAsync(vm.VmId, Ct);
        Assert.Equal(0, await supervisor.ReconcileAsync(Ct));
        var second = await BootedAsync(vm.VmId, m => m.BootId != first.BootId);

        Assert.Equal(vm.Guest.BootId, second.BootId);
    }

    [Fact]
    public async Task A_vm_whose_agent_never_starts_gets_none_while_the_others_do()
    {
        await StartAsync(new FleetSpec { VmsPerHost = 3 });
        var silent = Fleet.Vms[1];
        var other = Fleet.Vms[2];
        silent.Guest.Faults.AgentNeverStarts = true;
        var driver = new Dom0Driver(silent.Host.Runner);

        await driver.StartVmAsync(silent.VmId, Ct);
        await driver.StartVmAsync(other.VmId, Ct);
        await BootedAsync(other.VmId);
        // A whole pass after both started: the supervisor has looked at the silent VM at least once since.
        await _host!.Services.GetRequiredService<GuestAgentSupervisor>().ReconcileAsync(Ct);

        Assert.NotNull(silent.Guest.BootId);
        Assert.False(Agents.Agents.ContainsKey(silent.VmId));
        Assert.DoesNotContain(_booted, m => m.Vm == silent.VmId);
    }

    [Fact]
    public async Task A_vm_that_cannot_be_supervised_does_not_hold_up_the_others()
    {
        await StartAsync(new FleetSpec { VmsPerHost = 2 }, SlowPolls);
        var supervisor = _host!.Services.GetRequiredService<GuestAgentSupervisor>();
        var (broken, healthy) = (Fleet.Vms[0], Fleet.Vms[1]);
        await new Dom0Driver(healthy.Host.Runner).StartVmAsync(healthy.VmId, Ct);
        // The broken VM's record vanishes from the host: its guest can no longer say whether it runs.
        broken.Host.Host.Mutate(h => h.Vms.RemoveAll(v => v.Uuid == broken.VmId.Uuid));

        var failed = await supervisor.ReconcileAsync(Ct);

        Assert.Equal(1, failed);
        Assert.True(Agents.Agents.ContainsKey(healthy.VmId));
    }

    [Fact]
    public async Task Invalid_supervisor_options_stop_the_host_at_start_with_the_key_named()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() =>
            StartAsync(new FleetSpec(), o => o.PollInterval = TimeSpan.Zero));

        Assert.Contains("PollInterval must be positive", error.Message, StringComparison.Ordinal);
    }
}

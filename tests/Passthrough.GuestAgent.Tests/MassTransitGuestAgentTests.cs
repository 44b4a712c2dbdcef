using System.Collections.Concurrent;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Passthrough.Contracts.GuestCommands;
using Passthrough.Contracts.GuestEvents;
using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Messaging;
using Passthrough.GuestAgent.MassTransit;
using Passthrough.GuestAgent.Tests.Infrastructure;

namespace Passthrough.GuestAgent.Tests;

/// <summary>The same agent logic hosted on the lab's MassTransit bus, one agent per simulated VM.</summary>
public sealed class MassTransitGuestAgentTests : IAsyncLifetime
{
    private static readonly GuestAgentSettings Fast = new() { HeartbeatInterval = TimeSpan.FromMilliseconds(200), WatchInterval = TimeSpan.FromMilliseconds(50) };

    private readonly ConcurrentQueue<object> _events = new();
    private readonly List<GuestTree> _trees = [];
    private readonly List<VmId> _vms = [];
    private IHost? _host;
    private bool _rabbitMq;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.StopAsync(CancellationToken.None);
            _host.Dispose();
        }

        foreach (var tree in _trees)
        {
            tree.Dispose();
        }

        if (_rabbitMq)
        {
            var queues = _vms.Select(GuestAgentQueues.ForVm).ToList();
            await RabbitMqBroker.DeleteAsync(queues, queues);
        }
    }

    private async Task<(VmId Vm, GuestTree Tree)> StartHostAsync(bool rabbitMq)
    {
        _rabbitMq = rabbitMq;
        if (rabbitMq)
        {
            await RabbitMqBroker.EnsureReachableAsync();
        }

        var vm = new VmId(XenUuid.NewUuid());
        var tree = GuestTree.Pv(GuestTree.UsbController);
        _trees.Add(tree);
        _vms.Add(vm);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, EnvironmentName = "Development" });
        builder.Services.AddOptions<MassTransitHostOptions>().Configure(o => o.WaitUntilStarted = true);
        builder.Services.AddMassTransit(x =>
        {
            x.DisableUsageTelemetry();
            void Endpoint(IReceiveEndpointConfigurator e)
            {
                e.Handler<GuestBooted>(c => Record(c.Message));
                e.Handler<GuestHeartbeat>(c => Record(c.Message));
                e.Handler<GuestDevicesVerified>(c => Record(c.Message));
                e.Handler<GuestFaultDetected>(c => Record(c.Message));
            }

            var name = $"guest-agent-fleet-tests-{Guid.NewGuid():N}";
            if (rabbitMq)
            {
                x.UsingRabbitMq((_, cfg) =>
                {
                    cfg.Host(RabbitMqBroker.Uri);
                    cfg.ReceiveEndpoint(name, e =>
                    {
                        e.AutoDelete = true;
                        e.Durable = false;
                        Endpoint(e);
                    });
                });
            }
            else
            {
                x.UsingInMemory((_, cfg) => cfg.ReceiveEndpoint(name, Endpoint));
            }
        });
        builder.Services.AddGuestAgent(o =>
        {
            o.Settings = Fast;
            o.LinuxGuests[vm] = tree.Root;
        });
        _host = builder.Build();
        await _host.StartAsync(TestContext.Current.CancellationToken);
        return (vm, tree);
    }

    private Task Record(object message)
    {
        _events.Enqueue(message);
        return Task.CompletedTask;
    }

    private async Task<T> WaitForAsync<T>(Func<T, bool> match)
    {
        await Eventually.TrueAsync(() => _events.OfType<T>().Any(match), TimeSpan.FromSeconds(20), $"a {typeof(T).Name}");
        return _events.OfType<T>().First(match);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_simulated_vms_agent_reports_its_boot_answers_verification_and_reports_faults(bool rabbitMq)
    {
        var (vm, tree) = await StartHostAsync(rabbitMq);
        var bus = _host!.Services.GetRequiredService<IBus>();

        var booted = await WaitForAsync<GuestBooted>(m => m.Vm == vm);
        await WaitForAsync<GuestHeartbeat>(m => m.Vm == vm);
        var command = new VerifyGuestDevices(Guid.NewGuid(), SagaStep.Verify, 1, Guid.NewGuid(), vm, [new ExpectedDevice(GuestTree.UsbController.Id, null, "ehci-pci")], null, true);
        var endpoint = await bus.GetSendEndpoint(new Uri($"queue:{GuestAgentQueues.ForVm(vm)}"));
        await endpoint.Send(command, TestContext.Current.CancellationToken);
        var verified = await WaitForAsync<GuestDevicesVerified>(m => m.CommandId == command.CommandId);
        tree.RemovePcifrontDriver();
        var fault = await WaitForAsync<GuestFaultDetected>(m => m.Vm == vm);

        Assert.Equal(tree.BootId, booted.BootId);
        Assert.True(verified.Verified, string.Join("; ", verified.Problems.Select(p => p.Message)));
        Assert.Equal(command.SagaId, verified.SagaId);
        Assert.Equal(GuestFaultKind.PcifrontGone, fault.Kind);
    }

    [Fact]
    public async Task The_fleet_starts_and_stops_agents_as_simulated_vms_boot_and_stop()
    {
        await StartHostAsync(rabbitMq: false);
        var fleet = _host!.Services.GetRequiredService<GuestAgentFleet>();
        var vm = new VmId(XenUuid.NewUuid());
        var tree = GuestTree.Pv();
        _trees.Add(tree);

        var agent = await fleet.StartLinuxAsync(vm, tree.Root, Fast, TestContext.Current.CancellationToken);
        await WaitForAsync<GuestBooted>(m => m.Vm == vm && m.BootId == tree.BootId);
        await Assert.ThrowsAsync<InvalidOperationException>(() => fleet.StartLinuxAsync(vm, tree.Root, Fast, TestContext.Current.CancellationToken));

        Assert.Same(agent, fleet.Agents[vm]);
        Assert.True(await fleet.StopAsync(vm));
        Assert.False(fleet.Agents.ContainsKey(vm));
        Assert.False(await fleet.StopAsync(vm));

        // Stopped means silent: no heartbeat after the stop.
        var heartbeats = _events.OfType<GuestHeartbeat>().Count(m => m.Vm == vm);
        await Task.Delay(Fast.HeartbeatInterval * 3, TestContext.Current.CancellationToken);
        Assert.Equal(heartbeats, _events.OfType<GuestHeartbeat>().Count(m => m.Vm == vm));
    }
}

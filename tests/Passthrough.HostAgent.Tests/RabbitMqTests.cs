using Passthrough.Contracts.HostEvents;
using Passthrough.Contracts.Messaging;
using Passthrough.Simulation;
using Passthrough.Testing;

namespace Passthrough.HostAgent.Tests;

/// <summary>The agent over a real RabbitMQ broker (a throwaway virtual host).</summary>
public sealed class RabbitMqTests
{
    [Fact]
    public async Task Detach_and_undo_round_trip_over_rabbitmq()
    {
        await using var vhost = await RabbitMqVirtualHost.CreateAsync("host-agent", AgentHost.Ct);
        var sim = new SimHost();
        await using var agent = await AgentHost.StartAsync([sim], rabbitMq: vhost.Uri);
        var before = sim.Capture();

        var detached = await agent.AskAsync<PciDevicesDetached>(sim.Id, DetachTests.Detach(sim, HideMode.Dynamic, DefaultDevices.PassthroughNic), TimeSpan.FromSeconds(30));
        Assert.Equal("pciback", sim.DriverOf(DefaultDevices.PassthroughNic));

        await agent.AskAsync<PciDetachUndone>(sim.Id, DetachTests.Undo(sim, detached.Record), TimeSpan.FromSeconds(30));
        Assert.Equal(before, sim.Capture());
        await agent.Events.WaitForAsync<HostInventoryReported>(r => r.Host == sim.Id);
    }
}

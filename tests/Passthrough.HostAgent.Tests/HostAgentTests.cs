using System.Diagnostics;
using Passthrough.Contracts.HostCommands;
using Passthrough.Contracts.HostEvents;
using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Messaging;
using Passthrough.HostAgent.Commands;
using Passthrough.Simulation;
using Passthrough.Simulation.Model;

namespace Passthrough.HostAgent.Tests;

/// <summary>The agent on a bus: idempotency, failures, hosts it does not serve, the wrong host, inventory, heartbeats, parallel hosts.</summary>
public sealed class HostAgentTests
{
    private static readonly Guid Saga = Guid.NewGuid();

    [Fact]
    public async Task A_repeated_command_id_is_answered_from_the_record_without_touching_dom0()
    {
        var sim = new SimHost();
        await using var agent = await AgentHost.StartAsync(sim);
        var vm = sim.Vm(DefaultDevices.PvVmName);
        var assign = new AssignPciDevices(Saga, SagaStep.Assign, 1, Guid.NewGuid(), sim.Id, vm, [DefaultDevices.PassthroughNic]);
        var first = await agent.AskAsync<VmPciKeyChanged>(sim.Id, assign);
        Assert.Equal("0/0000:03:00.0", first.NewValue);
        // Someone changes the key by hand: a re-execution would now answer differently, the record answers the same.
        sim.Model.Mutate(h => h.Vm(DefaultDevices.PvVmName).OtherConfig.Remove("pci"));
        var commandsBefore = sim.Runner.History.Count;

        await agent.SendAsync(sim.Id, assign);
        var second = await agent.Events.WaitForAsync<VmPciKeyChanged>(r => r.CommandId == assign.CommandId, skip: 1);

        Assert.Equal(first, second with { });
        Assert.Equal(first.PreviousValue, second.PreviousValue);
        Assert.Equal(first.NewValue, second.NewValue);
        // The agent's own monitor may read the host meanwhile (inventory, identity); nothing of the assign may run again.
        Assert.DoesNotContain(sim.Runner.History.Skip(commandsBefore), r => r.Request.Display.Contains("vm-param", StringComparison.Ordinal));
        Assert.Null(sim.Model.Read(h => h.Vm(DefaultDevices.PvVmName).OtherConfig.GetValueOrDefault("pci")));
    }

    [Fact]
    public async Task A_recorded_reply_survives_an_agent_restart()
    {
        var sim = new SimHost();
        var records = Directory.CreateTempSubdirectory("host-agent-restart-").FullName;
        var detach = DetachTests.Detach(sim, HideMode.Dynamic, DefaultDevices.PassthroughNic);
        PciDevicesDetached first;
        await using (var agent = await AgentHost.StartAsync([sim], recordDirectory: records))
        {
            first = await agent.AskAsync<PciDevicesDetached>(sim.Id, detach);
        }

        var commandsBefore = sim.Runner.History.Count;
        await using (var restarted = await AgentHost.StartAsync([sim], recordDirectory: records))
        {
            var again = await restarted.AskAsync<PciDevicesDetached>(sim.Id, detach);
            Assert.Equal(first.Record.Bindings, again.Record.Bindings);
            Assert.Equal(first.Record.NewHideList, again.Record.NewHideList);
        }

        // Only the restarted agent's own monitoring (identity, inventory, heartbeat) ran: no command of the detach.
        Assert.DoesNotContain(sim.Runner.History.Skip(commandsBefore), r => r.Request.Program == "tee" || r.Request.Display.Contains("--set-dom0", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_hung_dom0_command_answers_timeout_and_the_next_command_still_runs()
    {
        var sim = new SimHost();
        sim.Runner.Faults.HangCommand("xe vm-param-set");
        await using var agent = await AgentHost.StartAsync(sim, o => o.Dom0 = new HostAgentDom0Options { CommandTimeout = TimeSpan.FromMilliseconds(500) });
        var vm = sim.Vm(DefaultDevices.PvVmName);

        var hung = await agent.AskAsync<HostCommandFailed>(sim.Id, new AssignPciDevices(Saga, SagaStep.Assign, 1, Guid.NewGuid(), sim.Id, vm, [DefaultDevices.PassthroughNic]));
        Assert.Equal(FailureCause.Timeout, hung.Failure.Cause);

        var next = await agent.AskAsync<VmPciKeyChanged>(sim.Id, new AssignPciDevices(Saga, SagaStep.Assign, 2, Guid.NewGuid(), sim.Id, vm, [DefaultDevices.PassthroughNic]));
        Assert.Equal("0/0000:03:00.0", next.NewValue);
    }

    [Fact]
    public async Task A_command_for_a_host_the_agent_does_not_serve_is_refused_naming_it()
    {
        var sim = new SimHost();
        await using var agent = await AgentHost.StartAsync(sim);
        var other = HostId.Parse("11111111-2222-3333-4444-555555555555");
        var command = new StartVm(Saga, SagaStep.Start, 1, Guid.NewGuid(), other, sim.Vm(DefaultDevices.PvVmName));

        // Sent to the served host's queue, but naming another host.
        var failed = await agent.AskAsync<HostCommandFailed>(sim.Id, command);

        Assert.Equal(FailureCause.InvalidInput, failed.Failure.Cause);
        Assert.Contains(other.ToString(), failed.Failure.Message, StringComparison.Ordinal);
        Assert.Equal(VmPowerState.Halted, sim.Model.Read(h => h.Vm(DefaultDevices.PvVmName).PowerState));
    }

    [Fact]
    public async Task A_host_whose_uuid_is_not_the_configured_one_gets_no_command_executed()
    {
        var sim = new SimHost();
        var wrongId = HostId.Parse("0badc0de-0000-4000-8000-000000000001");
        await using var agent = await AgentHost.StartAsync([], o => o.AddHost(wrongId, sim.Runner));
        var before = sim.Capture();

        var failed = await agent.AskAsync<HostCommandFailed>(wrongId, new StartVm(Saga, SagaStep.Start, 1, Guid.NewGuid(), wrongId, sim.Vm(DefaultDevices.PvVmName)));

        Assert.Equal(FailureCause.InvalidInput, failed.Failure.Cause);
        Assert.Contains(sim.Id.ToString(), failed.Failure.Message, StringComparison.Ordinal);
        Assert.Contains("not the configured host", failed.Failure.Message, StringComparison.Ordinal);
        Assert.Equal(before, sim.Capture());
        Assert.DoesNotContain(sim.Runner.History, r => r.Request.Display.Contains("vm-start", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_inventory_is_published_at_start_and_again_after_a_change()
    {
        var sim = new SimHost();
        await using var agent = await AgentHost.StartAsync(sim);
        var initial = await agent.Events.WaitForAsync<HostInventoryReported>(r => r.Host == sim.Id);
        Assert.Equal("igb", initial.Devices.Single(d => d.Address == DefaultDevices.PassthroughNic).Driver);

        await agent.AskAsync<PciDevicesDetached>(sim.Id, DetachTests.Detach(sim, HideMode.Dynamic, DefaultDevices.PassthroughNic));

        var changed = await agent.Events.WaitForAsync<HostInventoryReported>(r => r.Host == sim.Id, skip: 1);
        Assert.Equal("pciback", changed.Devices.Single(d => d.Address == DefaultDevices.PassthroughNic).Driver);
    }

    [Fact]
    public async Task An_inventory_that_did_not_change_is_not_published_again()
    {
        var sim = new SimHost();
        await using var agent = await AgentHost.StartAsync(sim, o => o.InventoryInterval = TimeSpan.FromMilliseconds(100));
        await agent.Events.WaitForAsync<HostInventoryReported>(r => r.Host == sim.Id);
        var reads = sim.Runner.History.Count(r => r.Request.Display.Contains("xensource-inventory", StringComparison.Ordinal));

        // Several re-reads happen (polling with a deadline), none publishes.
        var deadline = Stopwatch.StartNew();
        while (sim.Runner.History.Count(r => r.Request.Display.Contains("xensource-inventory", StringComparison.Ordinal)) < reads + 3 && deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(20, AgentHost.Ct);
        }

        Assert.Single(agent.Events.All.OfType<HostInventoryReported>());
    }

    [Fact]
    public async Task Heartbeats_say_unreachable_when_the_host_drops_connections_and_the_loop_survives()
    {
        var sim = new SimHost();
        await using var agent = await AgentHost.StartAsync(sim, o => o.HeartbeatInterval = TimeSpan.FromMilliseconds(100));
        var up = await agent.Events.WaitForAsync<HostHeartbeat>(h => h.Reachable);
        Assert.Equal(sim.Model.Read(h => h.BootId.ToString()), up.BootId);

        sim.Runner.Faults.DropConnection("cat", SimulatedFaults.Always);
        var down = await agent.Events.WaitForAsync<HostHeartbeat>(h => !h.Reachable);
        Assert.Equal(sim.Id, down.Host);

        sim.Runner.Faults.Clear();
        var reachableBefore = agent.Events.All.OfType<HostHeartbeat>().Count(h => h.Reachable);
        await agent.Events.WaitForAsync<HostHeartbeat>(h => h.Reachable, skip: reachableBefore, timeout: TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task Two_hosts_are_served_by_one_agent_in_parallel()
    {
        var first = new SimHost(seed: 1, name: "xenhost-01");
        var second = new SimHost(ProductProfile.XenServer71, seed: 2, name: "xenhost-02");
        // The first host's command hangs until its timeout: the second host's command must not wait behind it.
        first.Runner.Faults.HangCommand("xe vm-start");
        await using var agent = await AgentHost.StartAsync([first, second], o => o.Dom0 = new HostAgentDom0Options { VmStartTimeout = TimeSpan.FromSeconds(20) });
        var hung = new StartVm(Saga, SagaStep.Start, 1, Guid.NewGuid(), first.Id, first.Vm(DefaultDevices.PvVmName));
        await agent.SendAsync(first.Id, hung);

        var clock = Stopwatch.StartNew();
        var started = await agent.AskAsync<VmStarted>(second.Id, new StartVm(Saga, SagaStep.Start, 1, Guid.NewGuid(), second.Id, second.Vm(DefaultDevices.PvVmName)));

        Assert.True(started.WasHalted);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"the second host waited {clock.Elapsed} behind the first");
        var timedOut = await agent.Events.WaitForAsync<HostCommandFailed>(f => f.CommandId == hung.CommandId, timeout: TimeSpan.FromSeconds(60));
        Assert.Equal(FailureCause.Timeout, timedOut.Failure.Cause);
    }

    [Fact]
    public async Task Snapshot_reuses_the_snapshot_a_crashed_run_of_the_same_command_took()
    {
        var sim = new SimHost();
        await using var agent = await AgentHost.StartAsync(sim);
        var vm = sim.Vm(DefaultDevices.PvVmName);
        var command = new SnapshotVm(Saga, SagaStep.Snapshot, 1, Guid.NewGuid(), sim.Id, vm, "before-passthrough");
        // The first run took the snapshot, then the agent died before recording its answer.
        var taken = sim.Runner.Dom0.Execute(new Shell.CommandRequest("xe", "vm-snapshot", $"uuid={vm}", $"new-name-label={VmCommandHandlers.SnapshotNameOf(command)}")).StandardOutput.Trim();

        var reply = await agent.AskAsync<VmSnapshotted>(sim.Id, command);

        Assert.Equal(taken, reply.Snapshot.ToString());
        Assert.Equal(1, sim.Model.Read(h => h.Vm(DefaultDevices.PvVmName).Snapshots.Count));
    }
}

using Passthrough.Contracts.HostCommands;
using Passthrough.Contracts.HostEvents;
using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Messaging;
using Passthrough.Contracts.Pci;
using Passthrough.Simulation;
using Passthrough.Simulation.Model;

namespace Passthrough.HostAgent.Tests;

/// <summary>Each VM and host command's happy path changes the simulated host as expected.</summary>
public sealed class VmCommandTests
{
    private static readonly Guid Saga = Guid.NewGuid();

    [Fact]
    public async Task Snapshot_revert_and_destroy_change_the_vm_as_asked()
    {
        var sim = new SimHost();
        await using var agent = await AgentHost.StartAsync(sim);
        var vm = sim.Vm(DefaultDevices.PvVmName);

        var snapshot = await agent.AskAsync<VmSnapshotted>(sim.Id, new SnapshotVm(Saga, SagaStep.Snapshot, 1, Guid.NewGuid(), sim.Id, vm, "pre-passthrough"));
        Assert.Contains("pre-passthrough", sim.Model.Read(h => h.Vm(DefaultDevices.PvVmName).Snapshots.Single().NameLabel), StringComparison.Ordinal);

        await agent.AskAsync<VmPciKeyChanged>(sim.Id, new AssignPciDevices(Saga, SagaStep.Assign, 1, Guid.NewGuid(), sim.Id, vm, [DefaultDevices.PassthroughNic]));
        await agent.AskAsync<VmSnapshotReverted>(sim.Id, new RevertVmSnapshot(Saga, SagaStep.UndoSnapshot, 1, Guid.NewGuid(), sim.Id, vm, snapshot.Snapshot));
        Assert.Null(sim.Model.Read(h => h.Vm(DefaultDevices.PvVmName).OtherConfig.GetValueOrDefault("pci")));

        await agent.AskAsync<VmSnapshotDestroyed>(sim.Id, new DestroyVmSnapshot(Saga, SagaStep.Done, 1, Guid.NewGuid(), sim.Id, vm, snapshot.Snapshot));
        Assert.Equal(0, sim.Model.Read(h => h.Vm(DefaultDevices.PvVmName).Snapshots.Count));
        // Destroying again: already gone is the state asked for.
        await agent.AskAsync<VmSnapshotDestroyed>(sim.Id, new DestroyVmSnapshot(Saga, SagaStep.Done, 2, Guid.NewGuid(), sim.Id, vm, snapshot.Snapshot));
    }

    [Fact]
    public async Task Destroying_snapshots_by_name_removes_every_one_taken_under_it_and_nothing_else()
    {
        var sim = new SimHost();
        await using var agent = await AgentHost.StartAsync(sim);
        var vm = sim.Vm(DefaultDevices.PvVmName);
        var first = await agent.AskAsync<VmSnapshotted>(sim.Id, new SnapshotVm(Saga, SagaStep.Snapshot, 1, Guid.NewGuid(), sim.Id, vm, "passthrough-a"));
        var second = await agent.AskAsync<VmSnapshotted>(sim.Id, new SnapshotVm(Saga, SagaStep.Snapshot, 2, Guid.NewGuid(), sim.Id, vm, "passthrough-a"));
        var other = await agent.AskAsync<VmSnapshotted>(sim.Id, new SnapshotVm(Saga, SagaStep.Snapshot, 1, Guid.NewGuid(), sim.Id, vm, "passthrough-ab"));

        var destroyed = await agent.AskAsync<VmSnapshotsDestroyed>(sim.Id, new DestroySnapshotsNamed(Saga, SagaStep.UndoSnapshot, 1, Guid.NewGuid(), sim.Id, vm, "passthrough-a"));

        Assert.Equal(new HashSet<XenUuid> { first.Snapshot, second.Snapshot }, destroyed.Snapshots.ToHashSet());
        Assert.Equal([other.Snapshot.ToString()], sim.Model.Read(h => h.Vm(DefaultDevices.PvVmName).Snapshots.Select(x => x.Uuid.ToString()).ToList()));
        var again = await agent.AskAsync<VmSnapshotsDestroyed>(sim.Id, new DestroySnapshotsNamed(Saga, SagaStep.UndoSnapshot, 2, Guid.NewGuid(), sim.Id, vm, "passthrough-a"));
        Assert.Empty(again.Snapshots);
    }

    [Theory]
    [InlineData("passthrough-a [0b8a3f2e-5c1d-4e7f-9a6b-2d4c8e1f3a5b]", true)]
    [InlineData("passthrough-a", false)]
    [InlineData("passthrough-a [not-a-guid-at-all-but-36-characters-x]", false)]
    [InlineData("passthrough-ab [0b8a3f2e-5c1d-4e7f-9a6b-2d4c8e1f3a5b]", false)]
    [InlineData("passthrough-a [0b8a3f2e-5c1d-4e7f-9a6b-2d4c8e1f3a5b] copy", false)]
    public void Only_the_names_a_snapshot_command_gives_count_as_taken_under_a_name(string label, bool taken) =>
        Assert.Equal(taken, Commands.VmCommandHandlers.IsTakenUnder(label, "passthrough-a"));

    [Fact]
    public async Task Start_then_shutdown_report_what_they_changed()
    {
        var sim = new SimHost();
        await using var agent = await AgentHost.StartAsync(sim);
        var vm = sim.Vm(DefaultDevices.HvmVmName);

        var started = await agent.AskAsync<VmStarted>(sim.Id, new StartVm(Saga, SagaStep.Start, 1, Guid.NewGuid(), sim.Id, vm));
        Assert.True(started.WasHalted);
        Assert.NotNull(started.DomId);
        Assert.Equal(VmPowerState.Running, sim.Model.Read(h => h.Vm(DefaultDevices.HvmVmName).PowerState));
        var again = await agent.AskAsync<VmStarted>(sim.Id, new StartVm(Saga, SagaStep.Start, 2, Guid.NewGuid(), sim.Id, vm));
        Assert.False(again.WasHalted);

        var down = await agent.AskAsync<VmShutDown>(sim.Id, new ShutdownVm(Saga, SagaStep.Shutdown, 1, Guid.NewGuid(), sim.Id, vm, TimeSpan.FromSeconds(30), true));
        Assert.True(down.WasRunning);
        Assert.Equal(VmPowerState.Halted, sim.Model.Read(h => h.Vm(DefaultDevices.HvmVmName).PowerState));
        var downAgain = await agent.AskAsync<VmShutDown>(sim.Id, new ShutdownVm(Saga, SagaStep.Shutdown, 2, Guid.NewGuid(), sim.Id, vm, TimeSpan.FromSeconds(30), true));
        Assert.False(downAgain.WasRunning);
    }

    [Fact]
    public async Task Assign_unassign_and_restore_set_the_pci_key_exactly()
    {
        var sim = new SimHost(configure: b => b.WithVm("keeper", GuestType.PV, VmPowerState.Halted, new KeyValuePair<string, string>("pci", "0/0000:00:14.0")));
        await using var agent = await AgentHost.StartAsync(sim);
        var vm = sim.Vm("keeper");

        var assigned = await agent.AskAsync<VmPciKeyChanged>(sim.Id, new AssignPciDevices(Saga, SagaStep.Assign, 1, Guid.NewGuid(), sim.Id, vm, [DefaultDevices.PassthroughNic]));
        Assert.Equal("0/0000:00:14.0", assigned.PreviousValue);
        Assert.Equal("0/0000:00:14.0,0/0000:03:00.0", assigned.NewValue);

        var unassigned = await agent.AskAsync<VmPciKeyChanged>(sim.Id, new UnassignPciDevices(Saga, SagaStep.Unassign, 1, Guid.NewGuid(), sim.Id, vm, [DefaultDevices.PassthroughNic]));
        Assert.Equal("0/0000:00:14.0", unassigned.NewValue);

        var removed = await agent.AskAsync<VmPciKeyChanged>(sim.Id, new RestoreVmPciKey(Saga, SagaStep.UndoAssign, 1, Guid.NewGuid(), sim.Id, vm, null));
        Assert.Null(removed.NewValue);
        Assert.Null(sim.Model.Read(h => h.Vm("keeper").OtherConfig.GetValueOrDefault("pci")));
    }

    [Fact]
    public async Task Assign_to_a_running_vm_is_refused()
    {
        var sim = new SimHost(configure: b => b.WithVm("busy", GuestType.HVM, VmPowerState.Running));
        await using var agent = await AgentHost.StartAsync(sim);

        var failed = await agent.AskAsync<HostCommandFailed>(sim.Id, new AssignPciDevices(Saga, SagaStep.Assign, 1, Guid.NewGuid(), sim.Id, sim.Vm("busy"), [DefaultDevices.PassthroughNic]));

        Assert.Equal(FailureCause.InvalidInput, failed.Failure.Cause);
        Assert.Contains("Running", failed.Failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_attachment_lists_what_the_running_domain_has()
    {
        var sim = new SimHost(ProductProfile.XcpNg82);
        await using var agent = await AgentHost.StartAsync(sim);
        var vm = sim.Vm(DefaultDevices.PvVmName);
        await agent.AskAsync<PciDevicesDetached>(sim.Id, DetachTests.Detach(sim, HideMode.Dynamic, DefaultDevices.PassthroughNic));
        await agent.AskAsync<VmPciKeyChanged>(sim.Id, new AssignPciDevices(Saga, SagaStep.Assign, 1, Guid.NewGuid(), sim.Id, vm, [DefaultDevices.PassthroughNic]));
        await agent.AskAsync<VmStarted>(sim.Id, new StartVm(Saga, SagaStep.Start, 1, Guid.NewGuid(), sim.Id, vm));

        var check = await agent.AskAsync<PciAttachmentChecked>(sim.Id, new CheckPciAttachment(Saga, SagaStep.Verify, 1, Guid.NewGuid(), sim.Id, vm,
            [DefaultDevices.PassthroughNic, DefaultDevices.UsbController]));

        Assert.Equal([DefaultDevices.PassthroughNic], check.Attached);
        Assert.Equal([DefaultDevices.UsbController], check.Missing);
    }

    [Fact]
    public async Task Reboot_waits_for_a_new_boot_id()
    {
        var sim = new SimHost(configure: b => b.WithTimings(t =>
        {
            t.RebootDowntime = TimeSpan.FromMilliseconds(300);
            t.XapiInitialising = TimeSpan.FromMilliseconds(200);
        }));
        await using var agent = await AgentHost.StartAsync(sim);
        var bootBefore = sim.Model.Read(h => h.BootId.ToString());

        var rebooted = await agent.AskAsync<HostRebooted>(sim.Id, new RebootHost(Saga, SagaStep.HostReboot, 1, Guid.NewGuid(), sim.Id, TimeSpan.FromSeconds(30)));

        Assert.Equal(bootBefore, rebooted.PreviousBootId);
        Assert.NotEqual(bootBefore, rebooted.BootId);
        Assert.True(sim.Model.Read(h => h.Enabled));
    }

    [Fact]
    public async Task A_host_that_never_returns_from_its_reboot_answers_host_did_not_return()
    {
        var sim = new SimHost(configure: b => b.WithTimings(t => t.RebootDowntime = TimeSpan.FromMilliseconds(100)));
        sim.Runner.Faults.NeverReturnFromReboot();
        await using var agent = await AgentHost.StartAsync(sim);

        var failed = await agent.AskAsync<HostCommandFailed>(sim.Id, new RebootHost(Saga, SagaStep.HostReboot, 1, Guid.NewGuid(), sim.Id, TimeSpan.FromSeconds(1)));

        Assert.Equal(FailureCause.HostDidNotReturn, failed.Failure.Cause);
    }

    [Fact]
    public async Task Reboot_is_refused_while_a_passthrough_vm_runs()
    {
        var sim = new SimHost(configure: b => b.WithVm("gpu-box", GuestType.HVM, VmPowerState.Running, new KeyValuePair<string, string>("pci", "0/0000:01:00.0")));
        await using var agent = await AgentHost.StartAsync(sim);
        var bootBefore = sim.Model.Read(h => h.BootId);

        var failed = await agent.AskAsync<HostCommandFailed>(sim.Id, new RebootHost(Saga, SagaStep.HostReboot, 1, Guid.NewGuid(), sim.Id, TimeSpan.FromSeconds(30)));

        Assert.Equal(FailureCause.VmHasPciAttached, failed.Failure.Cause);
        Assert.Contains("gpu-box", failed.Failure.Message, StringComparison.Ordinal);
        Assert.Equal(bootBefore, sim.Model.Read(h => h.BootId));
        Assert.True(sim.Model.Read(h => h.Enabled));
    }

    [Fact]
    public async Task Release_check_passes_for_an_assigned_device_and_refuses_one_that_was_never_given()
    {
        var sim = new SimHost();
        await using var agent = await AgentHost.StartAsync(sim);
        var vm = sim.Vm(DefaultDevices.PvVmName);
        await agent.AskAsync<VmPciKeyChanged>(sim.Id, new AssignPciDevices(Saga, SagaStep.Assign, 1, Guid.NewGuid(), sim.Id, vm, [DefaultDevices.PassthroughNic]));

        var passed = await agent.AskAsync<PreflightPassed>(sim.Id, new RunReleaseCheck(Saga, SagaStep.Preflight, 1, Guid.NewGuid(), sim.Id, vm, [DefaultDevices.PassthroughNic]));
        Assert.Equal("0/0000:03:00.0", passed.VmPciKey);

        var refused = await agent.AskAsync<PreflightRefused>(sim.Id, new RunReleaseCheck(Saga, SagaStep.Preflight, 1, Guid.NewGuid(), sim.Id, vm, [PciAddress.Parse("0000:00:14.0")]));
        Assert.Contains("0000:00:14.0", Assert.Single(refused.Reasons).Message, StringComparison.Ordinal);
    }
}

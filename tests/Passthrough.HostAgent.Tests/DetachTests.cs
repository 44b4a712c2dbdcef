using Passthrough.Contracts.HostCommands;
using Passthrough.Contracts.HostEvents;
using Passthrough.Contracts.Messaging;
using Passthrough.Contracts.Pci;
using Passthrough.Simulation;
using Passthrough.Simulation.Model;

namespace Passthrough.HostAgent.Tests;

/// <summary>Detach, its exact undo (from the reply's record and from a record synthesised from preflight), and reattach.</summary>
public sealed class DetachTests
{
    private static readonly Guid Saga = Guid.NewGuid();

    internal static DetachPciDevices Detach(SimHost sim, HideMode mode, params PciAddress[] devices) =>
        new(Saga, SagaStep.Detach, 1, Guid.NewGuid(), sim.Id, devices, mode);

    internal static UndoPciDetach Undo(SimHost sim, DetachRecord record) => new(Saga, SagaStep.UndoDetach, 1, Guid.NewGuid(), sim.Id, record);

    [Fact]
    public async Task Dynamic_detach_binds_now_persists_the_hide_and_its_record_undoes_it_exactly()
    {
        var sim = new SimHost(ProductProfile.XcpNg82);
        await using var agent = await AgentHost.StartAsync(sim);
        var before = sim.Capture();

        var detached = await agent.AskAsync<PciDevicesDetached>(sim.Id, Detach(sim, HideMode.Dynamic, DefaultDevices.PassthroughNic, DefaultDevices.UsbController));

        Assert.Equal("pciback", sim.DriverOf(DefaultDevices.PassthroughNic));
        Assert.Equal("pciback", sim.DriverOf(DefaultDevices.UsbController));
        Assert.Equal("(0000:03:00.0)(0000:00:14.0)", sim.NextBootHide);
        var record = detached.Record;
        Assert.False(record.RebootRequired);
        Assert.Equal("", record.PreviousHideList);
        Assert.Equal("xen-pciback.hide=(0000:03:00.0)(0000:00:14.0)", record.NewHideList);
        Assert.Equal(
            [new DriverBinding(DefaultDevices.PassthroughNic, "igb", true), new DriverBinding(DefaultDevices.UsbController, "xhci_hcd", true)],
            record.Bindings);

        var undone = await agent.AskAsync<PciDetachUndone>(sim.Id, Undo(sim, record));

        Assert.Equal(before, sim.Capture());
        Assert.Equal(2, undone.Restored.Count);
        Assert.Equal("", undone.HideList);
    }

    [Fact]
    public async Task A_record_synthesised_from_preflight_restores_the_host_exactly_too()
    {
        var sim = new SimHost(ProductProfile.XcpNg83, b => b.HiddenAtBoot("(0000:02:00.0)"));
        await using var agent = await AgentHost.StartAsync(sim);
        var preflight = await agent.AskAsync<PreflightPassed>(sim.Id, new RunPreflight(Saga, SagaStep.Preflight, 1, Guid.NewGuid(), sim.Id,
            sim.Vm(DefaultDevices.PvVmName), [DefaultDevices.PassthroughNic], new PreflightOptions(HideMode.Dynamic, false, false)));
        var before = sim.Capture();
        await agent.AskAsync<PciDevicesDetached>(sim.Id, Detach(sim, HideMode.Dynamic, DefaultDevices.PassthroughNic));
        Assert.NotEqual(before, sim.Capture());

        // What the coordinator sends when the detach never answered (saga-protocol.md, UndoDetach).
        var synthesised = new DetachRecord(HideMode.Dynamic,
            [.. preflight.Devices.Select(d => new DriverBinding(d.Address, d.Driver, true))],
            preflight.NextBootHideList ?? "", null, [], false);
        await agent.AskAsync<PciDetachUndone>(sim.Id, Undo(sim, synthesised));

        Assert.Equal(before, sim.Capture());
        Assert.Equal("xen-pciback.hide=(0000:02:00.0)", preflight.NextBootHideList);
    }

    [Fact]
    public async Task Undoing_one_sagas_detach_keeps_the_hide_entries_another_saga_added_since()
    {
        var sim = new SimHost(ProductProfile.XcpNg82);
        await using var agent = await AgentHost.StartAsync(sim);
        var first = await agent.AskAsync<PciDevicesDetached>(sim.Id, Detach(sim, HideMode.Dynamic, DefaultDevices.PassthroughNic));
        var second = await agent.AskAsync<PciDevicesDetached>(sim.Id, Detach(sim, HideMode.Dynamic, DefaultDevices.UsbController));
        Assert.Equal("(0000:03:00.0)(0000:00:14.0)", sim.NextBootHide);

        // The first saga rolls back while the second holds its device: only the first saga's entry may go.
        await agent.AskAsync<PciDetachUndone>(sim.Id, Undo(sim, first.Record));

        Assert.Equal("(0000:00:14.0)", sim.NextBootHide);
        Assert.Equal("igb", sim.DriverOf(DefaultDevices.PassthroughNic));
        Assert.Equal("pciback", sim.DriverOf(DefaultDevices.UsbController));

        // A synthesised record (the detach never answered) must not erase it either.
        var synthesised = new DetachRecord(HideMode.Dynamic, [new DriverBinding(DefaultDevices.PassthroughNic, "igb", true)], "", null, [], false);
        await agent.AskAsync<PciDetachUndone>(sim.Id, Undo(sim, synthesised));
        Assert.Equal("(0000:00:14.0)", sim.NextBootHide);

        // When the second saga rolls back too, its entry goes and the host has no hide list again, as at the start.
        await agent.AskAsync<PciDetachUndone>(sim.Id, Undo(sim, second.Record));
        Assert.Null(sim.NextBootHide);
        Assert.Equal("xhci_hcd", sim.DriverOf(DefaultDevices.UsbController));
    }

    [Fact]
    public async Task Undo_is_a_no_op_when_nothing_changed()
    {
        var sim = new SimHost();
        await using var agent = await AgentHost.StartAsync(sim);
        var before = sim.Capture();
        var record = new DetachRecord(HideMode.Dynamic, [new DriverBinding(DefaultDevices.PassthroughNic, "igb", true)], "", null, [], false);

        var undone = await agent.AskAsync<PciDetachUndone>(sim.Id, Undo(sim, record));

        Assert.Empty(undone.Restored);
        Assert.Equal(before, sim.Capture());
    }

    [Fact]
    public async Task A_detach_failing_on_the_second_device_undoes_the_first_and_says_so()
    {
        var sim = new SimHost(ProductProfile.XcpNg82);
        // The GPU has no dom0 driver, so a failed bind leaves it as it was; the NIC bound before it must be given back.
        sim.Runner.Faults.DeviceFailsToBind(DefaultDevices.Gpu);
        await using var agent = await AgentHost.StartAsync(sim);
        var before = sim.Capture();

        var failed = await agent.AskAsync<HostCommandFailed>(sim.Id, Detach(sim, HideMode.Dynamic, DefaultDevices.PassthroughNic, DefaultDevices.Gpu));

        Assert.Equal(FailureCause.DeviceBindFailed, failed.Failure.Cause);
        Assert.Contains("The detach was undone: 1 binding(s) restored", failed.Failure.Message, StringComparison.Ordinal);
        Assert.Equal(before, sim.Capture());
    }

    [Fact]
    public async Task A_device_that_cannot_go_back_to_its_driver_is_named_in_the_failure()
    {
        var sim = new SimHost(ProductProfile.XcpNg82);
        // Every probe of the USB controller fails: pciback's, and then xhci_hcd's when the driver gives it back.
        sim.Runner.Faults.DeviceFailsToBind(DefaultDevices.UsbController);
        await using var agent = await AgentHost.StartAsync(sim);

        var failed = await agent.AskAsync<HostCommandFailed>(sim.Id, Detach(sim, HideMode.Dynamic, DefaultDevices.PassthroughNic, DefaultDevices.UsbController));

        Assert.Equal(FailureCause.DeviceBindFailed, failed.Failure.Cause);
        Assert.Contains("giving it back to xhci_hcd failed too", failed.Failure.Message, StringComparison.Ordinal);
        Assert.Equal("igb", sim.DriverOf(DefaultDevices.PassthroughNic));
        Assert.Null(sim.NextBootHide);
    }

    [Fact]
    public async Task Auto_detach_whose_bind_fails_persists_the_hide_and_asks_for_a_reboot()
    {
        var sim = new SimHost(ProductProfile.XcpNg82);
        sim.Runner.Faults.DeviceFailsToBind(DefaultDevices.PassthroughNic);
        await using var agent = await AgentHost.StartAsync(sim);

        var detached = await agent.AskAsync<PciDevicesDetached>(sim.Id, Detach(sim, HideMode.Auto, DefaultDevices.PassthroughNic));

        Assert.True(detached.Record.RebootRequired);
        Assert.Equal("(0000:03:00.0)", sim.NextBootHide);
        Assert.Equal([new DriverBinding(DefaultDevices.PassthroughNic, "igb", false)], detached.Record.Bindings);
    }

    [Fact]
    public async Task Dom0_access_api_detach_disables_access_needs_a_reboot_and_is_undone_exactly()
    {
        var sim = new SimHost(ProductProfile.XcpNg83);
        await using var agent = await AgentHost.StartAsync(sim);
        var before = sim.Capture();

        var detached = await agent.AskAsync<PciDevicesDetached>(sim.Id, Detach(sim, HideMode.Dom0AccessApi, DefaultDevices.PassthroughNic));

        Assert.True(detached.Record.RebootRequired);
        Assert.Single(detached.Record.Dom0AccessDisabled);
        Assert.Equal("igb", sim.DriverOf(DefaultDevices.PassthroughNic));
        Assert.Equal("(0000:03:00.0)", sim.NextBootHide);

        await agent.AskAsync<PciDetachUndone>(sim.Id, Undo(sim, detached.Record));
        Assert.Equal(before, sim.Capture());
    }

    [Fact]
    public async Task Persist_with_reboot_only_writes_the_hide_list()
    {
        var sim = new SimHost(ProductProfile.XenServer71);
        await using var agent = await AgentHost.StartAsync(sim);

        var detached = await agent.AskAsync<PciDevicesDetached>(sim.Id, Detach(sim, HideMode.PersistWithReboot, DefaultDevices.UsbController));

        Assert.True(detached.Record.RebootRequired);
        Assert.Equal("xhci_hcd", sim.DriverOf(DefaultDevices.UsbController));
        Assert.Equal("(0000:00:14.0)", sim.NextBootHide);
    }

    [Fact]
    public async Task Reattach_gives_the_devices_back_to_dom0_and_drops_them_from_the_hide_list()
    {
        var sim = new SimHost(ProductProfile.XcpNg82);
        await using var agent = await AgentHost.StartAsync(sim);
        var before = sim.Capture();
        await agent.AskAsync<PciDevicesDetached>(sim.Id, Detach(sim, HideMode.Dynamic, DefaultDevices.PassthroughNic));

        var reattached = await agent.AskAsync<PciDevicesReattached>(sim.Id, new ReattachPciDevices(Saga, SagaStep.Reattach, 1, Guid.NewGuid(), sim.Id,
            [DefaultDevices.PassthroughNic], [new DriverBinding(DefaultDevices.PassthroughNic, "igb", true)]));

        Assert.Equal("xen-pciback.hide=(0000:03:00.0)", reattached.PreviousHideList);
        Assert.Equal("", reattached.NewHideList);
        Assert.Equal(before, sim.Capture());
    }

    [Fact]
    public async Task A_device_the_host_lacks_is_refused_before_anything_changes()
    {
        var sim = new SimHost();
        await using var agent = await AgentHost.StartAsync(sim);
        var before = sim.Capture();

        var failed = await agent.AskAsync<HostCommandFailed>(sim.Id, Detach(sim, HideMode.Dynamic, PciAddress.Parse("0000:42:00.0")));

        Assert.Equal(FailureCause.DeviceNotFound, failed.Failure.Cause);
        Assert.Contains("0000:42:00.0", failed.Failure.Message, StringComparison.Ordinal);
        Assert.Equal(before, sim.Capture());
    }
}

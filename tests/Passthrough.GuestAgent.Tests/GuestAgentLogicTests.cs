using Microsoft.Extensions.Time.Testing;
using Passthrough.Contracts.GuestCommands;
using Passthrough.Contracts.GuestEvents;
using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Messaging;
using Passthrough.Contracts.Pci;
using Passthrough.Guest;
using Passthrough.GuestAgent.Tests.Infrastructure;

namespace Passthrough.GuestAgent.Tests;

public sealed class GuestAgentLogicTests
{
    private static readonly VmId Vm = VmId.Parse("740e9485-8e1a-da89-2561-d75bcede3fc9");
    private static readonly DateTimeOffset Start = new(2026, 1, 5, 9, 0, 0, TimeSpan.Zero);
    private static readonly ExpectedDevice Usb = new(PciDeviceId.Parse("8086:1e2d"), null, "ehci-pci");

    private readonly FakeTimeProvider _time = new(Start);
    private readonly FakeProbe _probe = new();
    private readonly FakeWatch _watch = new();
    private readonly RecordingTransport _transport = new();

    private GuestAgentLogic Logic(GuestAgentSettings? settings = null) =>
        new(Vm, _probe, _watch, _transport, settings ?? new GuestAgentSettings { HeartbeatInterval = TimeSpan.FromSeconds(30) }, _time);

    private static VerifyGuestDevices Verify(string? previousBootId = "boot-0", bool requirePcifront = true, params ExpectedDevice[] expected) =>
        new(Guid.NewGuid(), SagaStep.Verify, 1, Guid.NewGuid(), Vm, expected.Length == 0 ? [Usb] : expected, previousBootId, requirePcifront);

    [Fact]
    public async Task Start_publishes_the_boot_report_reliably_then_receives_commands_on_its_vm()
    {
        var logic = Logic();

        await logic.StartAsync(TestContext.Current.CancellationToken);

        var booted = Assert.Single(_transport.Published<GuestBooted>());
        Assert.Equal(Vm, booted.Vm);
        Assert.Equal("boot-1", booted.BootId);
        Assert.Equal("6.1.0-18-amd64", booted.Kernel);
        Assert.Equal(GuestType.PV, booted.GuestType);
        Assert.Equal(PcifrontState.Active, booted.Pcifront);
        Assert.Equal([FakeProbe.Usb], booted.Devices);
        Assert.Equal(Start, booted.At);
        Assert.Equal(GuestEventDelivery.Reliable, _transport.DeliveryOf<GuestBooted>());
        Assert.Equal(Vm, _transport.ReceivingFor);
        Assert.Same(logic, _transport.Handler);
        Assert.Equal("boot-1", logic.BootId);
    }

    [Fact]
    public async Task Start_probes_again_after_the_retry_delay_until_the_guest_answers()
    {
        _probe.FailuresLeft = 2;
        var logic = Logic(new GuestAgentSettings { ProbeRetryDelay = TimeSpan.FromSeconds(5) });

        var start = logic.StartAsync(TestContext.Current.CancellationToken);
        await Eventually.TrueAsync(() => _probe.Calls == 1, TimeSpan.FromSeconds(5), "the first probe");
        Assert.False(start.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(5));
        await Eventually.TrueAsync(() => _probe.Calls == 2, TimeSpan.FromSeconds(5), "the second probe");
        _time.Advance(TimeSpan.FromSeconds(5));
        await start;

        Assert.Equal(3, _probe.Calls);
        Assert.Single(_transport.Published<GuestBooted>());
    }

    [Fact]
    public async Task Heartbeats_go_best_effort_once_per_interval()
    {
        var logic = Logic();
        _watch.Snapshot = GuestSnapshot.From(_probe.Report);
        await logic.StartAsync(TestContext.Current.CancellationToken);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var run = logic.RunAsync(cts.Token);

        _time.Advance(TimeSpan.FromSeconds(29));
        await Task.Delay(50, TestContext.Current.CancellationToken);
        Assert.Empty(_transport.Published<GuestHeartbeat>());
        _time.Advance(TimeSpan.FromSeconds(1));
        await Eventually.TrueAsync(() => _transport.Published<GuestHeartbeat>().Count == 1, TimeSpan.FromSeconds(5), "one heartbeat");
        _time.Advance(TimeSpan.FromSeconds(30));
        await Eventually.TrueAsync(() => _transport.Published<GuestHeartbeat>().Count == 2, TimeSpan.FromSeconds(5), "two heartbeats");

        var heartbeat = _transport.Published<GuestHeartbeat>()[1];
        Assert.Equal(new GuestHeartbeat(Vm, "boot-1", Start.AddSeconds(60)), heartbeat);
        Assert.Equal(GuestEventDelivery.BestEffort, _transport.DeliveryOf<GuestHeartbeat>());
        await cts.CancelAsync();
        await run;
    }

    [Fact]
    public async Task Verify_is_verified_with_a_new_boot_pcifront_active_and_the_device_bound()
    {
        var logic = Logic();
        await logic.StartAsync(TestContext.Current.CancellationToken);
        var command = Verify();

        var reply = await logic.VerifyAsync(command, TestContext.Current.CancellationToken);

        Assert.True(reply.Verified, string.Join("; ", reply.Problems.Select(p => p.Message)));
        Assert.Equal(command.SagaId, reply.SagaId);
        Assert.Equal(command.CommandId, reply.CommandId);
        Assert.Equal(SagaStep.Verify, reply.Step);
        Assert.Equal(Vm, reply.Vm);
        Assert.Equal("boot-1", reply.BootId);
        Assert.Equal(PcifrontState.Active, reply.Pcifront);
        Assert.Equal([FakeProbe.Usb], reply.Devices);
        Assert.Empty(reply.Problems);
    }

    [Fact]
    public async Task Verify_fails_when_the_boot_id_is_the_previous_one()
    {
        var logic = Logic();
        await logic.StartAsync(TestContext.Current.CancellationToken);

        var reply = await logic.VerifyAsync(Verify(previousBootId: "BOOT-1"), TestContext.Current.CancellationToken);

        Assert.False(reply.Verified);
        var problem = Assert.Single(reply.Problems);
        Assert.Contains("has not booted again", problem.Message, StringComparison.Ordinal);
        Assert.Contains("boot-1", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_reports_a_missing_device_and_a_wrong_driver_as_saga_failures()
    {
        var logic = Logic();
        await logic.StartAsync(TestContext.Current.CancellationToken);

        var reply = await logic.VerifyAsync(
            Verify("boot-0", true, new ExpectedDevice(PciDeviceId.Parse("10de:1b81")), new ExpectedDevice(PciDeviceId.Parse("8086:1e2d"), null, "xhci_hcd")),
            TestContext.Current.CancellationToken);

        Assert.False(reply.Verified);
        Assert.Equal([FailureCause.GuestDeviceMissing, FailureCause.GuestDriverNotBound], reply.Problems.Select(p => p.Cause));
        Assert.Contains("10de:1b81", reply.Problems[0].Message, StringComparison.Ordinal);
        Assert.Contains("ehci-pci, not xhci_hcd", reply.Problems[1].Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_fails_when_pcifront_is_required_but_the_guest_runs_without_it()
    {
        var logic = Logic();
        await logic.StartAsync(TestContext.Current.CancellationToken);
        _probe.Report = _probe.Report with { GuestType = GuestType.HVM, Pcifront = new PcifrontReport(PcifrontState.NotApplicable, PcifrontModule.Unknown, false, false) };

        var required = await logic.VerifyAsync(Verify(requirePcifront: true), TestContext.Current.CancellationToken);
        var notRequired = await logic.VerifyAsync(Verify(requirePcifront: false), TestContext.Current.CancellationToken);

        Assert.Equal(FailureCause.GuestLacksPcifront, Assert.Single(required.Problems).Cause);
        Assert.True(notRequired.Verified);
    }

    [Fact]
    public async Task Verify_answers_a_redelivered_command_from_its_record_without_probing_again()
    {
        var logic = Logic();
        await logic.StartAsync(TestContext.Current.CancellationToken);
        var command = Verify();

        var first = await logic.VerifyAsync(command, TestContext.Current.CancellationToken);
        var calls = _probe.Calls;
        _probe.Report = FakeProbe.Pv("boot-9");
        var again = await logic.VerifyAsync(command, TestContext.Current.CancellationToken);

        Assert.Same(first, again);
        Assert.Equal(calls, _probe.Calls);
    }

    [Fact]
    public async Task Verify_answers_not_verified_when_the_guest_cannot_be_probed()
    {
        var logic = Logic();
        await logic.StartAsync(TestContext.Current.CancellationToken);
        _probe.FailuresLeft = 1;

        var reply = await logic.VerifyAsync(Verify(), TestContext.Current.CancellationToken);

        Assert.False(reply.Verified);
        var problem = Assert.Single(reply.Problems);
        Assert.Equal(FailureCause.CommandFailed, problem.Cause);
        Assert.Contains("unreadable", problem.OriginalText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_flags_a_command_meant_for_another_vm()
    {
        var logic = Logic();
        await logic.StartAsync(TestContext.Current.CancellationToken);
        var other = VmId.Parse("11111111-2222-3333-4444-555555555555");

        var reply = await logic.VerifyAsync(Verify() with { Vm = other }, TestContext.Current.CancellationToken);

        Assert.False(reply.Verified);
        Assert.Equal(FailureCause.InvalidInput, reply.Problems[0].Cause);
    }

    [Fact]
    public async Task A_lost_pcifront_is_published_at_the_first_look_after_it_went()
    {
        var logic = Logic();
        _watch.Snapshot = GuestSnapshot.From(_probe.Report);
        await logic.StartAsync(TestContext.Current.CancellationToken);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var run = logic.RunAsync(cts.Token);

        _watch.Snapshot = _watch.Snapshot with { PcifrontDriver = false };
        _time.Advance(TimeSpan.FromMilliseconds(250));

        await Eventually.TrueAsync(() => _transport.Published<GuestFaultDetected>().Count == 1, TimeSpan.FromSeconds(5), "the fault");
        var fault = _transport.Published<GuestFaultDetected>()[0];
        Assert.Equal(GuestFaultKind.PcifrontGone, fault.Kind);
        Assert.Equal(Vm, fault.Vm);
        Assert.Equal("boot-1", fault.BootId);
        Assert.Equal(Start.AddMilliseconds(250), fault.At);
        Assert.Equal(GuestEventDelivery.Reliable, _transport.DeliveryOf<GuestFaultDetected>());

        // Reported once, not at every look while it stays gone.
        _time.Advance(TimeSpan.FromMilliseconds(250));
        _time.Advance(TimeSpan.FromMilliseconds(250));
        await Task.Delay(100, TestContext.Current.CancellationToken);
        Assert.Single(_transport.Published<GuestFaultDetected>());
        await cts.CancelAsync();
        await run;
    }

    [Fact]
    public async Task A_fault_the_transport_refuses_stays_pending_and_is_published_at_a_later_look()
    {
        var logic = Logic();
        _watch.Snapshot = GuestSnapshot.From(_probe.Report);
        await logic.StartAsync(TestContext.Current.CancellationToken);

        _transport.Refuse = true;
        _watch.Snapshot = _watch.Snapshot with { Devices = new Dictionary<PciAddress, WatchedDevice>() };
        var found = await logic.CheckForFaultsAsync(TestContext.Current.CancellationToken);
        Assert.Equal(GuestFaultKind.DeviceVanished, Assert.Single(found).Kind);
        Assert.Equal(1, logic.PendingFaults);
        Assert.Empty(_transport.Published<GuestFaultDetected>());

        _transport.Refuse = false;
        var second = await logic.CheckForFaultsAsync(TestContext.Current.CancellationToken);

        Assert.Empty(second);
        Assert.Equal(0, logic.PendingFaults);
        var fault = Assert.Single(_transport.Published<GuestFaultDetected>());
        Assert.Equal(PciDeviceId.Parse("8086:1e2d"), fault.Device);
    }

    [Fact]
    public async Task The_watch_survives_looks_that_fail()
    {
        var logic = Logic();
        _watch.Snapshot = GuestSnapshot.From(_probe.Report);
        await logic.StartAsync(TestContext.Current.CancellationToken);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var run = logic.RunAsync(cts.Token);
        var healthy = _watch.Snapshot;

        _watch.Snapshot = null;
        _time.Advance(TimeSpan.FromMilliseconds(250));
        _time.Advance(TimeSpan.FromMilliseconds(250));
        _watch.Snapshot = healthy with { PcifrontDevice = false };
        _time.Advance(TimeSpan.FromMilliseconds(250));

        await Eventually.TrueAsync(() => _transport.Published<GuestFaultDetected>().Count == 1, TimeSpan.FromSeconds(5), "the fault after failed looks");
        Assert.False(run.IsCompleted);
        await cts.CancelAsync();
        await run;
    }

    [Fact]
    public async Task Over_a_real_tree_a_removed_pcifront_driver_and_an_unbound_driver_are_faults()
    {
        using var tree = GuestTree.Pv(GuestTree.UsbController);
        var fs = new LocalGuestFileSystem(tree.Root);
        var logic = new GuestAgentLogic(Vm, new LinuxGuestProbe(fs), new LinuxGuestWatch(fs), _transport, null, _time);
        await logic.StartAsync(TestContext.Current.CancellationToken);
        Assert.Empty(await logic.CheckForFaultsAsync(TestContext.Current.CancellationToken));

        tree.RemovePcifrontDriver();
        tree.UnbindDriver(GuestTree.UsbController.Address);
        var faults = await logic.CheckForFaultsAsync(TestContext.Current.CancellationToken);

        Assert.Equal([GuestFaultKind.PcifrontGone, GuestFaultKind.DriverUnbound], faults.Select(f => f.Kind));
        Assert.Equal(GuestTree.UsbController.Id, faults[1].Device);
        Assert.Equal(tree.BootId, faults[0].BootId);
    }
}

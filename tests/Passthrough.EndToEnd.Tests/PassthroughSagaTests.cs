using Passthrough.Contracts.Api;
using Passthrough.Contracts.CoordinatorCommands;
using Passthrough.Contracts.CoordinatorEvents;
using Passthrough.Contracts.Messaging;
using Passthrough.EndToEnd.Tests.Infrastructure;
using Passthrough.Lab;
using Passthrough.Simulation;

namespace Passthrough.EndToEnd.Tests;

/// <summary>
/// The passthrough and release sagas end to end on the in-memory bus: the coordinator's HTTP API, its sagas and durable
/// store, the real host agent on simulated hosts (the real dom0 driver and parsers), guest agents in simulated guests.
/// </summary>
public sealed class PassthroughSagaTests
{
    // Dynamic: the device is bound to pciback now and the hide persisted with xen-cmdline, with no host reboot, so a
    // failed bind or a failed xen-cmdline fails the Detach step itself (Auto would fall back to a reboot instead).
    private static readonly PassthroughOptionsBody RevertOnFailure = new(HideMode: HideMode.Dynamic, Snapshot: SnapshotPolicy.RevertOnFailure, AllowForcedShutdown: true);

    [Fact]
    public async Task Pv_guest_with_pcifront_gets_the_nic_and_release_returns_it_to_its_original_dom0_driver()
    {
        await using var lab = await LabFixture.StartAsync();
        var vm = lab.Vm(GuestType.PV);
        var nic = LabFixture.Device(vm, FleetDeviceKind.Nic);
        var before = lab.Capture(vm.Host.HostId);

        var saga = await lab.OutcomeAsync((await lab.AssignAsync(vm, nic)).Id);

        Assert.True(saga.Outcome == SagaOutcome.Completed, Describe(saga));
        Assert.Equal(
            [SagaStep.Preflight, SagaStep.Snapshot, SagaStep.Shutdown, SagaStep.Detach, SagaStep.Assign, SagaStep.Start, SagaStep.Verify, SagaStep.Done],
            saga.Steps.Select(s => s.Step).Distinct().ToArray());
        Assert.All(saga.Steps, s => Assert.True(s.Succeeded == true, $"{s.Step} #{s.Attempt}: {s.Failure?.Message}"));
        var host = vm.Host.Host;
        Assert.Equal("pciback", host.Read(h => h.Function(nic.Address).BoundDriver));
        Assert.Contains(nic.Address, host.Read(h => h.FindVm(vm.VmId.Uuid)!.AttachedPcis.ToList()));
        Assert.Equal(nic.Address.ToString(), host.Read(h => h.NextBootHideRaw)?.Trim('(', ')'));
        Assert.Empty(host.Read(h => h.FindVm(vm.VmId.Uuid)!.Snapshots.ToList())); // DeleteOnSuccess

        var release = await lab.OutcomeAsync((await lab.ReleaseAsync(vm, nic)).Id);

        Assert.True(release.Outcome == SagaOutcome.Completed, Describe(release));
        Assert.Equal(nic.Driver, host.Read(h => h.Function(nic.Address).BoundDriver));
        var after = lab.Capture(vm.Host.HostId);
        Assert.Equal(before.NextBootHideRaw, after.NextBootHideRaw);
        Assert.Equal(before.Functions, after.Functions);
        Assert.Equal(before.Vms, after.Vms);
    }

    [Fact]
    public async Task Hvm_guest_gets_the_nvme_drive_without_pcifront_and_release_gives_it_back()
    {
        await using var lab = await LabFixture.StartAsync();
        var vm = lab.Vm(GuestType.HVM);
        var nvme = LabFixture.Device(vm, FleetDeviceKind.Nvme);
        var before = lab.Capture(vm.Host.HostId);

        var saga = await lab.OutcomeAsync((await lab.AssignAsync(vm, nvme)).Id);

        Assert.True(saga.Outcome == SagaOutcome.Completed, Describe(saga));
        Assert.Equal("pciback", vm.Host.Host.Read(h => h.Function(nvme.Address).BoundDriver));
        Assert.True(vm.Guest.BootId is not null, "the HVM guest runs again");

        var release = await lab.OutcomeAsync((await lab.ReleaseAsync(vm, nvme)).Id);

        Assert.True(release.Outcome == SagaOutcome.Completed, Describe(release));
        Assert.Equal(before, lab.Capture(vm.Host.HostId));
    }

    public static TheoryData<string, SagaStep, CommandFaultKind> StepFaults => new()
    {
        { "xe vm-snapshot", SagaStep.Snapshot, CommandFaultKind.Fail },
        { "xe vm-snapshot", SagaStep.Snapshot, CommandFaultKind.Hang },
        { "xe vm-shutdown", SagaStep.Shutdown, CommandFaultKind.Fail },
        // Every shutdown hangs (the clean one, then the forced one the saga may use): a single hang is absorbed by forcing.
        { "xe vm-shutdown", SagaStep.Shutdown, CommandFaultKind.Hang },
        { "tee /sys/bus/pci/drivers/pciback/bind", SagaStep.Detach, CommandFaultKind.Fail },
        { "tee /sys/bus/pci/drivers/pciback/bind", SagaStep.Detach, CommandFaultKind.Hang },
        { "/opt/xensource/libexec/xen-cmdline --set-dom0", SagaStep.Detach, CommandFaultKind.Fail },
        { "xe vm-param-set", SagaStep.Assign, CommandFaultKind.Fail },
        { "xe vm-param-set", SagaStep.Assign, CommandFaultKind.Hang },
        { "xe vm-start", SagaStep.Start, CommandFaultKind.Fail },
        { "xe vm-start", SagaStep.Start, CommandFaultKind.Hang },
        { "xl pci-list", SagaStep.Verify, CommandFaultKind.Fail },
        { "xl pci-list", SagaStep.Verify, CommandFaultKind.Hang },
    };

    [Theory]
    [MemberData(nameof(StepFaults))]
    public async Task A_fault_at_a_step_rolls_the_host_and_vm_back_to_exactly_their_state_before(string command, SagaStep step, CommandFaultKind kind)
    {
        await using var lab = await LabFixture.StartAsync();
        var vm = lab.Vm(GuestType.PV);
        var nic = LabFixture.Device(vm, FleetDeviceKind.Nic);
        var before = lab.Capture(vm.Host.HostId);
        if (kind == CommandFaultKind.Fail)
        {
            vm.Host.Runner.Faults.FailCommand(command, "The server failed to handle your request, due to an internal error.");
        }
        else
        {
            vm.Host.Runner.Faults.HangCommand(command, times: step == SagaStep.Shutdown ? 2 : 1);
        }

        var saga = await lab.OutcomeAsync((await lab.AssignAsync(vm, nic, RevertOnFailure)).Id);

        Assert.True(saga.Outcome == SagaOutcome.RolledBack, Describe(saga));
        Assert.Contains(saga.Steps, s => s.Step == step && s.Succeeded == false);
        Assert.NotNull(saga.Cause);
        var after = lab.Capture(vm.Host.HostId);
        Assert.True(before == after, $"after the rollback the host differs:\n{string.Join('\n', before.DiffAgainst(after))}\n{Describe(saga)}");
    }

    [Fact]
    public async Task A_snapshot_that_completes_after_its_deadline_is_destroyed_by_the_rollback()
    {
        // The saga gives the snapshot 0.5 s (25 s scaled); the host takes 3 s and completes it (its limit is 6 s), as
        // xapi does when a client has long given up. The compensation waits behind it on the host's queue.
        await using var lab = await LabFixture.StartAsync(coordinator: o => o.SnapshotTimeout = TimeSpan.FromSeconds(25));
        var vm = lab.Vm(GuestType.PV);
        var nic = LabFixture.Device(vm, FleetDeviceKind.Nic);
        vm.Host.Runner.Latency = new SimulatedLatency { PerCommand = new Dictionary<string, TimeSpan> { ["xe vm-snapshot"] = TimeSpan.FromSeconds(3) } };
        var before = lab.Capture(vm.Host.HostId);

        var saga = await lab.OutcomeAsync((await lab.AssignAsync(vm, nic, RevertOnFailure)).Id);

        Assert.True(saga.Outcome == SagaOutcome.RolledBack, Describe(saga));
        Assert.Equal(FailureCause.Timeout, saga.Cause?.Cause);
        Assert.Contains(vm.Host.Runner.History, r => r.Request.Display.StartsWith("xe vm-snapshot", StringComparison.Ordinal) && r.ExitCode == 0);
        Assert.Contains(saga.Steps, s => s.Step == SagaStep.UndoSnapshot && s.Succeeded == true && s.Detail!.Contains("destroyed", StringComparison.Ordinal));
        var after = lab.Capture(vm.Host.HostId);
        Assert.True(before == after, $"after the rollback the host differs:\n{string.Join('\n', before.DiffAgainst(after))}\n{Describe(saga)}");
    }

    [Fact]
    public async Task A_guest_that_never_reports_rolls_back_after_the_verify_deadline()
    {
        // Before the fleet starts: the VM runs from the start, and an agent started for its first boot could otherwise
        // still answer (from that boot) in the instant between the saga's restart of the VM and the supervisor's next look.
        await using var lab = await LabFixture.StartAsync(arrange: fleet => fleet.Vms.First(v => v.GuestType == GuestType.HVM).Guest.Faults.AgentNeverStarts = true);
        var vm = lab.Vm(GuestType.HVM);
        var usb = LabFixture.Device(vm, FleetDeviceKind.UsbController);
        var before = lab.Capture(vm.Host.HostId);

        var saga = await lab.OutcomeAsync((await lab.AssignAsync(vm, usb, RevertOnFailure with { VerifyTimeoutSeconds = 150 })).Id);

        Assert.True(saga.Outcome == SagaOutcome.RolledBack, Describe(saga));
        Assert.Equal(FailureCause.GuestNeverReported, saga.Cause?.Cause);
        Assert.True(before == lab.Capture(vm.Host.HostId), string.Join('\n', before.DiffAgainst(lab.Capture(vm.Host.HostId))));
    }

    [Fact]
    public async Task Pv_guest_without_pcifront_fails_verification_with_that_cause_and_is_rolled_back()
    {
        await using var lab = await LabFixture.StartAsync();
        var vm = lab.Vm(GuestType.PV);
        var nic = LabFixture.Device(vm, FleetDeviceKind.Nic);
        vm.Guest.Faults.ModuleMissing = true;
        var before = lab.Capture(vm.Host.HostId);

        var saga = await lab.OutcomeAsync((await lab.AssignAsync(vm, nic, RevertOnFailure)).Id);

        Assert.True(saga.Outcome == SagaOutcome.RolledBack, Describe(saga));
        Assert.Equal(FailureCause.GuestLacksPcifront, saga.Cause?.Cause);
        Assert.Contains("guest kernel lacks xen-pcifront", saga.Cause!.Message, StringComparison.Ordinal);
        Assert.True(before == lab.Capture(vm.Host.HostId), string.Join('\n', before.DiffAgainst(lab.Capture(vm.Host.HostId))));
    }

    [Fact]
    public async Task Hvm_vm_on_a_host_without_iommu_is_refused_at_preflight_and_the_host_is_untouched()
    {
        await using var lab = await LabFixture.StartAsync(arrange: fleet => fleet.Hosts[0].Host.Mutate(h => h.IommuEnabled = false));
        var vm = lab.Vm(GuestType.HVM);
        var nic = LabFixture.Device(vm, FleetDeviceKind.Nic);
        var before = lab.Capture(vm.Host.HostId);
        var commandsBefore = vm.Host.Runner.History.Count;

        var saga = await lab.OutcomeAsync((await lab.AssignAsync(vm, nic)).Id);

        Assert.True(saga.Outcome == SagaOutcome.RolledBack, Describe(saga));
        Assert.Equal(FailureCause.IommuOff, saga.Cause?.Cause);
        Assert.Equal([SagaStep.Preflight], saga.Steps.Select(s => s.Step).Distinct().ToArray());
        Assert.Equal(before, lab.Capture(vm.Host.HostId));
        var changing = vm.Host.Runner.History.Skip(commandsBefore).Select(r => r.Request.Display)
            .Where(c => c.Contains("vm-param-set", StringComparison.Ordinal) || c.Contains("--set-dom0", StringComparison.Ordinal)
                || c.Contains("vm-snapshot", StringComparison.Ordinal) || c.Contains("vm-shutdown", StringComparison.Ordinal) || c.StartsWith("tee ", StringComparison.Ordinal))
            .ToList();
        Assert.Empty(changing);
    }

    [Fact]
    public async Task A_second_request_for_a_claimed_device_or_vm_is_refused_with_the_holding_saga()
    {
        await using var lab = await LabFixture.StartAsync();
        var vm = lab.Vm(GuestType.PV);
        var other = lab.Vm(GuestType.HVM);
        var nic = LabFixture.Device(vm, FleetDeviceKind.Nic);
        vm.Guest.Faults.AgentNeverStarts = true; // keeps the first saga busy (a verdict from either boot ends it later)

        var first = await lab.AssignAsync(vm, nic, new PassthroughOptionsBody(VerifyTimeoutSeconds: 600));

        var sameDevice = await Assert.ThrowsAsync<LabApiException>(() => lab.AssignAsync(other, nic));
        Assert.Equal(409, sameDevice.Status);
        Assert.Equal(first.Id, sameDevice.Error.HeldBy);
        var sameVm = await Assert.ThrowsAsync<LabApiException>(() => lab.AssignAsync(vm, LabFixture.Device(vm, FleetDeviceKind.UsbController)));
        Assert.Equal(409, sameVm.Status);
        Assert.Equal(first.Id, sameVm.Error.HeldBy);

        await lab.OutcomeAsync(first.Id);
        var again = await lab.OutcomeAsync((await lab.AssignAsync(other, nic)).Id);
        Assert.True(again.Outcome == SagaOutcome.Completed, Describe(again));
    }

    [Fact]
    public async Task Malformed_requests_are_refused_naming_the_field()
    {
        await using var lab = await LabFixture.StartAsync();
        var vm = lab.Vm(GuestType.PV);

        var badBdf = await Assert.ThrowsAsync<LabApiException>(() => lab.Runtime.SubmitPassthroughAsync(
            new PassthroughRequestBody(vm.Host.HostId.ToString(), vm.VmId.ToString(), ["0000:03:00.9"], null, "e2e"), LabFixture.Cancellation));
        Assert.Equal(400, badBdf.Status);
        Assert.Contains("0000:03:00.9", badBdf.Error.Error, StringComparison.Ordinal);

        var badVm = await Assert.ThrowsAsync<LabApiException>(() => lab.Runtime.SubmitPassthroughAsync(
            new PassthroughRequestBody(vm.Host.HostId.ToString(), "not-a-uuid", ["0000:03:00.0"], null, "e2e"), LabFixture.Cancellation));
        Assert.Equal(400, badVm.Status);
        Assert.Equal("vm", badVm.Error.Field, StringComparer.OrdinalIgnoreCase);
    }

    internal static string Describe(SagaView saga) =>
        $"saga {saga.Id} {saga.Kind} {saga.State} outcome {saga.Outcome}: {saga.Cause?.Cause} {saga.Cause?.Message}\n"
        + string.Join('\n', saga.Steps.Select(s => $"  {s.Step} #{s.Attempt} {(s.Succeeded switch { true => "ok", false => "FAILED", null => "running" })} {s.Failure?.Cause} {s.Failure?.Message} {s.Detail}"))
        + (saga.LeftForOperator.Count > 0 ? "\n  left: " + string.Join("; ", saga.LeftForOperator) : string.Empty);
}

using Passthrough.Contracts.CoordinatorCommands;
using Passthrough.Contracts.CoordinatorEvents;
using Passthrough.Contracts.GuestCommands;
using Passthrough.Contracts.HostCommands;
using Passthrough.Contracts.HostEvents;
using Passthrough.Contracts.Messaging;
using Passthrough.Coordinator.Sagas;
using Passthrough.Coordinator.Tests.Infrastructure;

namespace Passthrough.Coordinator.Tests.Flow;

public sealed class SagaFlowTests
{
    private static readonly FlowAction[] PvPath =
    [
        FlowAction.RunPreflight, FlowAction.Snapshot, FlowAction.Shutdown, FlowAction.Detach, FlowAction.Assign, FlowAction.Start,
        FlowAction.VerifyInGuest, FlowAction.CheckAttachment, FlowAction.DestroySnapshot,
    ];

    [Fact]
    public void Pv_passthrough_runs_every_step_and_completes()
    {
        var driver = new FlowDriver();
        driver.Start(FlowDriver.Passthrough());

        Assert.Equal(SagaOutcome.Completed, driver.RunToEnd());
        Assert.Equal(PvPath, driver.SentActions);
        Assert.All(driver.Saga.History, h => Assert.True(h.Succeeded));
        Assert.Null(driver.Saga.Cause);
        Assert.Empty(driver.Saga.LeftForOperator);

        var verify = Assert.Single(driver.Sent.OfType<VerifyGuestDevices>());
        Assert.True(verify.RequirePcifront);
        Assert.Equal([ScriptedHost.UsbId], verify.Expected.Select(e => e.Id));
        Assert.Equal(SagaFlow.SnapshotName(driver.Saga.CorrelationId), Assert.Single(driver.Sent.OfType<SnapshotVm>()).SnapshotName);
        Assert.Equal(driver.Host.Snapshot, Assert.Single(driver.Sent.OfType<DestroyVmSnapshot>()).Snapshot);
        Assert.Equal(driver.Saga.CorrelationId, Assert.Single(driver.Events.OfType<SagaFinished>()).SagaId);
        Assert.Equal(driver.Sent.Count, driver.Events.OfType<SagaStepStarted>().Count());
        Assert.Equal(driver.Sent.Count, driver.Events.OfType<SagaStepFinished>().Count());
    }

    [Fact]
    public void Hvm_passthrough_of_a_halted_vm_skips_the_shutdown_and_needs_no_pcifront()
    {
        var driver = new FlowDriver(host: new ScriptedHost { DomainType = GuestType.HVM, PowerState = VmPowerState.Halted });
        driver.Start(FlowDriver.Passthrough());

        Assert.Equal(SagaOutcome.Completed, driver.RunToEnd());
        Assert.DoesNotContain(FlowAction.Shutdown, driver.SentActions);
        Assert.False(Assert.Single(driver.Sent.OfType<VerifyGuestDevices>()).RequirePcifront);
    }

    [Fact]
    public void Keep_policy_leaves_the_snapshot_and_ssh_verification_goes_through_the_host_agent()
    {
        var ssh = new GuestSshTarget("10.0.0.5", 22, "root", "SHA256:abc");
        var driver = new FlowDriver();
        driver.Start(FlowDriver.Passthrough(new PassthroughOptions(Snapshot: SnapshotPolicy.Keep, GuestSsh: ssh)));

        Assert.Equal(SagaOutcome.Completed, driver.RunToEnd());
        Assert.DoesNotContain(FlowAction.DestroySnapshot, driver.SentActions);
        Assert.Empty(driver.Sent.OfType<VerifyGuestDevices>());
        Assert.Equal(ssh, Assert.Single(driver.Sent.OfType<VerifyGuestOverSsh>()).Target);
    }

    [Fact]
    public void Sibling_functions_added_by_preflight_become_the_saga_devices()
    {
        var host = new ScriptedHost();
        host.AddedSiblings.Add(ScriptedHost.UsbSibling);
        var driver = new FlowDriver(host: host);
        driver.Start(FlowDriver.Passthrough(new PassthroughOptions(IncludeSiblings: true)));

        Assert.Equal(SagaOutcome.Completed, driver.RunToEnd());
        Assert.True(driver.Sent.OfType<RunPreflight>().Single().Options.IncludeSiblings);
        Assert.Equal([ScriptedHost.Usb, ScriptedHost.UsbSibling], driver.Sent.OfType<AssignPciDevices>().Single().Devices);
    }

    [Fact]
    public void Reboot_mode_reboots_the_host_between_detach_and_assign()
    {
        var driver = new FlowDriver(host: new ScriptedHost { RebootRequired = true });
        driver.Start(FlowDriver.Passthrough(new PassthroughOptions(HideMode: HideMode.PersistWithReboot, AllowHostReboot: true)));

        Assert.Equal(SagaOutcome.Completed, driver.RunToEnd());
        var actions = driver.SentActions.ToList();
        Assert.Equal(actions.IndexOf(FlowAction.Detach) + 1, actions.IndexOf(FlowAction.HostReboot));
        Assert.Equal(actions.IndexOf(FlowAction.HostReboot) + 1, actions.IndexOf(FlowAction.Assign));
    }

    [Fact]
    public void A_reboot_the_request_does_not_allow_fails_the_saga_and_undoes_the_detach()
    {
        var driver = new FlowDriver(host: new ScriptedHost { RebootRequired = true });
        driver.Start(FlowDriver.Passthrough(new PassthroughOptions(HideMode: HideMode.Auto, AllowHostReboot: false)));

        Assert.Equal(SagaOutcome.RolledBack, driver.RunToEnd());
        Assert.DoesNotContain(driver.Sent, c => c is RebootHost);
        Assert.Equal(FailureCause.InvalidInput, driver.Saga.Cause!.Cause);
        Assert.Contains("does not allow a host reboot", driver.Saga.Cause.Message, StringComparison.Ordinal);
        Assert.Equal([FlowAction.UndoDetach, FlowAction.UndoShutdown], Compensations(driver));
    }

    public static TheoryData<FlowAction, FlowAction[]> FailingSteps => new()
    {
        { FlowAction.Snapshot, [] },
        { FlowAction.Shutdown, [FlowAction.UndoShutdown] },
        { FlowAction.Detach, [FlowAction.UndoDetach, FlowAction.UndoShutdown] },
        { FlowAction.Assign, [FlowAction.RestorePciKey, FlowAction.UndoDetach, FlowAction.UndoShutdown] },
        { FlowAction.Start, [FlowAction.UndoStart, FlowAction.RestorePciKey, FlowAction.UndoDetach, FlowAction.UndoShutdown] },
        { FlowAction.VerifyInGuest, [FlowAction.UndoStart, FlowAction.RestorePciKey, FlowAction.UndoDetach, FlowAction.UndoShutdown] },
        { FlowAction.CheckAttachment, [FlowAction.UndoStart, FlowAction.RestorePciKey, FlowAction.UndoDetach, FlowAction.UndoShutdown] },
    };

    [Theory]
    [MemberData(nameof(FailingSteps))]
    public void A_failing_step_runs_the_compensations_of_every_started_step_in_reverse(FlowAction failing, FlowAction[] expected)
    {
        var driver = new FlowDriver();
        driver.Start(FlowDriver.Passthrough());

        Assert.Equal(SagaOutcome.RolledBack, driver.RunToEnd((action, _) => action == failing ? Answer.Fail : Answer.Succeed));
        Assert.Equal(expected, Compensations(driver));
        Assert.NotNull(driver.Saga.Cause);
        Assert.Empty(driver.Saga.LeftForOperator);
        Assert.Equal(SagaOutcome.RolledBack, Assert.Single(driver.Events.OfType<SagaFinished>()).Outcome);
    }

    [Fact]
    public void A_guest_without_pcifront_rolls_back_with_the_guests_problem_as_cause()
    {
        var driver = new FlowDriver();
        driver.Start(FlowDriver.Passthrough());

        driver.RunToEnd((action, _) => action == FlowAction.VerifyInGuest ? Answer.Fail : Answer.Succeed);
        Assert.Equal(FailureCause.GuestLacksPcifront, driver.Saga.Cause!.Cause);
        Assert.Equal("guest kernel lacks xen-pcifront", driver.Saga.Cause.Message);
    }

    [Fact]
    public void Missing_host_side_attachment_fails_verification()
    {
        var driver = new FlowDriver();
        driver.Start(FlowDriver.Passthrough());

        driver.RunToEnd((action, _) => action == FlowAction.CheckAttachment ? Answer.Fail : Answer.Succeed);
        Assert.Equal(FailureCause.DeviceCannotBeAdded, driver.Saga.Cause!.Cause);
        Assert.Contains(ScriptedHost.Usb.ToString(), driver.Saga.Cause.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Revert_policy_reverts_and_destroys_the_snapshot_while_the_vm_is_halted()
    {
        var driver = new FlowDriver();
        driver.Start(FlowDriver.Passthrough(new PassthroughOptions(Snapshot: SnapshotPolicy.RevertOnFailure)));

        Assert.Equal(SagaOutcome.RolledBack, driver.RunToEnd((action, _) => action == FlowAction.Assign ? Answer.Fail : Answer.Succeed));
        Assert.Equal(
            [FlowAction.RestorePciKey, FlowAction.UndoDetach, FlowAction.RevertSnapshot, FlowAction.DestroyRevertedSnapshot, FlowAction.UndoShutdown],
            Compensations(driver));
        Assert.Equal(driver.Host.Snapshot, driver.Sent.OfType<RevertVmSnapshot>().Single().Snapshot);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Revert_policy_destroys_by_name_the_snapshot_a_snapshot_step_may_have_taken_without_answering(bool silent)
    {
        var answer = silent ? Answer.Silence : Answer.Fail;
        var driver = new FlowDriver();
        driver.Start(FlowDriver.Passthrough(new PassthroughOptions(Snapshot: SnapshotPolicy.RevertOnFailure)));

        Assert.Equal(SagaOutcome.RolledBack, driver.RunToEnd((action, _) => action == FlowAction.Snapshot ? answer : Answer.Succeed));
        Assert.Equal([FlowAction.DestroyUnconfirmedSnapshot], Compensations(driver));
        var destroy = Assert.Single(driver.Sent.OfType<DestroySnapshotsNamed>());
        Assert.Equal(SagaFlow.SnapshotName(driver.Saga.CorrelationId), destroy.SnapshotName);
        Assert.Equal(SagaStep.UndoSnapshot, destroy.Step);
        Assert.Empty(driver.Saga.LeftForOperator);
    }

    [Theory]
    [InlineData(SnapshotPolicy.Keep)]
    [InlineData(SnapshotPolicy.DeleteOnSuccess)]
    public void Policies_that_keep_the_snapshot_on_rollback_keep_an_unconfirmed_one_too(SnapshotPolicy policy)
    {
        var driver = new FlowDriver();
        driver.Start(FlowDriver.Passthrough(new PassthroughOptions(Snapshot: policy)));

        Assert.Equal(SagaOutcome.RolledBack, driver.RunToEnd((action, _) => action == FlowAction.Snapshot ? Answer.Silence : Answer.Succeed));
        Assert.Empty(Compensations(driver));
    }

    [Fact]
    public void An_unconfirmed_snapshot_that_cannot_be_destroyed_is_left_for_a_person_with_the_commands_to_find_it()
    {
        var driver = new FlowDriver();
        driver.Start(FlowDriver.Passthrough(new PassthroughOptions(Snapshot: SnapshotPolicy.RevertOnFailure)));

        var outcome = driver.RunToEnd((action, _) => action is FlowAction.Snapshot or FlowAction.DestroyUnconfirmedSnapshot ? Answer.Fail : Answer.Succeed);

        Assert.Equal(SagaOutcome.RollbackFailed, outcome);
        var left = Assert.Single(driver.Saga.LeftForOperator);
        Assert.Contains(SagaFlow.SnapshotName(driver.Saga.CorrelationId), left, StringComparison.Ordinal);
        Assert.Contains("xe snapshot-list", left, StringComparison.Ordinal);
    }

    [Fact]
    public void Preflight_refusal_rolls_back_without_compensations_and_names_the_siblings()
    {
        var driver = new FlowDriver();
        driver.Start(FlowDriver.Passthrough());

        Assert.Equal(SagaOutcome.RolledBack, driver.RunToEnd((action, _) => action == FlowAction.RunPreflight ? Answer.Fail : Answer.Succeed));
        Assert.Equal([FlowAction.RunPreflight], driver.SentActions);
        Assert.Equal(FailureCause.SiblingFunctionsMissing, driver.Saga.Cause!.Cause);
        Assert.Contains(ScriptedHost.UsbSibling.ToString(), driver.Saga.Cause.Message, StringComparison.Ordinal);
        Assert.Contains("SiblingFunctionsMissing", driver.Saga.History.Single().Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_sibling_held_by_another_saga_fails_preflight_with_nothing_to_undo()
    {
        var driver = new FlowDriver();
        driver.Start(FlowDriver.Passthrough());
        var passed = (PreflightPassed)driver.Host.Success(driver.PendingCommand);
        var held = new Failure(FailureCause.DeviceOwnedByAnotherVm, "device 0000:03:00.1 is held by saga X");

        var decision = driver.Flow.RejectPreflight(driver.Saga, passed, held, DateTimeOffset.UnixEpoch);

        Assert.True(decision.Finished);
        Assert.Empty(decision.Commands);
        Assert.Equal(SagaOutcome.RolledBack, driver.Saga.Outcome);
        Assert.Equal(held, driver.Saga.Cause);
    }

    [Fact]
    public void A_compensation_that_keeps_failing_is_retried_then_left_for_an_operator_and_the_rest_still_run()
    {
        var driver = new FlowDriver();
        driver.Start(FlowDriver.Passthrough());

        var outcome = driver.RunToEnd((action, _) => action is FlowAction.Start or FlowAction.RestorePciKey ? Answer.Fail : Answer.Succeed);

        Assert.Equal(SagaOutcome.RollbackFailed, outcome);
        var restores = driver.Sent.OfType<RestoreVmPciKey>().ToList();
        Assert.Equal([1, 2, 3], restores.Select(r => r.Attempt));
        Assert.Equal(3, restores.Select(r => r.CommandId).Distinct().Count());
        Assert.All(restores, r => Assert.Equal(driver.Host.VmPciKey, r.Value));
        Assert.Equal(
            [FlowAction.UndoStart, FlowAction.RestorePciKey, FlowAction.RestorePciKey, FlowAction.RestorePciKey, FlowAction.UndoDetach, FlowAction.UndoShutdown],
            Compensations(driver));
        var left = Assert.Single(driver.Saga.LeftForOperator);
        Assert.Contains(ScriptedHost.VmId.ToString(), left, StringComparison.Ordinal);
        Assert.Contains(driver.Host.VmPciKey!, left, StringComparison.Ordinal);
        Assert.Equal("scripted failure of StartVm", driver.Saga.Cause!.Message);
        Assert.Equal(left, Assert.Single(driver.Events.OfType<SagaFinished>()).LeftForOperator.Single());
    }

    [Fact]
    public void A_compensation_that_succeeds_on_a_retry_still_rolls_back_cleanly()
    {
        var driver = new FlowDriver();
        driver.Start(FlowDriver.Passthrough());

        var outcome = driver.RunToEnd((action, attempt) => action == FlowAction.Assign || (action == FlowAction.UndoDetach && attempt < 3) ? Answer.Fail : Answer.Succeed);

        Assert.Equal(SagaOutcome.RolledBack, outcome);
        Assert.Equal(3, driver.Sent.OfType<UndoPciDetach>().Count());
    }

    [Fact]
    public void A_silent_host_agent_fails_the_step_with_a_timeout_naming_the_agent()
    {
        var driver = new FlowDriver(new CoordinatorOptions { AssignTimeout = TimeSpan.FromSeconds(30) });
        driver.Start(FlowDriver.Passthrough());

        Assert.Equal(SagaOutcome.RolledBack, driver.RunToEnd((action, _) => action == FlowAction.Assign ? Answer.Silence : Answer.Succeed));
        Assert.Equal(FailureCause.Timeout, driver.Saga.Cause!.Cause);
        Assert.Equal($"no answer from host agent host-{ScriptedHost.HostId} within 30 s", driver.Saga.Cause.Message);
        Assert.Equal([FlowAction.RestorePciKey, FlowAction.UndoDetach, FlowAction.UndoShutdown], Compensations(driver));
    }

    [Fact]
    public void A_silent_guest_is_reported_as_never_reporting()
    {
        var driver = new FlowDriver();
        driver.Start(FlowDriver.Passthrough());

        driver.RunToEnd((action, _) => action == FlowAction.VerifyInGuest ? Answer.Silence : Answer.Succeed);
        Assert.Equal(FailureCause.GuestNeverReported, driver.Saga.Cause!.Cause);
        Assert.Contains($"guest-{ScriptedHost.VmId}", driver.Saga.Cause.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Time_scale_shortens_every_deadline()
    {
        var driver = new FlowDriver(new CoordinatorOptions { TimeScale = 0.01 });
        driver.Start(FlowDriver.Passthrough());

        Assert.Equal(TimeSpan.FromSeconds(1.2), driver.Saga.Pending!.Timeout);
        Assert.Equal(driver.Saga.Pending.SentAt + TimeSpan.FromSeconds(1.2), driver.Saga.Pending.DeadlineAt);
    }

    [Fact]
    public void Verify_waits_as_long_as_the_request_says()
    {
        var driver = new FlowDriver();
        driver.Start(FlowDriver.Passthrough(new PassthroughOptions(VerifyTimeout: TimeSpan.FromMinutes(9))));
        TimeSpan? verifyTimeout = null;

        driver.RunToEnd((action, _) =>
        {
            if (action == FlowAction.VerifyInGuest)
            {
                verifyTimeout = driver.Saga.Pending!.Timeout;
                return Answer.Silence;
            }

            return Answer.Succeed;
        });

        Assert.Equal(TimeSpan.FromMinutes(9), verifyTimeout);
        Assert.Contains("within 9 min", driver.Saga.Cause!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Stale_duplicate_and_late_replies_change_nothing()
    {
        var driver = new FlowDriver();
        driver.Start(FlowDriver.Passthrough());
        var preflightReply = driver.Host.Success(driver.PendingCommand);
        driver.Reply(preflightReply);
        var snapshotCommand = driver.PendingCommand;
        var historyBefore = driver.Saga.History.Count;

        var duplicate = driver.Reply(preflightReply);
        var lateDeadline = driver.Deadline(preflightReply.CommandId);
        var stranger = driver.Reply(new VmSnapshotted(driver.Saga.CorrelationId, Guid.NewGuid(), SagaStep.Snapshot, ScriptedHost.HostId, ScriptedHost.VmId,
            driver.Host.Snapshot));

        Assert.All([duplicate, lateDeadline, stranger], d =>
        {
            Assert.True(d.IsIgnored);
            Assert.Empty(d.Commands);
            Assert.Empty(d.Events);
        });
        Assert.Equal(historyBefore, driver.Saga.History.Count);
        Assert.Equal(snapshotCommand.CommandId, driver.Saga.Pending!.CommandId);

        // A reply that arrives after its deadline already failed the step is ignored too.
        driver.Deadline(snapshotCommand.CommandId);
        Assert.True(driver.Reply(driver.Host.Success(snapshotCommand)).IsIgnored);
        Assert.Equal(SagaPhase.Finished, driver.Saga.Phase);
    }

    [Fact]
    public void A_resend_after_a_restart_repeats_the_pending_command_with_its_id_and_records_nothing()
    {
        var driver = new FlowDriver();
        driver.Start(FlowDriver.Passthrough());
        driver.Reply(driver.Host.Success(driver.PendingCommand));
        var snapshot = driver.PendingCommand;
        var historyBefore = driver.Saga.History.Count;
        var deadlineBefore = driver.Saga.Pending!.DeadlineAt;

        var resent = driver.Flow.OnResend(driver.Saga, snapshot.CommandId);

        var command = Assert.Single(resent.Commands).Command;
        Assert.Equal(snapshot, command);
        Assert.Empty(resent.Events);
        Assert.Equal(historyBefore, driver.Saga.History.Count);
        Assert.Equal(deadlineBefore, driver.Saga.Pending!.DeadlineAt);

        // Once answered, a late resend request for it changes nothing.
        driver.Reply(driver.Host.Success(snapshot));
        Assert.True(driver.Flow.OnResend(driver.Saga, snapshot.CommandId).IsIgnored);
    }

    [Fact]
    public void An_unexpected_reply_type_to_the_pending_command_fails_the_step()
    {
        var driver = new FlowDriver();
        driver.Start(FlowDriver.Passthrough());
        var pending = driver.PendingCommand;

        driver.Reply(new VmStarted(pending.SagaId, pending.CommandId, pending.Step, ScriptedHost.HostId, ScriptedHost.VmId, true, 1));

        Assert.Equal(FailureCause.CommandFailed, driver.Saga.Cause!.Cause);
        Assert.Contains("unexpected answer VmStarted", driver.Saga.Cause.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Undo_of_a_detach_that_never_answered_restores_the_preflight_state()
    {
        var host = new ScriptedHost { HideList = null };
        var driver = new FlowDriver(host: host);
        driver.Start(FlowDriver.Passthrough());

        driver.RunToEnd((action, _) => action == FlowAction.Detach ? Answer.Silence : Answer.Succeed);

        var record = driver.Sent.OfType<UndoPciDetach>().Single().Record;
        Assert.Equal([new DriverBinding(ScriptedHost.Usb, "xhci_hcd", true)], record.Bindings);
        Assert.Equal(string.Empty, record.PreviousHideList);
        Assert.Null(record.NewHideList);
        Assert.Empty(record.Dom0AccessDisabled);
        Assert.False(record.RebootRequired);
    }

    [Fact]
    public void Undo_of_an_answered_detach_sends_the_detach_record_back()
    {
        var driver = new FlowDriver();
        driver.Start(FlowDriver.Passthrough());

        driver.RunToEnd((action, _) => action == FlowAction.Assign ? Answer.Fail : Answer.Succeed);

        Assert.Same(driver.Saga.DetachRecord, driver.Sent.OfType<UndoPciDetach>().Single().Record);
        Assert.Equal(driver.Host.HideList, driver.Saga.DetachRecord!.PreviousHideList);
    }

    [Fact]
    public void A_snapshot_that_cannot_be_destroyed_completes_and_tells_the_operator()
    {
        var driver = new FlowDriver();
        driver.Start(FlowDriver.Passthrough());

        Assert.Equal(SagaOutcome.Completed, driver.RunToEnd((action, _) => action == FlowAction.DestroySnapshot ? Answer.Fail : Answer.Succeed));
        Assert.Contains(driver.Host.Snapshot.ToString(), Assert.Single(driver.Saga.LeftForOperator), StringComparison.Ordinal);
        Assert.Null(driver.Saga.Cause);
    }

    [Fact]
    public void Release_shuts_down_unassigns_reattaches_and_restarts()
    {
        var drivers = new[] { new DriverBinding(ScriptedHost.Usb, "xhci_hcd", true) };
        var driver = new FlowDriver();
        driver.Start(FlowDriver.Release(drivers: drivers));

        Assert.Equal(SagaOutcome.Completed, driver.RunToEnd());
        Assert.Equal([FlowAction.RunReleaseCheck, FlowAction.Shutdown, FlowAction.Unassign, FlowAction.Reattach, FlowAction.Start], driver.SentActions);
        Assert.Equal(drivers, driver.Sent.OfType<ReattachPciDevices>().Single().KnownOriginalDrivers);
    }

    [Fact]
    public void Release_without_restart_leaves_the_vm_halted()
    {
        var driver = new FlowDriver();
        driver.Start(FlowDriver.Release(new ReleaseOptions(RestartVm: false)));

        Assert.Equal(SagaOutcome.Completed, driver.RunToEnd());
        Assert.Equal([FlowAction.RunReleaseCheck, FlowAction.Shutdown, FlowAction.Unassign, FlowAction.Reattach], driver.SentActions);
    }

    [Fact]
    public void A_failed_release_puts_the_devices_back_on_pciback_restores_the_key_and_restarts_the_vm()
    {
        var driver = new FlowDriver();
        driver.Start(FlowDriver.Release());

        Assert.Equal(SagaOutcome.RolledBack, driver.RunToEnd((action, _) => action == FlowAction.Reattach ? Answer.Fail : Answer.Succeed));
        Assert.Equal([FlowAction.UndoDetach, FlowAction.RestorePciKey, FlowAction.UndoShutdown], Compensations(driver));
        var undo = driver.Sent.OfType<UndoPciDetach>().Single();
        Assert.Equal(SagaStep.UndoDetach, undo.Step);
        Assert.Equal([new DriverBinding(ScriptedHost.Usb, "pciback", false)], undo.Record.Bindings);
        Assert.Equal(driver.Host.HideList, undo.Record.PreviousHideList);
        Assert.Equal(driver.Host.VmPciKey, driver.Sent.OfType<RestoreVmPciKey>().Single().Value);
    }

    [Fact]
    public void A_failed_restart_after_release_is_undone_in_reverse()
    {
        var driver = new FlowDriver();
        driver.Start(FlowDriver.Release());

        Assert.Equal(SagaOutcome.RolledBack, driver.RunToEnd((action, _) => action == FlowAction.Start ? Answer.Fail : Answer.Succeed));
        Assert.Equal([FlowAction.UndoStart, FlowAction.UndoDetach, FlowAction.RestorePciKey, FlowAction.UndoShutdown], Compensations(driver));
        Assert.True(driver.Sent.OfType<ShutdownVm>().Last().AllowForce);
    }

    private static FlowAction[] Compensations(FlowDriver driver) =>
        [.. driver.SentActions.Where(a => a >= FlowAction.UndoStart)];
}

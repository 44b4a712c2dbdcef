using Passthrough.Contracts.Api;
using Passthrough.Contracts.CoordinatorEvents;
using Passthrough.Contracts.GuestCommands;
using Passthrough.Contracts.HostCommands;
using Passthrough.Contracts.Messaging;
using Passthrough.Coordinator.Tests.Flow;
using Passthrough.Coordinator.Tests.Infrastructure;

namespace Passthrough.Coordinator.Tests.Coordinator;

/// <summary>The saga on MassTransit's in-memory bus with a fake host agent and guest agent on the same bus.</summary>
public sealed class PassthroughStateMachineTests
{
    private static PassthroughRequestBody Request(PassthroughOptionsBody? options = null) =>
        new(ScriptedHost.HostId.ToString(), ScriptedHost.VmId.ToString(), [ScriptedHost.Usb.ToString()], options, "tests");

    [Fact]
    public async Task Pv_passthrough_completes_with_every_step_in_the_history()
    {
        using var directory = new TempDirectory();
        var agents = new AgentScript();
        await using var coordinator = await CoordinatorHarness.StartAsync(new HarnessSettings(directory.Path) { Agents = agents });

        var id = await coordinator.SubmitPassthroughAsync(Request());
        var view = await coordinator.WaitForOutcomeAsync(id);

        Assert.Equal(SagaOutcome.Completed, view.Outcome);
        Assert.Equal("Finished", view.State);
        Assert.Null(view.CurrentStep);
        Assert.Equal(
            [SagaStep.Preflight, SagaStep.Snapshot, SagaStep.Shutdown, SagaStep.Detach, SagaStep.Assign, SagaStep.Start, SagaStep.Verify, SagaStep.Verify, SagaStep.Done],
            view.Steps.Select(s => s.Step));
        Assert.All(view.Steps, s => Assert.True(s.Succeeded));
        Assert.All(view.Steps, s => Assert.NotNull(s.FinishedAt));
        Assert.Equal(
            [typeof(RunPreflight), typeof(SnapshotVm), typeof(ShutdownVm), typeof(DetachPciDevices), typeof(AssignPciDevices), typeof(StartVm),
                typeof(VerifyGuestDevices), typeof(CheckPciAttachment), typeof(DestroyVmSnapshot)],
            agents.Received.Select(c => c.GetType()));
        Assert.All(agents.Received, c => Assert.Equal(id, c.SagaId));
    }

    public static TheoryData<string, Type[]> Failures => new()
    {
        { nameof(SnapshotVm), [] },
        { nameof(ShutdownVm), [typeof(StartVm)] },
        { nameof(DetachPciDevices), [typeof(UndoPciDetach), typeof(StartVm)] },
        { nameof(AssignPciDevices), [typeof(RestoreVmPciKey), typeof(UndoPciDetach), typeof(StartVm)] },
        { nameof(StartVm), [typeof(ShutdownVm), typeof(RestoreVmPciKey), typeof(UndoPciDetach), typeof(StartVm)] },
        { nameof(VerifyGuestDevices), [typeof(ShutdownVm), typeof(RestoreVmPciKey), typeof(UndoPciDetach), typeof(StartVm)] },
        { nameof(CheckPciAttachment), [typeof(ShutdownVm), typeof(RestoreVmPciKey), typeof(UndoPciDetach), typeof(StartVm)] },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task A_failure_at_a_step_rolls_back_with_the_compensations_sent_in_reverse(string failing, Type[] compensations)
    {
        using var directory = new TempDirectory();
        var agents = new AgentScript();
        var failed = 0;
        agents.Decide = command => command.GetType().Name == failing && command.Step < SagaStep.Done && Interlocked.Increment(ref failed) == 1
            ? Answer.Fail
            : Answer.Succeed;
        await using var coordinator = await CoordinatorHarness.StartAsync(new HarnessSettings(directory.Path) { Agents = agents });

        var id = await coordinator.SubmitPassthroughAsync(Request());
        var view = await coordinator.WaitForOutcomeAsync(id);

        Assert.Equal(SagaOutcome.RolledBack, view.Outcome);
        Assert.NotNull(view.Cause);
        Assert.Empty(view.LeftForOperator);
        var afterFailure = agents.Received.SkipWhile(c => c.GetType().Name != failing || c.Step >= SagaStep.Done).Skip(1).ToList();
        Assert.Equal(compensations, afterFailure.Select(c => c.GetType()));
        Assert.All(afterFailure, c => Assert.True(c.Step >= SagaStep.UndoStart, $"{c.GetType().Name} is a compensation"));
        Assert.DoesNotContain(agents.Received, c => c is DestroyVmSnapshot);
    }

    [Fact]
    public async Task A_silent_host_agent_rolls_back_through_the_durable_deadline()
    {
        using var directory = new TempDirectory();
        var agents = new AgentScript { Decide = command => command is AssignPciDevices ? Answer.Silence : Answer.Succeed };
        await using var coordinator = await CoordinatorHarness.StartAsync(new HarnessSettings(directory.Path) { Agents = agents });

        var id = await coordinator.SubmitPassthroughAsync(Request());
        var view = await coordinator.WaitForOutcomeAsync(id);

        Assert.Equal(SagaOutcome.RolledBack, view.Outcome);
        Assert.Equal(FailureCause.Timeout, view.Cause!.Cause);
        Assert.StartsWith($"no answer from host agent host-{ScriptedHost.HostId} within", view.Cause.Message, StringComparison.Ordinal);
        Assert.Equal(FailureCause.Timeout, view.Steps.Single(s => s.Step == SagaStep.Assign).Failure!.Cause);
        Assert.Equal([SagaStep.UndoAssign, SagaStep.UndoDetach, SagaStep.UndoShutdown],
            view.Steps.SkipWhile(s => s.Step != SagaStep.Assign).Skip(1).Select(s => s.Step));

        // The deadlines of answered commands were cancelled, the one that fired was consumed: nothing stays scheduled.
        await Eventually.HoldsAsync(async () => await coordinator.Services.ScheduledCountAsync() == 0, "no deadline stays scheduled");
    }

    [Fact]
    public async Task A_guest_that_never_reports_rolls_back_with_guest_never_reported()
    {
        using var directory = new TempDirectory();
        var agents = new AgentScript { Decide = command => command is VerifyGuestDevices ? Answer.Silence : Answer.Succeed };
        await using var coordinator = await CoordinatorHarness.StartAsync(new HarnessSettings(directory.Path) { Agents = agents });

        var id = await coordinator.SubmitPassthroughAsync(Request(new PassthroughOptionsBody(VerifyTimeoutSeconds: 100)));
        var view = await coordinator.WaitForOutcomeAsync(id);

        Assert.Equal(FailureCause.GuestNeverReported, view.Cause!.Cause);
        Assert.Equal(SagaOutcome.RolledBack, view.Outcome);
    }

    [Fact]
    public async Task Duplicate_replies_cause_no_double_step()
    {
        using var directory = new TempDirectory();
        var agents = new AgentScript { DuplicateReplies = true };
        await using var coordinator = await CoordinatorHarness.StartAsync(new HarnessSettings(directory.Path) { Agents = agents });

        var id = await coordinator.SubmitPassthroughAsync(Request());
        var view = await coordinator.WaitForOutcomeAsync(id);

        Assert.Equal(SagaOutcome.Completed, view.Outcome);
        Assert.Equal(9, view.Steps.Count);
        Assert.Equal(9, agents.Received.Count);
        Assert.Equal(9, agents.Received.Select(c => c.CommandId).Distinct().Count());
    }

    [Fact]
    public async Task A_compensation_failing_every_attempt_ends_rollback_failed_with_a_note_for_the_operator()
    {
        using var directory = new TempDirectory();
        var agents = new AgentScript { Decide = command => command is StartVm { Step: SagaStep.Start } or UndoPciDetach ? Answer.Fail : Answer.Succeed };
        await using var coordinator = await CoordinatorHarness.StartAsync(new HarnessSettings(directory.Path) { Agents = agents });

        var id = await coordinator.SubmitPassthroughAsync(Request());
        var view = await coordinator.WaitForOutcomeAsync(id);

        Assert.Equal(SagaOutcome.RollbackFailed, view.Outcome);
        Assert.Equal([1, 2, 3], agents.Received.OfType<UndoPciDetach>().Select(c => c.Attempt));
        Assert.Contains($"Host {ScriptedHost.HostId}", Assert.Single(view.LeftForOperator), StringComparison.Ordinal);
        Assert.IsType<StartVm>(agents.Received.Last());
    }
}

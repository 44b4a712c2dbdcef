using System.Globalization;
using Passthrough.Contracts.CoordinatorCommands;
using Passthrough.Contracts.CoordinatorEvents;
using Passthrough.Contracts.GuestCommands;
using Passthrough.Contracts.GuestEvents;
using Passthrough.Contracts.HostCommands;
using Passthrough.Contracts.HostEvents;
using Passthrough.Contracts.Messaging;
using Passthrough.Contracts.Pci;

namespace Passthrough.Coordinator.Sagas;

/// <summary>A command to send and where.</summary>
public sealed record OutgoingCommand(Uri Destination, ISagaCommand Command);

/// <summary>What the flow decided for one input: commands to send, events to publish, whether the saga ended.</summary>
public sealed class FlowDecision
{
    internal FlowDecision(string? ignoredBecause = null)
    {
        IgnoredBecause = ignoredBecause;
    }

    /// <summary>Why the input changed nothing (a stale, duplicate or late reply); null when it was applied.</summary>
    public string? IgnoredBecause { get; }

    public bool IsIgnored => IgnoredBecause is not null;

    public List<OutgoingCommand> Commands { get; } = [];

    /// <summary>SagaStepStarted, SagaStepFinished and SagaFinished, in the order they happened.</summary>
    public List<object> Events { get; } = [];

    /// <summary>True when this input ended the saga.</summary>
    public bool Finished { get; internal set; }
}

/// <summary>
/// The passthrough and release sagas' logic, without I/O: given the instance and a request, a reply or a deadline, it
/// records what happened in the instance and says which command to send next. The MassTransit state machine only
/// correlates, persists and dispatches what this decides, so every path is unit-testable.
/// </summary>
/// <remarks>
/// Rules (docs: saga-protocol): only the pending command's reply or deadline moves a saga; every forward step whose
/// command was sent is compensated in reverse order, whether it answered success, failure or nothing; compensations
/// restore the preflight-captured state and are retried with a new command id up to
/// <see cref="CoordinatorOptions.CompensationAttempts"/> times, then left for an operator.
/// </remarks>
public sealed class SagaFlow
{
    private readonly CoordinatorOptions _options;

    public SagaFlow(CoordinatorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
    }

    /// <summary>The snapshot name a passthrough saga gives its snapshot.</summary>
    public static string SnapshotName(Guid sagaId) => $"passthrough-{sagaId}";

    /// <summary>Starts a passthrough saga: records the request and sends the preflight.</summary>
    public FlowDecision Start(PassthroughSagaState saga, RequestPassthrough request, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(saga);
        ArgumentNullException.ThrowIfNull(request);
        saga.Kind = SagaKind.Passthrough;
        saga.Host = request.Host;
        saga.Vm = request.Vm;
        saga.Devices = [.. request.Devices];
        saga.PassthroughOptions = request.Options;
        saga.RequestedBy = request.RequestedBy;
        saga.RequestedAt = request.At;
        var decision = new FlowDecision();
        Send(saga, decision, FlowAction.RunPreflight, 1, now);
        return decision;
    }

    /// <summary>Starts a release saga: records the request and sends the release check.</summary>
    public FlowDecision Start(PassthroughSagaState saga, RequestRelease request, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(saga);
        ArgumentNullException.ThrowIfNull(request);
        saga.Kind = SagaKind.Release;
        saga.Host = request.Host;
        saga.Vm = request.Vm;
        saga.Devices = [.. request.Devices];
        saga.ReleaseOptions = request.Options;
        saga.KnownOriginalDrivers = [.. request.KnownOriginalDrivers];
        saga.RequestedBy = request.RequestedBy;
        saga.RequestedAt = request.At;
        var decision = new FlowDecision();
        Send(saga, decision, FlowAction.RunReleaseCheck, 1, now);
        return decision;
    }

    /// <summary>True when <paramref name="reply"/> answers the command the saga waits for.</summary>
    public static bool IsPending(PassthroughSagaState saga, ISagaReply reply)
    {
        ArgumentNullException.ThrowIfNull(saga);
        ArgumentNullException.ThrowIfNull(reply);
        return saga.Phase != SagaPhase.Finished && saga.Pending is { } pending && pending.CommandId == reply.CommandId;
    }

    /// <summary>Applies a reply; anything but the pending command's reply is ignored.</summary>
    public FlowDecision OnReply(PassthroughSagaState saga, ISagaReply reply, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(saga);
        ArgumentNullException.ThrowIfNull(reply);
        if (Ignore(saga, reply.CommandId) is { } ignored)
        {
            return ignored;
        }

        var pending = saga.Pending!;
        var (failure, detail) = Interpret(saga, pending, reply);
        return Conclude(saga, pending, failure, detail, now);
    }

    /// <summary>
    /// Preflight passed but a device it added (a sibling) is claimed by another saga: the preflight step fails with
    /// <paramref name="failure"/>; nothing changed yet, so the saga rolls back without compensations.
    /// </summary>
    public FlowDecision RejectPreflight(PassthroughSagaState saga, PreflightPassed reply, Failure failure, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(saga);
        ArgumentNullException.ThrowIfNull(reply);
        ArgumentNullException.ThrowIfNull(failure);
        if (Ignore(saga, reply.CommandId) is { } ignored)
        {
            return ignored;
        }

        return Conclude(saga, saga.Pending!, failure, failure.Message, now);
    }

    /// <summary>A step deadline fired: when <paramref name="commandId"/> is still pending, that command failed with a timeout.</summary>
    public FlowDecision OnDeadline(PassthroughSagaState saga, Guid commandId, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(saga);
        if (Ignore(saga, commandId) is { } ignored)
        {
            return ignored;
        }

        var pending = saga.Pending!;
        var waited = Describe(pending.Timeout);
        var failure = pending.Action == FlowAction.VerifyInGuest
            ? new Failure(FailureCause.GuestNeverReported, $"no answer from guest agent {pending.Agent} within {waited}",
                FixHint: "Check that the guest booted and its agent runs and reaches the broker; verify over SSH (guestSsh) for guests without an agent.")
            : new Failure(FailureCause.Timeout, $"no answer from host agent {pending.Agent} within {waited}",
                FixHint: "Check that the host agent runs and reaches the broker and the host.");
        return Conclude(saga, pending, failure, failure.Message, now);
    }

    /// <summary>
    /// The pending command again, with the same command id and attempt (after a coordinator restart); nothing is recorded
    /// and the deadline stays, so the step's history and timing are those of the first send.
    /// </summary>
    public FlowDecision OnResend(PassthroughSagaState saga, Guid commandId)
    {
        ArgumentNullException.ThrowIfNull(saga);
        if (Ignore(saga, commandId) is { } ignored)
        {
            return ignored;
        }

        var pending = saga.Pending!;
        var (destination, _, command) = Build(saga, pending.Action, pending.Step, pending.Attempt, pending.CommandId);
        var decision = new FlowDecision();
        decision.Commands.Add(new OutgoingCommand(destination, command));
        return decision;
    }

    private static FlowDecision? Ignore(PassthroughSagaState saga, Guid commandId)
    {
        if (saga.Phase == SagaPhase.Finished)
        {
            return new FlowDecision("the saga has finished");
        }

        if (saga.Pending is not { } pending)
        {
            return new FlowDecision("the saga waits for no command");
        }

        return pending.CommandId != commandId
            ? new FlowDecision($"command {commandId} is not the pending command {pending.CommandId} ({pending.Action})")
            : null;
    }

    // Records the pending command's end and moves on: the next step, the compensations, or the end.
    private FlowDecision Conclude(PassthroughSagaState saga, PendingCommand pending, Failure? failure, string? detail, DateTimeOffset now)
    {
        var decision = new FlowDecision();
        var record = saga.History.Last(r => r.CommandId == pending.CommandId);
        record.FinishedAt = now;
        record.Succeeded = failure is null;
        record.Failure = failure;
        record.Detail = detail;
        decision.Events.Add(new SagaStepFinished(saga.CorrelationId, saga.Kind, pending.Step, failure is null, failure, now));
        saga.Pending = null;

        if (saga.Phase == SagaPhase.Compensating)
        {
            if (failure is null)
            {
                NextCompensation(saga, decision, now);
            }
            else
            {
                CompensationFailed(saga, decision, pending, failure, now);
            }

            return decision;
        }

        if (pending.Action == FlowAction.DestroySnapshot)
        {
            // The passthrough itself worked; a snapshot that stays is a chore for a person, not a reason to undo it.
            if (failure is not null)
            {
                saga.LeftForOperator.Add($"Snapshot {saga.SnapshotId} of VM {saga.Vm} on host {saga.Host} was not destroyed ({failure.Message}): " +
                                         $"remove it with 'xe snapshot-uninstall snapshot-uuid={saga.SnapshotId} force=true'.");
            }

            Finish(saga, decision, SagaOutcome.Completed, now);
            return decision;
        }

        if (failure is null)
        {
            Advance(saga, decision, pending.Action, now);
        }
        else
        {
            ForwardFailed(saga, decision, failure, now);
        }

        return decision;
    }

    // What a reply means for the pending action: success (with its effect recorded in the instance) or a failure.
    private static (Failure? Failure, string Detail) Interpret(PassthroughSagaState saga, PendingCommand pending, ISagaReply reply)
    {
        switch (pending.Action, reply)
        {
            case (_, HostCommandFailed failed):
                return (failed.Failure, failed.Failure.Message);

            case (FlowAction.RunPreflight or FlowAction.RunReleaseCheck, PreflightPassed passed):
                saga.Preflight = passed;
                saga.Devices = [.. passed.Devices.Select(d => d.Address)];
                return (null,
                    $"VM '{passed.VmName}' {passed.PowerState} {passed.DomainType}; Xen {passed.XenVersion}, IOMMU {(passed.IommuEnabled ? "on" : "off")}; " +
                    $"devices {Join(saga.Devices)}; other-config:pci {Show(passed.VmPciKey)}; hide list {Show(passed.NextBootHideList)}" +
                    (passed.Warnings.Count > 0 ? "; warnings: " + string.Join("; ", passed.Warnings) : string.Empty));

            case (FlowAction.RunPreflight or FlowAction.RunReleaseCheck, PreflightRefused refused):
                return (RefusalCause(refused), "refused: " + string.Join("; ", refused.Reasons.Select(r => $"{r.Cause}: {r.Message}")));

            case (FlowAction.Snapshot, VmSnapshotted snapshotted):
                saga.SnapshotId = snapshotted.Snapshot;
                return (null, $"snapshot {snapshotted.Snapshot}");

            case (FlowAction.Shutdown or FlowAction.UndoStart, VmShutDown down):
                if (pending.Action == FlowAction.Shutdown)
                {
                    saga.ShutdownSucceeded = true;
                }

                return (null, !down.WasRunning ? "already halted" : down.Forced ? "forced off" : "shut down cleanly");

            case (FlowAction.Detach, PciDevicesDetached detached):
                saga.DetachRecord = detached.Record;
                return (null, $"{detached.Record.Mode}: {string.Join(", ", detached.Record.Bindings.Select(b => $"{b.Address} from {b.OriginalDriver ?? "no driver"}"))}; " +
                              $"hide list {(detached.Record.NewHideList is null ? "untouched" : $"{Show(detached.Record.PreviousHideList)} → {Show(detached.Record.NewHideList)}")}" +
                              (detached.Record.RebootRequired ? "; takes effect after a host reboot" : string.Empty));

            case (FlowAction.HostReboot, HostRebooted rebooted):
                return (null, $"boot id {rebooted.PreviousBootId} → {rebooted.BootId}");

            case (FlowAction.Assign or FlowAction.Unassign or FlowAction.RestorePciKey, VmPciKeyChanged changed):
                return (null, $"other-config:pci {Show(changed.PreviousValue)} → {Show(changed.NewValue)}");

            case (FlowAction.Reattach, PciDevicesReattached reattached):
                return (null, $"back to {string.Join(", ", reattached.Restored.Select(b => $"{b.Address} {b.OriginalDriver ?? "(drivers_probe)"}"))}; " +
                              $"hide list {Show(reattached.PreviousHideList)} → {Show(reattached.NewHideList)}");

            case (FlowAction.Start or FlowAction.UndoShutdown, VmStarted started):
                return (null, started.WasHalted ? $"started (domid {started.DomId?.ToString(CultureInfo.InvariantCulture) ?? "?"})" : "already running");

            case (FlowAction.VerifyInGuest, GuestDevicesVerified verified):
                return Verdict(verified.Verified, verified.Problems, verified.Kernel, verified.GuestType, verified.Pcifront, verified.Devices.Count, "guest agent");

            case (FlowAction.VerifyOverSsh, GuestProbedOverSsh probed):
                return Verdict(probed.Verified, probed.Problems, probed.Kernel ?? "unknown kernel", probed.GuestType, probed.Pcifront, probed.Devices.Count, "SSH probe");

            case (FlowAction.CheckAttachment, PciAttachmentChecked checkedAttachment):
                return checkedAttachment.Missing.Count == 0
                    ? (null, $"attached: {Join(checkedAttachment.Attached)}")
                    : (new Failure(FailureCause.DeviceCannotBeAdded,
                            $"the running domain of VM {saga.Vm} lacks {Join(checkedAttachment.Missing)} on host {saga.Host}",
                            FixHint: "Look for Device.PCI.Cannot_add, IOMMU or RMRR errors in the host's xensource.log and hypervisor.log."),
                        $"missing: {Join(checkedAttachment.Missing)}");

            case (FlowAction.DestroySnapshot or FlowAction.DestroyRevertedSnapshot, VmSnapshotDestroyed destroyed):
                return (null, $"snapshot {destroyed.Snapshot} destroyed");

            case (FlowAction.DestroyUnconfirmedSnapshot, VmSnapshotsDestroyed destroyed):
                return (null, destroyed.Snapshots.Count == 0 ? "no snapshot was taken" : $"snapshot {string.Join(", ", destroyed.Snapshots)} destroyed");

            case (FlowAction.RevertSnapshot, VmSnapshotReverted reverted):
                return (null, $"reverted to snapshot {reverted.Snapshot}");

            case (FlowAction.UndoDetach, PciDetachUndone undone):
                return (null, $"restored {string.Join(", ", undone.Restored.Select(b => $"{b.Address} {b.OriginalDriver ?? "(no driver)"}"))}; hide list {Show(undone.HideList)}");

            default:
                var unexpected = new Failure(FailureCause.CommandFailed,
                    $"unexpected answer {reply.GetType().Name} to {pending.Action} (command {pending.CommandId})");
                return (unexpected, unexpected.Message);
        }
    }

    private static (Failure?, string) Verdict(bool verified, IReadOnlyList<Failure> problems, string kernel, GuestType type, PcifrontState pcifront,
        int deviceCount, string by)
    {
        var detail = string.Create(CultureInfo.InvariantCulture, $"{by}: {type} kernel {kernel}, pcifront {pcifront}, {deviceCount} PCI device(s)");
        if (verified)
        {
            return (null, detail);
        }

        var failure = problems.Count > 0
            ? problems[0]
            : new Failure(FailureCause.GuestDeviceMissing, $"the {by} did not verify the devices and named no problem");
        return (failure, detail + "; problems: " + string.Join("; ", problems.Select(p => $"{p.Cause}: {p.Message}")));
    }

    private static Failure RefusalCause(PreflightRefused refused)
    {
        var first = refused.Reasons.Count > 0
            ? refused.Reasons[0]
            : new Failure(FailureCause.Unknown, "preflight refused without a reason");
        var message = "preflight refused: " + string.Join("; ", refused.Reasons.Select(r => r.Message));
        if (refused.SuggestedSiblings.Count > 0)
        {
            message += $"; include the sibling functions {Join(refused.SuggestedSiblings)} (or set includeSiblings)";
        }

        return first with { Message = message };
    }

    // The next forward step after the pending one succeeded.
    private void Advance(PassthroughSagaState saga, FlowDecision decision, FlowAction done, DateTimeOffset now)
    {
        var vmRunsBefore = saga.Preflight!.PowerState != VmPowerState.Halted;
        FlowAction? next = (saga.Kind, done) switch
        {
            (SagaKind.Passthrough, FlowAction.RunPreflight) => FlowAction.Snapshot,
            (SagaKind.Passthrough, FlowAction.Snapshot) => vmRunsBefore ? FlowAction.Shutdown : FlowAction.Detach,
            (SagaKind.Passthrough, FlowAction.Shutdown) => FlowAction.Detach,
            (SagaKind.Passthrough, FlowAction.Detach) => saga.DetachRecord!.RebootRequired ? FlowAction.HostReboot : FlowAction.Assign,
            (SagaKind.Passthrough, FlowAction.HostReboot) => FlowAction.Assign,
            (SagaKind.Passthrough, FlowAction.Assign) => FlowAction.Start,
            (SagaKind.Passthrough, FlowAction.Start) => saga.PassthroughOptions!.GuestSsh is null ? FlowAction.VerifyInGuest : FlowAction.VerifyOverSsh,
            (SagaKind.Passthrough, FlowAction.VerifyInGuest or FlowAction.VerifyOverSsh) => FlowAction.CheckAttachment,
            (SagaKind.Passthrough, FlowAction.CheckAttachment) => KeepsSnapshot(saga) ? null : FlowAction.DestroySnapshot,
            (SagaKind.Release, FlowAction.RunReleaseCheck) => vmRunsBefore ? FlowAction.Shutdown : FlowAction.Unassign,
            (SagaKind.Release, FlowAction.Shutdown) => FlowAction.Unassign,
            (SagaKind.Release, FlowAction.Unassign) => FlowAction.Reattach,
            (SagaKind.Release, FlowAction.Reattach) => saga.Preflight.PowerState == VmPowerState.Running && saga.ReleaseOptions!.RestartVm
                ? FlowAction.Start
                : null,
            (SagaKind.Release, FlowAction.Start) => null,
            _ => throw new InvalidOperationException($"No step follows {done} in a {saga.Kind} saga."),
        };

        if (next == FlowAction.HostReboot && !saga.PassthroughOptions!.AllowHostReboot)
        {
            // The detach ran (and is compensated); the hide only takes effect at the next boot, which we may not cause.
            var refusal = new Failure(FailureCause.InvalidInput,
                $"host {saga.Host} must reboot for hide mode {saga.DetachRecord!.Mode} to take effect, and the request does not allow a host reboot",
                FixHint: "Submit again with allowHostReboot, or with hideMode Dynamic where the device binds to pciback without a reboot.");
            saga.History.Add(new SagaStepRecord
            {
                Step = SagaStep.HostReboot,
                Action = FlowAction.HostReboot,
                Attempt = 0,
                CommandId = Guid.Empty,
                StartedAt = now,
                FinishedAt = now,
                Succeeded = false,
                Failure = refusal,
                Detail = "not sent: allowHostReboot is false",
            });
            decision.Events.Add(new SagaStepFinished(saga.CorrelationId, saga.Kind, SagaStep.HostReboot, false, refusal, now));
            ForwardFailed(saga, decision, refusal, now);
            return;
        }

        if (next is { } action)
        {
            Send(saga, decision, action, 1, now);
        }
        else
        {
            Finish(saga, decision, SagaOutcome.Completed, now);
        }
    }

    private static bool KeepsSnapshot(PassthroughSagaState saga) =>
        saga.SnapshotId is null || saga.PassthroughOptions!.Snapshot == SnapshotPolicy.Keep;

    private void ForwardFailed(PassthroughSagaState saga, FlowDecision decision, Failure failure, DateTimeOffset now)
    {
        saga.Cause ??= failure;
        saga.Phase = SagaPhase.Compensating;
        saga.RemainingCompensations = PlanCompensations(saga);
        NextCompensation(saga, decision, now);
    }

    /// <summary>The compensations of the started steps, in the order the protocol fixes (reverse of the steps).</summary>
    internal static List<FlowAction> PlanCompensations(PassthroughSagaState saga)
    {
        bool Started(FlowAction action) => saga.StartedActions.Contains(action);
        var ranBefore = saga.Preflight?.PowerState == VmPowerState.Running;
        List<FlowAction> plan = [];
        if (saga.Kind == SagaKind.Passthrough)
        {
            if (Started(FlowAction.Start))
            {
                plan.Add(FlowAction.UndoStart);
            }

            if (Started(FlowAction.Assign))
            {
                plan.Add(FlowAction.RestorePciKey);
            }

            if (Started(FlowAction.Detach))
            {
                plan.Add(FlowAction.UndoDetach);
            }

            // A revert needs the snapshot's uuid and a halted VM: halted before the saga, or halted by its shutdown.
            var knownHalted = saga.Preflight?.PowerState == VmPowerState.Halted || saga.ShutdownSucceeded;
            if (saga.PassthroughOptions!.Snapshot == SnapshotPolicy.RevertOnFailure && saga.SnapshotId is not null)
            {
                // Without a halted VM nothing after the shutdown ran (the steps are sequential), so the VM's configuration
                // is untouched: there is nothing to revert, but the snapshot the saga took must still go.
                if (knownHalted)
                {
                    plan.Add(FlowAction.RevertSnapshot);
                }

                plan.Add(FlowAction.DestroyRevertedSnapshot);
            }
            else if (saga.PassthroughOptions!.Snapshot == SnapshotPolicy.RevertOnFailure && Started(FlowAction.Snapshot))
            {
                // The snapshot step failed or never answered: a snapshot may exist (or still be in the making) all the
                // same. Nothing after it ran, so there is nothing to revert, only that snapshot to remove.
                plan.Add(FlowAction.DestroyUnconfirmedSnapshot);
            }

            if (Started(FlowAction.Shutdown) && ranBefore)
            {
                plan.Add(FlowAction.UndoShutdown);
            }
        }
        else
        {
            if (Started(FlowAction.Start))
            {
                plan.Add(FlowAction.UndoStart);
            }

            if (Started(FlowAction.Reattach))
            {
                plan.Add(FlowAction.UndoDetach);
            }

            if (Started(FlowAction.Unassign))
            {
                plan.Add(FlowAction.RestorePciKey);
            }

            if (Started(FlowAction.Shutdown) && ranBefore)
            {
                plan.Add(FlowAction.UndoShutdown);
            }
        }

        return plan;
    }

    private void NextCompensation(PassthroughSagaState saga, FlowDecision decision, DateTimeOffset now)
    {
        if (saga.RemainingCompensations.Count == 0)
        {
            Finish(saga, decision, saga.LeftForOperator.Count > 0 ? SagaOutcome.RollbackFailed : SagaOutcome.RolledBack, now);
            return;
        }

        var action = saga.RemainingCompensations[0];
        saga.RemainingCompensations.RemoveAt(0);
        Send(saga, decision, action, 1, now);
    }

    private void CompensationFailed(PassthroughSagaState saga, FlowDecision decision, PendingCommand pending, Failure failure, DateTimeOffset now)
    {
        if (pending.Attempt < _options.CompensationAttempts)
        {
            Send(saga, decision, pending.Action, pending.Attempt + 1, now);
            return;
        }

        saga.LeftForOperator.Add(LeftForOperator(saga, pending.Action, failure));
        if (pending.Action == FlowAction.RevertSnapshot)
        {
            // Destroying the snapshot the VM was not reverted to would throw away the only way back.
            saga.RemainingCompensations.Remove(FlowAction.DestroyRevertedSnapshot);
        }

        NextCompensation(saga, decision, now);
    }

    private static string LeftForOperator(PassthroughSagaState saga, FlowAction action, Failure failure)
    {
        var devices = Join(saga.Devices);
        var why = $"(after every attempt: {failure.Message})";
        return action switch
        {
            FlowAction.UndoStart =>
                $"VM {saga.Vm} on host {saga.Host} may still be running with {devices}: shut it down (xe vm-shutdown uuid={saga.Vm} force=true) {why}.",
            FlowAction.RestorePciKey => saga.Preflight?.VmPciKey is { } before
                ? $"VM {saga.Vm} on host {saga.Host}: other-config:pci could not be restored; set it back to '{before}' (xe vm-param-set uuid={saga.Vm} other-config:pci={before}) {why}."
                : $"VM {saga.Vm} on host {saga.Host}: other-config:pci could not be removed; remove it (xe vm-param-remove uuid={saga.Vm} param-name=other-config param-key=pci) {why}.",
            FlowAction.UndoDetach => saga.Kind == SagaKind.Passthrough
                ? $"Host {saga.Host}: {devices} may still be bound to pciback and hidden from dom0; rebind " +
                  string.Join(", ", UndoDetachRecord(saga).Bindings.Select(b => $"{b.Address} to {b.OriginalDriver ?? "no driver"}")) +
                  $" and restore the hide list to {Show(UndoDetachRecord(saga).PreviousHideList)} (xen-cmdline) {why}."
                : $"Host {saga.Host}: {devices} may be back with dom0 drivers while the VM still lists them; bind them to pciback and restore the hide list to " +
                  $"{Show(saga.Preflight?.NextBootHideList ?? string.Empty)} {why}.",
            FlowAction.RevertSnapshot =>
                $"VM {saga.Vm} on host {saga.Host} was not reverted to snapshot {saga.SnapshotId}; the snapshot is kept: revert by hand if needed {why}.",
            FlowAction.DestroyRevertedSnapshot =>
                $"Snapshot {saga.SnapshotId} of VM {saga.Vm} on host {saga.Host} remains; remove it (xe snapshot-uninstall snapshot-uuid={saga.SnapshotId} force=true) {why}.",
            FlowAction.DestroyUnconfirmedSnapshot =>
                $"VM {saga.Vm} on host {saga.Host} may have a snapshot named '{SnapshotName(saga.CorrelationId)} [<command id>]' the saga did not confirm; " +
                $"find it (xe snapshot-list snapshot-of={saga.Vm} params=uuid,name-label) and remove it (xe snapshot-uninstall snapshot-uuid=<uuid> force=true) {why}.",
            FlowAction.UndoShutdown =>
                $"VM {saga.Vm} on host {saga.Host} ran before the saga and is halted now; start it (xe vm-start uuid={saga.Vm}) {why}.",
            _ => $"{action} on host {saga.Host} for VM {saga.Vm} failed {why}.",
        };
    }

    private static void Finish(PassthroughSagaState saga, FlowDecision decision, SagaOutcome outcome, DateTimeOffset now)
    {
        saga.Phase = SagaPhase.Finished;
        saga.Outcome = outcome;
        saga.Pending = null;
        saga.RemainingCompensations.Clear();
        saga.FinishedAt = now;
        if (outcome == SagaOutcome.Completed)
        {
            saga.Cause = null;
        }

        decision.Finished = true;
        decision.Events.Add(new SagaFinished(saga.CorrelationId, saga.Kind, saga.Host, saga.Vm, [.. saga.Devices], outcome, saga.Cause,
            [.. saga.LeftForOperator], now));
    }

    private void Send(PassthroughSagaState saga, FlowDecision decision, FlowAction action, int attempt, DateTimeOffset now)
    {
        var commandId = Guid.NewGuid();
        var step = StepOf(saga, action);
        var (destination, agent, command) = Build(saga, action, step, attempt, commandId);
        var timeout = TimeoutOf(saga, action);
        if (saga.Phase == SagaPhase.Forward && !saga.StartedActions.Contains(action))
        {
            saga.StartedActions.Add(action);
        }

        saga.Pending = new PendingCommand
        {
            Action = action,
            Step = step,
            Attempt = attempt,
            CommandId = commandId,
            Agent = agent,
            SentAt = now,
            Timeout = timeout,
            DeadlineAt = now + timeout,
        };
        saga.History.Add(new SagaStepRecord { Step = step, Action = action, Attempt = attempt, CommandId = commandId, StartedAt = now });
        decision.Events.Add(new SagaStepStarted(saga.CorrelationId, saga.Kind, step, attempt, now));
        decision.Commands.Add(new OutgoingCommand(destination, command));
    }

    private static SagaStep StepOf(PassthroughSagaState saga, FlowAction action) => action switch
    {
        FlowAction.RunPreflight or FlowAction.RunReleaseCheck => SagaStep.Preflight,
        FlowAction.Snapshot => SagaStep.Snapshot,
        FlowAction.Shutdown => SagaStep.Shutdown,
        FlowAction.Detach => SagaStep.Detach,
        FlowAction.HostReboot => SagaStep.HostReboot,
        FlowAction.Assign => SagaStep.Assign,
        FlowAction.Unassign => SagaStep.Unassign,
        FlowAction.Reattach => SagaStep.Reattach,
        FlowAction.Start => SagaStep.Start,
        FlowAction.VerifyInGuest or FlowAction.VerifyOverSsh or FlowAction.CheckAttachment => SagaStep.Verify,
        FlowAction.DestroySnapshot => SagaStep.Done,
        FlowAction.UndoStart => SagaStep.UndoStart,
        FlowAction.RestorePciKey => SagaStep.UndoAssign,
        FlowAction.UndoDetach => SagaStep.UndoDetach,
        FlowAction.RevertSnapshot or FlowAction.DestroyRevertedSnapshot or FlowAction.DestroyUnconfirmedSnapshot => SagaStep.UndoSnapshot,
        FlowAction.UndoShutdown => SagaStep.UndoShutdown,
        _ => throw new ArgumentOutOfRangeException(nameof(action), action, $"No step for {action} in a {saga.Kind} saga."),
    };

    private TimeSpan TimeoutOf(PassthroughSagaState saga, FlowAction action) => _options.Scale(action switch
    {
        FlowAction.RunPreflight or FlowAction.RunReleaseCheck => _options.PreflightTimeout,
        FlowAction.Snapshot or FlowAction.DestroySnapshot => _options.SnapshotTimeout,
        FlowAction.Shutdown => _options.CleanShutdownDeadline + _options.ShutdownGrace,
        FlowAction.Detach => _options.DetachTimeout,
        FlowAction.HostReboot => _options.RebootTimeout,
        FlowAction.Assign or FlowAction.Unassign => _options.AssignTimeout,
        FlowAction.Reattach => _options.DetachTimeout,
        FlowAction.Start => _options.StartTimeout,
        FlowAction.VerifyInGuest or FlowAction.VerifyOverSsh => saga.PassthroughOptions?.VerifyTimeout ?? _options.VerifyTimeout,
        FlowAction.CheckAttachment => _options.AttachmentCheckTimeout,
        // A revert or destroy of a large VM takes snapshot time, not a quick-compensation time.
        FlowAction.RevertSnapshot or FlowAction.DestroyRevertedSnapshot => Max(_options.SnapshotTimeout, _options.CompensationTimeout),
        // It waits on the host agent's queue behind the snapshot still in the making, then destroys it.
        FlowAction.DestroyUnconfirmedSnapshot => Max(2 * _options.SnapshotTimeout, _options.CompensationTimeout),
        FlowAction.UndoShutdown => Max(_options.StartTimeout, _options.CompensationTimeout),
        FlowAction.UndoStart => Max(_options.CleanShutdownDeadline + _options.ShutdownGrace, _options.CompensationTimeout),
        _ => _options.CompensationTimeout,
    });

    private static TimeSpan Max(TimeSpan left, TimeSpan right) => left > right ? left : right;

    private (Uri Destination, string Agent, ISagaCommand Command) Build(PassthroughSagaState saga, FlowAction action, SagaStep step, int attempt, Guid commandId)
    {
        var id = saga.CorrelationId;
        var host = saga.Host;
        var vm = saga.Vm;
        IReadOnlyList<PciAddress> devices = [.. saga.Devices];
        var hostAddress = AgentQueues.HostAddress(host);
        var hostAgent = AgentQueues.ForHost(host);
        var cleanShutdown = _options.Scale(_options.CleanShutdownDeadline);
        ISagaCommand command;
        switch (action)
        {
            case FlowAction.RunPreflight:
                var options = saga.PassthroughOptions!;
                command = new RunPreflight(id, step, attempt, commandId, host, vm, devices,
                    new PreflightOptions(options.HideMode, options.Iommu == IommuPolicy.AllowPvWithoutIommu, options.AllowHostReboot, options.IncludeSiblings));
                break;
            case FlowAction.RunReleaseCheck:
                command = new RunReleaseCheck(id, step, attempt, commandId, host, vm, devices);
                break;
            case FlowAction.Snapshot:
                command = new SnapshotVm(id, step, attempt, commandId, host, vm, SnapshotName(id));
                break;
            case FlowAction.Shutdown:
                var allowForce = saga.Kind == SagaKind.Passthrough ? saga.PassthroughOptions!.AllowForcedShutdown : saga.ReleaseOptions!.AllowForcedShutdown;
                command = new ShutdownVm(id, step, attempt, commandId, host, vm, cleanShutdown, allowForce);
                break;
            case FlowAction.Detach:
                command = new DetachPciDevices(id, step, attempt, commandId, host, devices, saga.PassthroughOptions!.HideMode);
                break;
            case FlowAction.HostReboot:
                command = new RebootHost(id, step, attempt, commandId, host, _options.Scale(_options.HostLiveDeadline));
                break;
            case FlowAction.Assign:
                command = new AssignPciDevices(id, step, attempt, commandId, host, vm, devices);
                break;
            case FlowAction.Unassign:
                command = new UnassignPciDevices(id, step, attempt, commandId, host, vm, devices);
                break;
            case FlowAction.Reattach:
                command = new ReattachPciDevices(id, step, attempt, commandId, host, devices, [.. saga.KnownOriginalDrivers]);
                break;
            case FlowAction.Start or FlowAction.UndoShutdown:
                command = new StartVm(id, step, attempt, commandId, host, vm);
                break;
            case FlowAction.VerifyInGuest:
                // The coordinator does not track the guest's boot id yet, so the guest agent proves the rebuild by its
                // own means (a boot after the saga's start); PreviousBootId stays null.
                return (AgentQueues.GuestAddress(vm), AgentQueues.ForGuest(vm),
                    new VerifyGuestDevices(id, step, attempt, commandId, vm, Expected(saga), null, RequiresPcifront(saga)));
            case FlowAction.VerifyOverSsh:
                command = new VerifyGuestOverSsh(id, step, attempt, commandId, host, vm, saga.PassthroughOptions!.GuestSsh!, Expected(saga), null,
                    RequiresPcifront(saga));
                break;
            case FlowAction.CheckAttachment:
                command = new CheckPciAttachment(id, step, attempt, commandId, host, vm, devices);
                break;
            case FlowAction.DestroySnapshot or FlowAction.DestroyRevertedSnapshot:
                command = new DestroyVmSnapshot(id, step, attempt, commandId, host, vm, saga.SnapshotId!.Value);
                break;
            case FlowAction.DestroyUnconfirmedSnapshot:
                command = new DestroySnapshotsNamed(id, step, attempt, commandId, host, vm, SnapshotName(id));
                break;
            case FlowAction.RevertSnapshot:
                command = new RevertVmSnapshot(id, step, attempt, commandId, host, vm, saga.SnapshotId!.Value);
                break;
            case FlowAction.UndoStart:
                command = new ShutdownVm(id, step, attempt, commandId, host, vm, cleanShutdown, AllowForce: true);
                break;
            case FlowAction.RestorePciKey:
                command = new RestoreVmPciKey(id, step, attempt, commandId, host, vm, saga.Preflight!.VmPciKey);
                break;
            case FlowAction.UndoDetach:
                command = new UndoPciDetach(id, step, attempt, commandId, host, UndoDetachRecord(saga));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(action), action, $"{action} sends no command.");
        }

        return (hostAddress, hostAgent, command);
    }

    /// <summary>
    /// What UndoPciDetach restores. Passthrough: the detach's own record when it answered, otherwise one synthesised
    /// from preflight (each device back to its driver then, the hide list as it was). Release (undoing a reattach):
    /// every device back on pciback and the hide list as the release check found it.
    /// </summary>
    internal static DetachRecord UndoDetachRecord(PassthroughSagaState saga)
    {
        var preflight = saga.Preflight ?? throw new InvalidOperationException("A detach is only undone after preflight passed.");
        if (saga.Kind == SagaKind.Release)
        {
            return new DetachRecord(HideMode.Dynamic,
                [.. saga.Devices.Select(device => new DriverBinding(device, "pciback", BoundToPciback: false))],
                preflight.NextBootHideList ?? string.Empty, null, [], RebootRequired: false);
        }

        return saga.DetachRecord ?? new DetachRecord(saga.PassthroughOptions!.HideMode,
            [.. preflight.Devices.Select(device => new DriverBinding(device.Address, device.Driver, BoundToPciback: true))],
            preflight.NextBootHideList ?? string.Empty, null, [], RebootRequired: false);
    }

    private static List<ExpectedDevice> Expected(PassthroughSagaState saga) =>
        [.. saga.Preflight!.Devices.Select(device => new ExpectedDevice(device.Id))];

    // PV kernels (also inside a PVH shim) reach passed-through devices only through xen-pcifront.
    private static bool RequiresPcifront(PassthroughSagaState saga) =>
        saga.Preflight!.DomainType is GuestType.PV or GuestType.PVInPVH;

    private static string Join(IEnumerable<PciAddress> devices) => string.Join(", ", devices);

    private static string Show(string? value) => value switch
    {
        null => "(absent)",
        "" => "(empty)",
        _ => $"'{value}'",
    };

    private static string Describe(TimeSpan duration) => duration switch
    {
        { TotalSeconds: < 1 } => string.Create(CultureInfo.InvariantCulture, $"{duration.TotalMilliseconds:0} ms"),
        { TotalMinutes: < 2 } => string.Create(CultureInfo.InvariantCulture, $"{duration.TotalSeconds:0.#} s"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{duration.TotalMinutes:0.#} min"),
    };
}

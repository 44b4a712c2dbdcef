using MassTransit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Passthrough.Contracts.CoordinatorCommands;
using Passthrough.Contracts.GuestEvents;
using Passthrough.Contracts.HostEvents;
using Passthrough.Contracts.Messaging;
using Passthrough.Coordinator.Claims;

namespace Passthrough.Coordinator.Sagas;

/// <summary>
/// The passthrough and release sagas on MassTransit: correlates requests, replies and deadlines by saga id, hands them
/// to <see cref="SagaFlow"/>, sends what it decides and keeps one durable deadline scheduled for the pending command.
/// Both kinds share this machine (see <see cref="PassthroughSagaState"/>). Instances are never finalized: the
/// repository deletes finalized sagas, and the API must keep showing outcomes, so an ended saga rests in
/// <see cref="Finished"/>.
/// </summary>
/// <remarks>
/// Replies are published, so every saga endpoint sees every saga's replies: a reply without an instance is discarded,
/// and the flow ignores replies (and deadlines) whose command id is not the pending one. Concurrent replies to one saga
/// are serialised by the repository's optimistic concurrency: the loser is retried on the new version, where its
/// command id no longer matches and it changes nothing.
/// </remarks>
public sealed class PassthroughStateMachine : MassTransitStateMachine<PassthroughSagaState>
{
    private readonly SagaFlow _flow;
    private readonly ResourceClaimStore _claims;
    private readonly TimeProvider _time;
    private readonly ILogger<PassthroughStateMachine> _logger;

    public PassthroughStateMachine(IOptions<CoordinatorOptions> options, ResourceClaimStore claims, TimeProvider time, ILogger<PassthroughStateMachine> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _flow = new SagaFlow(options.Value);
        _claims = claims;
        _time = time;
        _logger = logger;

        InstanceState(x => x.CurrentState);

        Event(() => PassthroughRequested, e => e.CorrelateById(context => context.Message.SagaId));
        Event(() => ReleaseRequested, e => e.CorrelateById(context => context.Message.SagaId));
        Reply(() => PreflightPassed);
        Reply(() => PreflightRefused);
        Reply(() => VmSnapshotted);
        Reply(() => VmSnapshotReverted);
        Reply(() => VmSnapshotDestroyed);
        Reply(() => VmSnapshotsDestroyed);
        Reply(() => VmShutDown);
        Reply(() => VmStarted);
        Reply(() => PciDevicesDetached);
        Reply(() => PciDetachUndone);
        Reply(() => PciDevicesReattached);
        Reply(() => VmPciKeyChanged);
        Reply(() => HostRebooted);
        Reply(() => PciAttachmentChecked);
        Reply(() => GuestProbedOverSsh);
        Reply(() => GuestDevicesVerified);
        Reply(() => HostCommandFailed);
        Event(() => ResendRequested, e =>
        {
            e.CorrelateById(context => context.Message.SagaId);
            e.OnMissingInstance(m => m.Discard());
        });

        Schedule(() => Deadline, x => x.DeadlineToken, schedule =>
        {
            // Replaced per command by the delay the flow chose; this value is never used.
            schedule.Delay = TimeSpan.FromMinutes(5);
            schedule.Received = e =>
            {
                e.CorrelateById(context => context.Message.SagaId);
                e.OnMissingInstance(m => m.Discard());
            };
        });

        Initially(
            Apply(When(PassthroughRequested).ThenAsync(context => DispatchAsync(context, _flow.Start(context.Saga, context.Message, _time.GetUtcNow())))
                .TransitionTo(Active)),
            Apply(When(ReleaseRequested).ThenAsync(context => DispatchAsync(context, _flow.Start(context.Saga, context.Message, _time.GetUtcNow())))
                .TransitionTo(Active)));

        During(Active,
            Apply(When(PreflightPassed).ThenAsync(OnPreflightPassed)),
            Handle(PreflightRefused),
            Handle(VmSnapshotted),
            Handle(VmSnapshotReverted),
            Handle(VmSnapshotDestroyed),
            Handle(VmSnapshotsDestroyed),
            Handle(VmShutDown),
            Handle(VmStarted),
            Handle(PciDevicesDetached),
            Handle(PciDetachUndone),
            Handle(PciDevicesReattached),
            Handle(VmPciKeyChanged),
            Handle(HostRebooted),
            Handle(PciAttachmentChecked),
            Handle(GuestProbedOverSsh),
            Handle(GuestDevicesVerified),
            Handle(HostCommandFailed),
            // AnyReceived, not Received: the watchdog raises deadlines without a scheduling token; the command id is
            // what makes a deadline count.
            Apply(When(Deadline.AnyReceived).ThenAsync(context =>
                DispatchAsync(context, _flow.OnDeadline(context.Saga, context.Message.CommandId, _time.GetUtcNow())))),
            When(ResendRequested).ThenAsync(context => DispatchAsync(context, _flow.OnResend(context.Saga, context.Message.CommandId))));

        // A late reply, a repeated request or a lost deadline after the end changes nothing.
        OnUnhandledEvent(context => context.Ignore());
    }

    /// <summary>Running steps or compensations.</summary>
    public State Active { get; private set; } = null!;

    /// <summary>Ended with an outcome (never finalized: see the class remarks).</summary>
    public State Finished { get; private set; } = null!;

    public Event<RequestPassthrough> PassthroughRequested { get; private set; } = null!;

    public Event<RequestRelease> ReleaseRequested { get; private set; } = null!;

    public Event<PreflightPassed> PreflightPassed { get; private set; } = null!;

    public Event<PreflightRefused> PreflightRefused { get; private set; } = null!;

    public Event<VmSnapshotted> VmSnapshotted { get; private set; } = null!;

    public Event<VmSnapshotReverted> VmSnapshotReverted { get; private set; } = null!;

    public Event<VmSnapshotDestroyed> VmSnapshotDestroyed { get; private set; } = null!;

    public Event<VmSnapshotsDestroyed> VmSnapshotsDestroyed { get; private set; } = null!;

    public Event<VmShutDown> VmShutDown { get; private set; } = null!;

    public Event<VmStarted> VmStarted { get; private set; } = null!;

    public Event<PciDevicesDetached> PciDevicesDetached { get; private set; } = null!;

    public Event<PciDetachUndone> PciDetachUndone { get; private set; } = null!;

    public Event<PciDevicesReattached> PciDevicesReattached { get; private set; } = null!;

    public Event<VmPciKeyChanged> VmPciKeyChanged { get; private set; } = null!;

    public Event<HostRebooted> HostRebooted { get; private set; } = null!;

    public Event<PciAttachmentChecked> PciAttachmentChecked { get; private set; } = null!;

    public Event<GuestProbedOverSsh> GuestProbedOverSsh { get; private set; } = null!;

    public Event<GuestDevicesVerified> GuestDevicesVerified { get; private set; } = null!;

    public Event<HostCommandFailed> HostCommandFailed { get; private set; } = null!;

    /// <summary>The watchdog asks for the pending command again after a restart.</summary>
    public Event<ResendPendingCommand> ResendRequested { get; private set; } = null!;

    public Schedule<PassthroughSagaState, StepDeadlineExpired> Deadline { get; private set; } = null!;

    private void Reply<T>(System.Linq.Expressions.Expression<Func<Event<T>>> property)
        where T : class, ISagaReply =>
        Event(property, e =>
        {
            e.CorrelateById(context => context.Message.SagaId);
            e.OnMissingInstance(m => m.Discard());
        });

    private EventActivityBinder<PassthroughSagaState, T> Handle<T>(Event<T> @event)
        where T : class, ISagaReply =>
        Apply(When(@event).ThenAsync(context => DispatchAsync(context, _flow.OnReply(context.Saga, context.Message, _time.GetUtcNow()))));

    // After the flow decided: schedule the deadline of a newly sent command (the durable scheduler replaces the
    // previous one), and rest in Finished once the saga ended.
    private EventActivityBinder<PassthroughSagaState, T> Apply<T>(EventActivityBinder<PassthroughSagaState, T> binder)
        where T : class =>
        binder
            .If(context => context.Saga.Pending is { } pending && context.Saga.DeadlineScheduledFor != pending.CommandId,
                then => then
                    .Schedule(Deadline, context => new StepDeadlineExpired(context.Saga.CorrelationId, context.Saga.Pending!.CommandId),
                        context => context.Saga.Pending!.Timeout)
                    .Then(context => context.Saga.DeadlineScheduledFor = context.Saga.Pending!.CommandId))
            .If(context => context.Saga.Phase == SagaPhase.Finished,
                then => then
                    .Unschedule(Deadline)
                    .Then(context => context.Saga.DeadlineScheduledFor = null)
                    .TransitionTo(Finished));

    private async Task OnPreflightPassed(BehaviorContext<PassthroughSagaState, PreflightPassed> context)
    {
        var saga = context.Saga;
        var reply = context.Message;
        var now = _time.GetUtcNow();
        if (SagaFlow.IsPending(saga, reply))
        {
            // Siblings preflight added must be ours too before anything changes; the request's own devices and the VM
            // were claimed by the API. Claiming again what this saga holds is a no-op, so a retried message is safe.
            var added = reply.Devices.Select(d => d.Address).Except(saga.Devices).ToList();
            if (added.Count > 0)
            {
                var result = await _claims.TryClaimAsync(saga.CorrelationId, saga.Kind,
                    [.. added.Select(device => ResourceClaimStore.DeviceKey(saga.Host, device))], context.CancellationToken).ConfigureAwait(false);
                if (!result.Succeeded)
                {
                    CoordinatorLog.SiblingHeld(_logger, saga.CorrelationId, result.HeldBy!.Value, result.Resource!);
                    var held = new Failure(FailureCause.DeviceOwnedByAnotherVm,
                        $"preflight added {string.Join(", ", added)}, but {result.Resource} is held by saga {result.HeldBy}",
                        FixHint: "Wait for that saga to finish (GET /api/v1/sagas/" + result.HeldBy + ") and submit again.");
                    await DispatchAsync(context, _flow.RejectPreflight(saga, reply, held, now)).ConfigureAwait(false);
                    return;
                }
            }
        }

        await DispatchAsync(context, _flow.OnReply(saga, reply, now)).ConfigureAwait(false);
    }

    // Sends and publishes what the flow decided. Inside the consume pipeline these go through the in-memory outbox,
    // so they leave only after the instance was saved (and are dropped with an attempt that hit a conflict).
    private async Task DispatchAsync<T>(BehaviorContext<PassthroughSagaState, T> context, FlowDecision decision)
        where T : class
    {
        var saga = context.Saga;
        if (decision.IsIgnored)
        {
            CoordinatorLog.Ignored(_logger, saga.CorrelationId, typeof(T).Name, decision.IgnoredBecause!);
            return;
        }

        List<Task> sends = [];
        foreach (var outgoing in decision.Commands)
        {
            CoordinatorLog.CommandSent(_logger, saga.CorrelationId, saga.Kind, outgoing.Command.Step, outgoing.Command.Attempt,
                outgoing.Command.CommandId, outgoing.Destination);
            sends.Add(SendAsync(context, outgoing));
        }

        foreach (var @event in decision.Events)
        {
            // The runtime type, so subscribers of SagaStepStarted etc. receive them (not "object").
            sends.Add(context.Publish(@event, @event.GetType(), context.CancellationToken));
        }

        if (decision.Finished)
        {
            CoordinatorLog.Finished(_logger, saga.CorrelationId, saga.Kind, saga.Outcome!.Value, saga.Cause?.Message ?? "-");
            foreach (var note in saga.LeftForOperator)
            {
                CoordinatorLog.LeftForOperator(_logger, saga.CorrelationId, note);
            }
        }

        await Task.WhenAll(sends).ConfigureAwait(false);
    }

    private static async Task SendAsync(ConsumeContext context, OutgoingCommand outgoing)
    {
        var endpoint = await context.GetSendEndpoint(outgoing.Destination).ConfigureAwait(false);
        await endpoint.Send(outgoing.Command, outgoing.Command.GetType(), context.CancellationToken).ConfigureAwait(false);
    }
}

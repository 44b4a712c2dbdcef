using Passthrough.Contracts.CoordinatorCommands;
using Passthrough.Contracts.CoordinatorEvents;
using Passthrough.Contracts.Messaging;
using Passthrough.Coordinator.Sagas;
using Passthrough.Coordinator.Tests.Infrastructure;

namespace Passthrough.Coordinator.Tests.Flow;

/// <summary>What the scripted agent does with one command.</summary>
internal enum Answer
{
    Succeed,
    Fail,

    /// <summary>Never answers: the step's deadline fires.</summary>
    Silence,
}

/// <summary>
/// Runs a saga through <see cref="SagaFlow"/> alone, answering each command per a script, with a clock that moves one
/// second per command; records every command and decision.
/// </summary>
internal sealed class FlowDriver
{
    private readonly SagaFlow _flow;
    private DateTimeOffset _now = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    public FlowDriver(CoordinatorOptions? options = null, ScriptedHost? host = null)
    {
        Options = options ?? new CoordinatorOptions();
        _flow = new SagaFlow(Options);
        Host = host ?? new ScriptedHost();
    }

    public CoordinatorOptions Options { get; }

    public ScriptedHost Host { get; }

    public PassthroughSagaState Saga { get; } = new() { CorrelationId = Guid.NewGuid() };

    public List<ISagaCommand> Sent { get; } = [];

    public List<object> Events { get; } = [];

    public List<FlowDecision> Decisions { get; } = [];

    public SagaFlow Flow => _flow;

    public IEnumerable<FlowAction> SentActions => Saga.History.Where(h => h.CommandId != Guid.Empty).Select(h => h.Action);

    public static RequestPassthrough Passthrough(PassthroughOptions? options = null, params Contracts.Pci.PciAddress[] devices) =>
        new(Guid.NewGuid(), ScriptedHost.HostId, ScriptedHost.VmId, devices.Length > 0 ? devices : [ScriptedHost.Usb],
            options ?? new PassthroughOptions(), "test", DateTimeOffset.UnixEpoch);

    public static RequestRelease Release(ReleaseOptions? options = null, IReadOnlyList<DriverBinding>? drivers = null) =>
        new(Guid.NewGuid(), ScriptedHost.HostId, ScriptedHost.VmId, [ScriptedHost.Usb], options ?? new ReleaseOptions(),
            drivers ?? [new DriverBinding(ScriptedHost.Usb, "xhci_hcd", true)], "test", DateTimeOffset.UnixEpoch);

    public FlowDecision Start(RequestPassthrough request) => Record(_flow.Start(Saga, request, Tick()));

    public FlowDecision Start(RequestRelease request) => Record(_flow.Start(Saga, request, Tick()));

    /// <summary>The command the saga waits for.</summary>
    public ISagaCommand PendingCommand => Sent.Single(c => c.CommandId == Saga.Pending!.CommandId);

    public FlowDecision Reply(ISagaReply reply) => Record(_flow.OnReply(Saga, reply, Tick()));

    public FlowDecision Deadline(Guid commandId) => Record(_flow.OnDeadline(Saga, commandId, Tick()));

    /// <summary>Answers every command with <paramref name="script"/> (default: success) until the saga ends.</summary>
    public SagaOutcome RunToEnd(Func<FlowAction, int, Answer>? script = null)
    {
        for (var guard = 0; Saga.Phase != SagaPhase.Finished; guard++)
        {
            Assert.True(guard < 100, "the saga did not end within 100 commands");
            var pending = Saga.Pending!;
            switch (script?.Invoke(pending.Action, pending.Attempt) ?? Answer.Succeed)
            {
                case Answer.Succeed:
                    Reply(Host.Success(PendingCommand));
                    break;
                case Answer.Fail:
                    Reply(ScriptedHost.Failure(PendingCommand));
                    break;
                case Answer.Silence:
                    Deadline(pending.CommandId);
                    break;
            }
        }

        return Saga.Outcome!.Value;
    }

    private DateTimeOffset Tick() => _now = _now.AddSeconds(1);

    private FlowDecision Record(FlowDecision decision)
    {
        Decisions.Add(decision);
        Sent.AddRange(decision.Commands.Select(c => c.Command));
        Events.AddRange(decision.Events);
        return decision;
    }
}

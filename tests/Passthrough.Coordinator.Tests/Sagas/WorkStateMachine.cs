using MassTransit;

namespace Passthrough.Coordinator.Tests.Sagas;

public sealed class WorkSaga : SagaStateMachineInstance
{
    public Guid CorrelationId { get; set; }

    public string? CurrentState { get; set; }

    public string Name { get; set; } = string.Empty;

    public bool StepA { get; set; }

    public bool StepB { get; set; }

    /// <summary>How many steps were saved by a retried attempt (after a concurrency conflict).</summary>
    public int RetriedSteps { get; set; }

    public Guid? DeadlineToken { get; set; }

    public int DeadlinesReceived { get; set; }
}

/// <summary>
/// A tiny saga for the store tests: Running after <see cref="StartWork"/> (optionally with a scheduled deadline), two
/// steps that may arrive at once, a deadline that can be cancelled, a rename correlated by property, and a finish that
/// finalizes (and so removes) the instance.
/// </summary>
public sealed class WorkStateMachine : MassTransitStateMachine<WorkSaga>
{
    public WorkStateMachine(StepGate gate)
    {
        ArgumentNullException.ThrowIfNull(gate);
        InstanceState(x => x.CurrentState);

        Event(() => Started, e => e.CorrelateById(context => context.Message.WorkId));
        Event(() => StepACompleted, e => e.CorrelateById(context => context.Message.WorkId));
        Event(() => StepBCompleted, e => e.CorrelateById(context => context.Message.WorkId));
        Event(() => DeadlineCancelled, e => e.CorrelateById(context => context.Message.WorkId));
        Event(() => Finished, e => e.CorrelateById(context => context.Message.WorkId));
        Event(() => Renamed, e => e.CorrelateBy((saga, context) => saga.Name == context.Message.OldName));
        Schedule(() => Deadline, x => x.DeadlineToken, s =>
        {
            s.Delay = TimeSpan.FromSeconds(30);
            s.Received = r => r.CorrelateById(context => context.Message.WorkId);
        });

        Initially(
            When(Started)
                .Then(context => context.Saga.Name = context.Message.Name)
                .If(context => context.Message.Deadline is not null,
                    then => then.Schedule(Deadline, context => new WorkDeadline(context.Saga.CorrelationId),
                        context => context.Message.Deadline!.Value))
                .TransitionTo(Running));

        During(Running,
            When(StepACompleted)
                .ThenAsync(async context =>
                {
                    await gate.ArriveAsync(context.GetRetryAttempt());
                    context.Saga.StepA = true;
                    context.Saga.RetriedSteps += context.GetRetryAttempt() > 0 ? 1 : 0;
                }),
            When(StepBCompleted)
                .ThenAsync(async context =>
                {
                    await gate.ArriveAsync(context.GetRetryAttempt());
                    context.Saga.StepB = true;
                    context.Saga.RetriedSteps += context.GetRetryAttempt() > 0 ? 1 : 0;
                }),
            When(Renamed)
                .Then(context => context.Saga.Name = context.Message.NewName),
            When(Deadline.Received)
                .Then(context => context.Saga.DeadlinesReceived++)
                .TransitionTo(TimedOut),
            When(DeadlineCancelled)
                .Unschedule(Deadline)
                .TransitionTo(Cancelled));

        DuringAny(
            When(Finished)
                .Finalize());

        SetCompletedWhenFinalized();
    }

    public State Running { get; private set; } = null!;

    public State TimedOut { get; private set; } = null!;

    public State Cancelled { get; private set; } = null!;

    public Event<StartWork> Started { get; private set; } = null!;

    public Event<CompleteStepA> StepACompleted { get; private set; } = null!;

    public Event<CompleteStepB> StepBCompleted { get; private set; } = null!;

    public Event<CancelDeadline> DeadlineCancelled { get; private set; } = null!;

    public Event<FinishWork> Finished { get; private set; } = null!;

    public Event<RenameWork> Renamed { get; private set; } = null!;

    public Schedule<WorkSaga, WorkDeadline> Deadline { get; private set; } = null!;
}

/// <summary>
/// Holds the first attempt of each step until two have arrived (or a timeout passes), so both load the same version of
/// the instance before either saves: a guaranteed concurrency conflict. Retries pass straight through. Off by default.
/// </summary>
public sealed class StepGate
{
    private readonly TaskCompletionSource _bothArrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _arrivals;

    public bool Enabled { get; set; }

    public async Task ArriveAsync(int retryAttempt)
    {
        if (!Enabled || retryAttempt > 0)
        {
            return;
        }

        if (Interlocked.Increment(ref _arrivals) >= 2)
        {
            _bothArrived.TrySetResult();
        }

        // Bounded: if the bus delivered one at a time, the test's conflict assertion fails instead of hanging.
        await _bothArrived.Task.WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(static _ => { }, TaskScheduler.Default);
    }
}

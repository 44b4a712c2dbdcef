using Passthrough.Cli.Output;
using Passthrough.Contracts.Api;
using Passthrough.Contracts.CoordinatorEvents;

namespace Passthrough.Cli.Coordinator;

/// <summary>
/// Follows a saga until it ends by polling <c>GET /api/v1/sagas/{id}</c>, printing each step as it starts and as it
/// finishes (both lines, in order, even when a step started and finished between two polls), then the outcome.
/// </summary>
internal sealed class SagaFollower(CoordinatorClient client, TimeProvider time, TimeSpan interval)
{
    /// <summary>The default poll interval of <c>watch</c> and <c>--wait</c>.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>Polls until the saga has an outcome; prints progress to <paramref name="writer"/> unless it is null.</summary>
    public async Task<SagaView> FollowAsync(Guid id, TextWriter? writer, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(interval, time);
        var started = 0;
        var finished = new HashSet<int>();
        var first = true;
        while (true)
        {
            var saga = await client.GetSagaAsync(id, cancellationToken).ConfigureAwait(false);
            if (writer is not null)
            {
                if (first)
                {
                    await writer.WriteLineAsync($"{saga.Kind} {saga.Id:D}: host {saga.Host}, VM {saga.Vm}, devices {string.Join(", ", saga.Devices)}").ConfigureAwait(false);
                    first = false;
                }

                // Steps are appended in the order they start and run one after another, so printing each step's start
                // and then its finish, step by step, reads in time order; each line is printed once.
                for (var i = 0; i < saga.Steps.Count; i++)
                {
                    var step = saga.Steps[i];
                    if (i >= started)
                    {
                        await writer.WriteLineAsync(SagaText.Started(step)).ConfigureAwait(false);
                        started = i + 1;
                    }

                    if (step.FinishedAt is { } end && finished.Add(i))
                    {
                        await writer.WriteLineAsync(SagaText.Finished(step, end)).ConfigureAwait(false);
                    }
                }
            }

            if (saga.Outcome is not null)
            {
                if (writer is not null)
                {
                    SagaText.WriteOutcome(saga, writer);
                }

                return saga;
            }

            await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The exit code of a finished saga.</summary>
    public static int ExitCode(SagaView saga) => saga.Outcome switch
    {
        SagaOutcome.Completed => ExitCodes.Ok,
        SagaOutcome.RolledBack => ExitCodes.RolledBack,
        SagaOutcome.RollbackFailed => ExitCodes.RollbackFailed,
        _ => ExitCodes.Failure,
    };
}

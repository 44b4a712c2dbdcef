using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Passthrough.Coordinator.Claims;
using Passthrough.Coordinator.Persistence;

namespace Passthrough.Coordinator.Sagas;

/// <summary>
/// Makes sure no saga stays stuck and no claim outlives its saga. A coordinator killed between saving a saga and the
/// outbox's send loses the command and its scheduled deadline; every <see cref="CoordinatorOptions.WatchdogInterval"/>
/// this raises the deadline of any pending command overdue by more than <see cref="CoordinatorOptions.WatchdogGrace"/>
/// (the saga ignores it when the command was answered meanwhile). It also releases claims whose saga finished (its
/// SagaFinished was lost) or never started (the request's send was lost) after <see cref="CoordinatorOptions.OrphanClaimGrace"/>.
/// </summary>
public sealed class SagaWatchdog : BackgroundService
{
    private const int PageSize = 200;

    private readonly IServiceProvider _services;
    private readonly TimeProvider _time;
    private readonly ILogger<SagaWatchdog> _logger;
    private readonly CoordinatorOptions _options;
    private readonly DateTimeOffset _startedAt;
    private bool _resentAfterStart;

    public SagaWatchdog(IServiceProvider services, IOptions<CoordinatorOptions> options, TimeProvider time, ILogger<SagaWatchdog> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _services = services;
        _time = time;
        _logger = logger;
        _options = options.Value;
        _startedAt = time.GetUtcNow();
    }

    /// <summary>One pass: raises overdue deadlines and releases stale claims.</summary>
    public async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        var reader = _services.GetRequiredService<ISagaStateReader<PassthroughSagaState>>();
        var claims = _services.GetRequiredService<ResourceClaimStore>();
        var bus = _services.GetRequiredService<IBus>();
        var now = _time.GetUtcNow();
        var grace = _options.Scale(_options.WatchdogGrace);

        for (var skip = 0; ; skip += PageSize)
        {
            var page = await reader.ListExceptStateAsync(nameof(PassthroughStateMachine.Finished), skip, PageSize, cancellationToken).ConfigureAwait(false);
            foreach (var record in page)
            {
                if (record.Instance.Pending is { } pending && pending.DeadlineAt + grace < now)
                {
                    CoordinatorLog.DeadlineRaised(_logger, record.Instance.CorrelationId, pending.Action, pending.CommandId, pending.DeadlineAt);
                    await bus.Publish(new StepDeadlineExpired(record.Instance.CorrelationId, pending.CommandId), cancellationToken).ConfigureAwait(false);
                }
                else if (record.Instance.Pending is { } waiting && !_resentAfterStart && waiting.SentAt < _startedAt)
                {
                    // Sent by a previous coordinator process, which may have died between saving the saga and its outbox
                    // sending: send it once more rather than wait for the deadline to fail a step that never began.
                    CoordinatorLog.CommandResent(_logger, record.Instance.CorrelationId, waiting.Action, waiting.CommandId);
                    await bus.Publish(new ResendPendingCommand(record.Instance.CorrelationId, waiting.CommandId), cancellationToken).ConfigureAwait(false);
                }
            }

            if (page.Count < PageSize)
            {
                break;
            }
        }

        _resentAfterStart = true;

        var orphanGrace = _options.Scale(_options.OrphanClaimGrace);
        foreach (var holder in (await claims.ListAsync(cancellationToken).ConfigureAwait(false)).GroupBy(claim => claim.SagaId))
        {
            var record = await reader.GetAsync(holder.Key, cancellationToken).ConfigureAwait(false);
            var reason = record switch
            {
                { Instance.Phase: SagaPhase.Finished } => "the saga has finished",
                null when holder.Max(claim => claim.ClaimedAt) + orphanGrace < now => "no saga started for them",
                _ => null,
            };
            if (reason is not null)
            {
                var released = await claims.ReleaseAsync(holder.Key, cancellationToken).ConfigureAwait(false);
                CoordinatorLog.ClaimsReleased(_logger, released, holder.Key, reason);
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = _options.Scale(_options.WatchdogInterval);
        using var timer = new PeriodicTimer(interval, _time);
        var failures = 0;
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            try
            {
                await RunOnceAsync(stoppingToken).ConfigureAwait(false);
                failures = 0;
            }
            catch (Exception exception) when (exception is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                // A database or broker hiccup: back off (up to 10 intervals) and try again; the next pass redoes everything.
                failures++;
                var delay = interval * Math.Min(10, failures);
                CoordinatorLog.WatchdogFailed(_logger, exception, delay);
                await Task.Delay(delay, _time, stoppingToken).ConfigureAwait(false);
            }
        }
    }
}

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Passthrough.Coordinator.Persistence;

/// <summary>
/// Runs <see cref="ScheduledMessageDispatcher.SweepAsync"/> every <see cref="DurableSchedulerOptions.PollInterval"/>
/// (first at start, so what fell due while no process ran goes out at once). A failed sweep never ends the loop: it waits
/// <see cref="ScheduledMessageDispatcher.Backoff"/> and tries again.
/// </summary>
/// <remarks>
/// The dispatcher (and through it the store and the options) is resolved when the loop starts, not in the constructor:
/// the host resolves hosted services before it validates options, and resolving them here would report one invalid
/// section instead of all of them.
/// </remarks>
internal sealed class ScheduledMessageSweeper : BackgroundService
{
    private readonly IServiceProvider _services;
    private readonly TimeProvider _time;
    private readonly ILogger<ScheduledMessageSweeper> _logger;

    public ScheduledMessageSweeper(IServiceProvider services, TimeProvider time, ILogger<ScheduledMessageSweeper> logger)
    {
        _services = services;
        _time = time;
        _logger = logger;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var dispatcher = _services.GetRequiredService<ScheduledMessageDispatcher>();
        var options = dispatcher.Options;
        PersistenceLog.SweeperStarted(_logger, options.PollInterval, options.BatchSize, dispatcher.Store);
        using var timer = new PeriodicTimer(options.PollInterval, _time);
        var failures = 0;
        try
        {
            do
            {
                try
                {
                    await dispatcher.SweepAsync(stoppingToken).ConfigureAwait(false);
                    failures = 0;
                }
#pragma warning disable CA1031 // Any failure of one sweep (database, broker) must not end the sweeper: it backs off and tries again.
                catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
#pragma warning restore CA1031
                {
                    failures++;
                    var delay = dispatcher.Backoff(failures);
                    PersistenceLog.SweepFailed(_logger, exception, failures, delay);
                    await Task.Delay(delay, _time, stoppingToken).ConfigureAwait(false);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: claimed rows were released, unclaimed rows wait in the table for the next process.
        }
    }
}

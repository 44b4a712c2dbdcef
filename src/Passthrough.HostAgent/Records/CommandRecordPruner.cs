using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Passthrough.HostAgent.Records;

/// <summary>
/// Deletes command records older than <see cref="HostAgentOptions.CommandRecordRetention"/>: at start, then hourly (or
/// every retention period when that is shorter). A failed pass is logged and retried at the next one.
/// </summary>
public sealed class CommandRecordPruner : BackgroundService
{
    private readonly CommandRecordStore _records;
    private readonly TimeSpan _retention;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    /// <summary>Creates the pruner.</summary>
    public CommandRecordPruner(CommandRecordStore records, IOptions<HostAgentOptions> options, TimeProvider time, ILogger<CommandRecordPruner> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _records = records ?? throw new ArgumentNullException(nameof(records));
        _retention = options.Value.CommandRecordRetention;
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
    }

    /// <summary>One pruning pass; returns how many records went.</summary>
    public Task<int> PruneOnceAsync(CancellationToken cancellationToken) => _records.PruneAsync(_time.GetUtcNow() - _retention, cancellationToken);

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_retention < TimeSpan.FromHours(1) ? _retention : TimeSpan.FromHours(1), _time);
        do
        {
            try
            {
                var pruned = await PruneOnceAsync(stoppingToken).ConfigureAwait(false);
                if (pruned > 0)
                {
                    HostAgentLog.RecordsPruned(_logger, pruned, _retention);
                }
            }
            catch (Exception failure) when (failure is not OperationCanceledException)
            {
                HostAgentLog.PruneFailed(_logger, _records.FilePath, failure.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }
}

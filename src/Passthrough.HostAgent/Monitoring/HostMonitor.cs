using System.Collections.Concurrent;
using System.Text.Json;
using System.Threading.Channels;
using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Passthrough.Contracts.HostEvents;
using Passthrough.Contracts.Ids;
using Passthrough.HostAgent.Hosts;
using Passthrough.Xen;

namespace Passthrough.HostAgent.Monitoring;

/// <summary>
/// Per served host, once the service has started (the bus is up): checks that the host behind the address is the
/// configured one, publishes <see cref="HostInventoryReported"/> at start and whenever the inventory changes (re-read
/// every <see cref="HostAgentOptions.InventoryInterval"/> and once the host has been quiet for
/// <see cref="HostAgentOptions.InventoryRecheckDelay"/> after commands that change it), and
/// <see cref="HostHeartbeat"/> every <see cref="HostAgentOptions.HeartbeatInterval"/>. A host that does not answer is
/// reported unreachable and probed less often; no failure ends the loops.
/// </summary>
public sealed class HostMonitor : BackgroundService
{
    private const int MaxBackOffFactor = 8;

    private readonly IHostConnections _hosts;
    private readonly IBus _bus;
    private readonly HostAgentOptions _options;
    private readonly TimeProvider _time;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<HostId, Channel<bool>> _inventorySignals = new();

    /// <summary>Creates the monitor.</summary>
    public HostMonitor(IHostConnections hosts, IBus bus, IOptions<HostAgentOptions> options, TimeProvider time, IHostApplicationLifetime lifetime, ILogger<HostMonitor> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _hosts = hosts ?? throw new ArgumentNullException(nameof(hosts));
        _bus = bus ?? throw new ArgumentNullException(nameof(bus));
        _options = options.Value;
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _lifetime = lifetime ?? throw new ArgumentNullException(nameof(lifetime));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
    }

    /// <summary>Asks for the host's inventory to be re-read now (after a command that may have changed it).</summary>
    public void RequestInventoryCheck(HostId host) => Signal(host).Writer.TryWrite(true);

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Nothing is published before every hosted service started: the bus among them (MassTransit waits until started).
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (_lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        {
            await started.Task.WaitAsync(stoppingToken).ConfigureAwait(false);
        }

        await Task.WhenAll(_hosts.Hosts.SelectMany(host => new[] { InventoryLoopAsync(host, stoppingToken), HeartbeatLoopAsync(host, stoppingToken) }))
            .ConfigureAwait(false);
    }

    private Channel<bool> Signal(HostId host) =>
        _inventorySignals.GetOrAdd(host, _ => Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite }));

    private async Task InventoryLoopAsync(ServedHost host, CancellationToken cancellationToken)
    {
        var signal = Signal(host.Id);
        string? published = null;
        var failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (await host.VerifyIdentityAsync(cancellationToken).ConfigureAwait(false) == HostIdentityState.Mismatch)
                {
                    var mismatch = host.MismatchFailure();
                    HostAgentLog.WrongHost(_logger, host.Id, host.Driver.Target, mismatch.Message);
                    return;
                }

                var report = ToReport(host.Id, await host.Driver.GetInventoryAsync(cancellationToken).ConfigureAwait(false));
                var fingerprint = JsonSerializer.Serialize(report with { At = DateTimeOffset.UnixEpoch });
                if (fingerprint != published)
                {
                    await _bus.Publish(report with { At = _time.GetUtcNow() }, cancellationToken).ConfigureAwait(false);
                    published = fingerprint;
                    HostAgentLog.InventoryPublished(_logger, host.Id, report.Devices.Count, report.BootId);
                }

                failures = 0;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception failure)
            {
                // Never end the loop: an unreachable host (Dom0Exception) or a broker hiccup is retried, less often each time.
                failures++;
                HostAgentLog.InventoryFailed(_logger, host.Id, failures, failure.Message);
            }

            var wait = _options.InventoryInterval * Math.Min(1 << Math.Min(failures, 3), MaxBackOffFactor);
            try
            {
                if (await WaitForSignalAsync(signal, wait, cancellationToken).ConfigureAwait(false))
                {
                    await WaitForQuietAsync(signal, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    // After a changing command: wait until the host had no changing command for InventoryRecheckDelay, so a saga's burst
    // of commands costs one re-read after it instead of one per command, each competing with the next command for dom0
    // and the CPU. Bounded by InventoryInterval, so a host that is never quiet is still re-read.
    private async Task WaitForQuietAsync(Channel<bool> signal, CancellationToken cancellationToken)
    {
        var quiet = _options.InventoryRecheckDelay;
        if (quiet <= TimeSpan.Zero)
        {
            return;
        }

        var giveUpAt = _time.GetUtcNow() + _options.InventoryInterval;
        while (_time.GetUtcNow() + quiet <= giveUpAt && await WaitForSignalAsync(signal, quiet, cancellationToken).ConfigureAwait(false))
        {
        }
    }

    // True when a signal arrived before the wait ended (every pending signal is consumed), false when the wait ended.
    private async Task<bool> WaitForSignalAsync(Channel<bool> signal, TimeSpan wait, CancellationToken cancellationToken)
    {
        using var delay = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var timer = Task.Delay(wait, _time, delay.Token);
        var signalled = signal.Reader.WaitToReadAsync(delay.Token).AsTask();
        var first = await Task.WhenAny(timer, signalled).ConfigureAwait(false);
        await delay.CancelAsync().ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        var received = false;
        while (signal.Reader.TryRead(out _))
        {
            received = true;
        }

        return received || (first == signalled && signalled.IsCompletedSuccessfully && signalled.Result);
    }

    private async Task HeartbeatLoopAsync(ServedHost host, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_options.HeartbeatInterval, _time);
        var bootId = string.Empty;
        var failures = 0;
        var skip = 0;
        do
        {
            bool reachable;
            if (host.Identity == HostIdentityState.Mismatch)
            {
                // Another host answers at the address: this host is, for the fleet, not reachable.
                reachable = false;
            }
            else if (skip > 0)
            {
                // Backing off: a host that stopped answering is asked again only every few beats, still reported each beat.
                skip--;
                reachable = false;
            }
            else
            {
                try
                {
                    bootId = await host.Driver.ReadBootIdAsync(cancellationToken).ConfigureAwait(false);
                    reachable = true;
                    failures = 0;
                }
                catch (Dom0Exception unreachable)
                {
                    reachable = false;
                    failures++;
                    skip = Math.Min((1 << Math.Min(failures - 1, 3)) - 1, MaxBackOffFactor - 1);
                    HostAgentLog.HostUnreachable(_logger, host.Id, host.Driver.Target, unreachable.Message);
                }
            }

            try
            {
                await _bus.Publish(new HostHeartbeat(host.Id, bootId, reachable, _time.GetUtcNow()), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception failure) when (failure is not OperationCanceledException)
            {
                HostAgentLog.PublishFailed(_logger, nameof(HostHeartbeat), host.Id, failure.Message);
            }
        }
        while (await WaitAsync(timer, cancellationToken).ConfigureAwait(false));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>The inventory message for <paramref name="inventory"/>.</summary>
    public static HostInventoryReported ToReport(HostId host, HostInventory inventory)
    {
        ArgumentNullException.ThrowIfNull(inventory);
        var facts = inventory.Facts;
        var iommu = inventory.Iommu;
        var known = iommu.Chipset is not null || iommu.VirtCaps is not null || iommu.Dmesg is not null;
        return new HostInventoryReported(host, facts.ProductBrand, facts.ProductVersion, facts.XenVersionText, facts.XapiVersion,
            known ? iommu.Enabled : null, facts.HasDom0AccessApi, facts.BootId, inventory.Devices, DateTimeOffset.UnixEpoch);
    }
}

using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Passthrough.GuestAgent.Amqp;
using Passthrough.Guest;
using Passthrough.Shell;

namespace Passthrough.GuestAgent;

/// <summary>
/// Runs one <see cref="GuestAgentLogic"/> over the AMQP transport. Start-up work (connect in the background, probe,
/// learn the VM uuid, boot report, start receiving) is in <see cref="StartAsync"/>, so systemd hears READY=1 only once
/// the agent is working; the heartbeats and the fault watch run in <see cref="ExecuteAsync"/>. A VM uuid that cannot be
/// found is fatal: the host stops with a non-zero exit code and says what to configure.
/// </summary>
internal sealed class GuestAgentWorker : BackgroundService
{
    private readonly GuestAgentOptions _options;
    private readonly AmqpGuestAgentTransport _transport;
    private readonly IGuestProbe _probe;
    private readonly IGuestWatch _watch;
    private readonly VmIdentityResolver _identity;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private GuestAgentLogic? _logic;

    public GuestAgentWorker(
        IOptions<GuestAgentOptions> options,
        AmqpGuestAgentTransport transport,
        GuestPlatform platform,
        TimeProvider timeProvider,
        ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _transport = transport;
        ArgumentNullException.ThrowIfNull(platform);
        _probe = platform.Probe;
        _watch = platform.Watch;
        _identity = platform.Identity;
        _time = timeProvider;
        _loggers = loggers;
        _logger = loggers.CreateLogger<GuestAgentWorker>();
    }

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        VmIdentity identity;
        try
        {
            var report = await _probe.ProbeAsync(cancellationToken).ConfigureAwait(false);
            identity = await _identity.ResolveAsync(_options.VmUuid, report.IsXen, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is VmIdentityException or GuestProbeException)
        {
            AgentLog.CannotStart(_logger, ex.Message);
            throw;
        }

        AgentLog.Starting(_logger, identity.Vm, identity.Source, _options.ProbeRoot);
        await _transport.StartAsync(identity.Vm, cancellationToken).ConfigureAwait(false);
        var settings = new GuestAgentSettings { HeartbeatInterval = _options.HeartbeatInterval, WatchInterval = _options.WatchInterval };
        _logic = new GuestAgentLogic(identity.Vm, _probe, _watch, _transport, settings, _time, _loggers.CreateLogger<GuestAgentLogic>());
        await _logic.StartAsync(cancellationToken).ConfigureAwait(false);
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        _logic?.RunAsync(stoppingToken) ?? Task.CompletedTask;

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);

        // Unpublished reliable events stay in the spool and go out at the next start.
        await _transport.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>The probe, the fault watch and the VM uuid resolver of the operating system the agent runs on.</summary>
internal sealed record GuestPlatform(IGuestProbe Probe, IGuestWatch Watch, VmIdentityResolver Identity)
{
    /// <summary>The shortest time between two PnP probes of the Windows fault watch: 5 s.</summary>
    public static readonly TimeSpan WindowsWatchInterval = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Linux: the sysfs probe and the cheap sysfs watch over <see cref="GuestAgentOptions.ProbeRoot"/>; the VM uuid from
    /// DMI or xenstore. Windows: the PnP probe, watched by re-probing (each look costs a PowerShell run, so a fault there
    /// is seen within <see cref="WindowsWatchInterval"/> plus that run's time rather than 250 ms); the VM uuid from
    /// configuration or xenstore.
    /// </summary>
    public static GuestPlatform ForThisMachine(GuestAgentOptions options, ICommandRunner runner, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggers);
        var logger = loggers.CreateLogger<VmIdentityResolver>();
        if (OperatingSystem.IsWindows())
        {
            var probe = GuestProbes.ForThisMachine(runner);
            return new GuestPlatform(probe, new ProbeGuestWatch(probe, WindowsWatchInterval), new VmIdentityResolver(null, runner, options.XenstoreRead, logger));
        }

        var fileSystem = new LocalGuestFileSystem(options.ProbeRoot, runner);
        return new GuestPlatform(
            new LinuxGuestProbe(fileSystem),
            new LinuxGuestWatch(fileSystem),
            new VmIdentityResolver(fileSystem, runner, options.XenstoreRead, logger));
    }
}

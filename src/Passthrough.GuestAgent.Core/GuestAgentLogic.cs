using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Passthrough.Contracts.GuestCommands;
using Passthrough.Contracts.GuestEvents;
using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Messaging;
using Passthrough.Guest;

namespace Passthrough.GuestAgent;

/// <summary>
/// What a guest agent does, whatever carries its messages: reports the boot (<see cref="GuestBooted"/>), heartbeats
/// (<see cref="GuestHeartbeat"/>), answers <see cref="VerifyGuestDevices"/> with <see cref="GuestDevicesVerified"/>, and
/// watches for faults (<see cref="GuestFaultDetected"/>: pcifront gone, a function seen before vanished, a driver
/// unbound), published within <see cref="GuestAgentSettings.WatchInterval"/> of the look that saw them.
/// </summary>
/// <remarks>
/// Call <see cref="StartAsync"/> once (probe, boot report, start receiving commands), then run <see cref="RunAsync"/>
/// until shutdown (heartbeats and the fault watch). Commands may arrive concurrently with both.
/// </remarks>
public sealed class GuestAgentLogic : IGuestCommandHandler
{
    /// <summary>The boot id reported when the guest does not expose one.</summary>
    public const string UnknownBootId = "unknown";

    private readonly IGuestProbe _probe;
    private readonly IGuestWatch _watch;
    private readonly IGuestAgentTransport _transport;
    private readonly GuestAgentSettings _settings;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly Dictionary<Guid, GuestDevicesVerified> _replies = [];
    private readonly Queue<Guid> _replyOrder = new();
    private readonly Queue<GuestFaultDetected> _pendingFaults = new();
    private bool _publishing;
    private GuestSnapshot? _snapshot;
    private string _bootId = UnknownBootId;

    /// <summary>Creates the logic of the agent of <paramref name="vm"/>.</summary>
    /// <param name="vm">The VM this guest is.</param>
    /// <param name="probe">The full probe (boot report, verification).</param>
    /// <param name="watch">The cheap look the fault watch repeats; default a <see cref="ProbeGuestWatch"/> over <paramref name="probe"/>.</param>
    /// <param name="transport">Publishes events and delivers commands.</param>
    /// <param name="settings">Timing; default <see cref="GuestAgentSettings.Default"/>.</param>
    /// <param name="timeProvider">Clock and timers; default <see cref="TimeProvider.System"/>.</param>
    /// <param name="logger">Where to log; default none.</param>
    public GuestAgentLogic(
        VmId vm,
        IGuestProbe probe,
        IGuestWatch? watch,
        IGuestAgentTransport transport,
        GuestAgentSettings? settings = null,
        TimeProvider? timeProvider = null,
        ILogger<GuestAgentLogic>? logger = null)
    {
        Vm = vm;
        _probe = probe ?? throw new ArgumentNullException(nameof(probe));
        _watch = watch ?? new ProbeGuestWatch(probe);
        _transport = transport ?? throw new ArgumentNullException(nameof(transport));
        _settings = settings ?? GuestAgentSettings.Default;
        _time = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        if (_settings.HeartbeatInterval <= TimeSpan.Zero || _settings.WatchInterval <= TimeSpan.Zero || _settings.ProbeRetryDelay <= TimeSpan.Zero)
        {
            throw new ArgumentException("Heartbeat, watch and probe-retry intervals must be positive.", nameof(settings));
        }
    }

    /// <summary>The VM this agent speaks for.</summary>
    public VmId Vm { get; }

    /// <summary>The boot id reported at start (<see cref="UnknownBootId"/> before <see cref="StartAsync"/>).</summary>
    public string BootId
    {
        get
        {
            lock (_gate)
            {
                return _bootId;
            }
        }
    }

    /// <summary>
    /// Probes the guest (retrying every <see cref="GuestAgentSettings.ProbeRetryDelay"/> while it cannot), publishes the
    /// boot report reliably, and starts receiving commands.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var report = await ProbeUntilAnsweredAsync(cancellationToken).ConfigureAwait(false);
        var bootId = report.BootId ?? UnknownBootId;
        lock (_gate)
        {
            _bootId = bootId;
            _snapshot = GuestSnapshot.From(report);
        }

        GuestAgentLog.Booted(_logger, Vm, bootId, report.KernelRelease, report.GuestType, report.Pcifront.State, report.Devices.Count);
        var booted = new GuestBooted(Vm, bootId, report.KernelRelease, report.GuestType, report.Pcifront.State, report.Devices, _time.GetUtcNow());
        await _transport.PublishAsync(booted, GuestEventDelivery.Reliable, cancellationToken).ConfigureAwait(false);
        await _transport.StartReceivingAsync(Vm, this, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Heartbeats and watches for faults until <paramref name="cancellationToken"/> is cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (_snapshot is null)
        {
            throw new InvalidOperationException("StartAsync must complete before RunAsync.");
        }

        var heartbeats = HeartbeatLoopAsync(cancellationToken);
        var watch = WatchLoopAsync(cancellationToken);
        try
        {
            await Task.WhenAll(heartbeats, watch).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutdown.
        }
    }

    /// <inheritdoc />
    public async Task<GuestDevicesVerified> VerifyAsync(VerifyGuestDevices command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        lock (_gate)
        {
            if (_replies.TryGetValue(command.CommandId, out var known))
            {
                GuestAgentLog.VerificationReplayed(_logger, command.CommandId);
                return known;
            }
        }

        var reply = await BuildVerdictAsync(command, cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            if (_replies.TryAdd(command.CommandId, reply))
            {
                _replyOrder.Enqueue(command.CommandId);
                while (_replyOrder.Count > Math.Max(1, _settings.RememberedReplies))
                {
                    _replies.Remove(_replyOrder.Dequeue());
                }
            }
        }

        GuestAgentLog.Verified(_logger, command.CommandId, command.SagaId, command.Attempt, reply.Verified ? "verified" : "not verified", reply.Problems.Count);
        return reply;
    }

    /// <summary>
    /// Looks once and publishes the faults since the previous look; returns them. <see cref="RunAsync"/> calls it every
    /// <see cref="GuestAgentSettings.WatchInterval"/>; tests may call it directly. A fault the transport refuses stays
    /// pending and is published, in order, before anything found at a later look.
    /// </summary>
    public async Task<IReadOnlyList<GuestFaultDetected>> CheckForFaultsAsync(CancellationToken cancellationToken)
    {
        var now = await _watch.SnapshotAsync(cancellationToken).ConfigureAwait(false);
        IReadOnlyList<GuestFaultDetected> faults;
        lock (_gate)
        {
            var previous = _snapshot ?? throw new InvalidOperationException("StartAsync must complete before the fault watch runs.");
            faults = GuestFaults.Detect(previous, now, Vm, _bootId, _time.GetUtcNow());
            _snapshot = now;
            foreach (var fault in faults)
            {
                _pendingFaults.Enqueue(fault);
            }
        }

        foreach (var fault in faults)
        {
            GuestAgentLog.FaultDetected(_logger, Vm, fault.Kind.ToString(), fault.Device?.ToString() ?? "-", fault.Detail);
        }

        await PublishPendingFaultsAsync(cancellationToken).ConfigureAwait(false);
        return faults;
    }

    /// <summary>Faults detected but not yet accepted by the transport.</summary>
    public int PendingFaults
    {
        get
        {
            lock (_gate)
            {
                return _pendingFaults.Count;
            }
        }
    }

    private async Task PublishPendingFaultsAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            // One publisher at a time keeps the order; a caller that finds one running leaves its faults to it (or to the next look).
            if (_publishing)
            {
                return;
            }

            _publishing = true;
        }

        try
        {
            while (true)
            {
                GuestFaultDetected? next;
                lock (_gate)
                {
                    if (!_pendingFaults.TryPeek(out next))
                    {
                        return;
                    }
                }

                try
                {
                    await _transport.PublishAsync(next, GuestEventDelivery.Reliable, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    GuestAgentLog.PublishFailed(_logger, nameof(GuestFaultDetected), ex.Message);
                    return;
                }

                lock (_gate)
                {
                    _pendingFaults.Dequeue();
                }
            }
        }
        finally
        {
            lock (_gate)
            {
                _publishing = false;
            }
        }
    }

    private async Task<GuestReport> ProbeUntilAnsweredAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                return await _probe.ProbeAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (GuestProbeException ex)
            {
                GuestAgentLog.StartupProbeFailed(_logger, ex.Message, _settings.ProbeRetryDelay);
            }

            await Task.Delay(_settings.ProbeRetryDelay, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<GuestDevicesVerified> BuildVerdictAsync(VerifyGuestDevices command, CancellationToken cancellationToken)
    {
        GuestReport report;
        try
        {
            report = await _probe.ProbeAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (GuestProbeException ex)
        {
            var failure = new Failure(ex.Cause, "the guest agent could not probe the guest", ex.Message, "Check the agent's log in the guest.");
            return new GuestDevicesVerified(
                command.SagaId, command.CommandId, command.Step, Vm, false, BootId, string.Empty, GuestType.Unknown,
                PcifrontState.Unknown, [], [failure], []);
        }

        var problems = new List<Failure>();
        if (command.Vm != Vm)
        {
            problems.Add(new Failure(
                FailureCause.InvalidInput,
                $"the verification for VM {command.Vm} reached the agent of VM {Vm}",
                null,
                $"Commands for a VM go to its own queue ({GuestAgentQueues.ForVm(command.Vm)}); check the agent's configured VM uuid."));
        }

        var bootId = report.BootId ?? BootId;
        problems.AddRange(GuestVerification.Evaluate(report, command.Expected, command.PreviousBootId, command.RequirePcifront, BootId).Problems);
        return new GuestDevicesVerified(
            command.SagaId, command.CommandId, command.Step, Vm, problems.Count == 0, bootId, report.KernelRelease,
            report.GuestType, report.Pcifront.State, report.Devices, problems.AsReadOnly(), report.Advisories);
    }

    private async Task HeartbeatLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_settings.HeartbeatInterval, _time);
        while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
        {
            try
            {
                await _transport.PublishAsync(new GuestHeartbeat(Vm, BootId, _time.GetUtcNow()), GuestEventDelivery.BestEffort, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                GuestAgentLog.PublishFailed(_logger, nameof(GuestHeartbeat), ex.Message);
            }
        }
    }

    private async Task WatchLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_settings.WatchInterval, _time);
        var failing = false;
        while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
        {
            try
            {
                await CheckForFaultsAsync(cancellationToken).ConfigureAwait(false);
                if (failing)
                {
                    failing = false;
                    GuestAgentLog.WatchRecovered(_logger);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The next tick tries again; log once per streak, not four times a second.
                if (!failing)
                {
                    failing = true;
                    GuestAgentLog.WatchFailed(_logger, ex.Message);
                }
            }
        }
    }
}

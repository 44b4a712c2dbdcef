using System.Collections.Concurrent;
using MassTransit;
using Microsoft.Extensions.Logging;
using Passthrough.Contracts.Ids;
using Passthrough.Guest;

namespace Passthrough.GuestAgent.MassTransit;

/// <summary>One guest agent running on the bus: its logic, its transport and its heartbeat/watch loop.</summary>
public sealed class RunningGuestAgent : IAsyncDisposable
{
    private readonly MassTransitGuestAgentTransport _transport;
    private readonly CancellationTokenSource _stopping;
    private readonly Task _loop;
    private int _disposed;

    internal RunningGuestAgent(GuestAgentLogic logic, MassTransitGuestAgentTransport transport, CancellationTokenSource stopping, Task loop)
    {
        Logic = logic;
        _transport = transport;
        _stopping = stopping;
        _loop = loop;
    }

    /// <summary>The agent's logic (its VM, boot id; tests may call it directly).</summary>
    public GuestAgentLogic Logic { get; }

    /// <summary>Stops the loop and the VM's receive endpoint, as when the VM shuts down.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }

        await _transport.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }
}

/// <summary>
/// Runs the guest agent's logic for simulated VMs on the lab's MassTransit bus (in-memory or RabbitMQ), one
/// <see cref="RunningGuestAgent"/> per VM: the same boot report, heartbeats, verification and fault watch as the
/// NativeAOT agent, carried by MassTransit instead of RabbitMQ.Client. Start an agent when a simulated VM boots, stop it
/// when the VM stops.
/// </summary>
public sealed class GuestAgentFleet : IAsyncDisposable
{
    private readonly IBus _bus;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggers;
    private readonly ConcurrentDictionary<VmId, RunningGuestAgent> _agents = new();

    /// <summary>Creates a fleet on <paramref name="bus"/>.</summary>
    public GuestAgentFleet(IBus bus, TimeProvider timeProvider, ILoggerFactory loggers)
    {
        _bus = bus ?? throw new ArgumentNullException(nameof(bus));
        _time = timeProvider ?? throw new ArgumentNullException(nameof(timeProvider));
        _loggers = loggers ?? throw new ArgumentNullException(nameof(loggers));
    }

    /// <summary>The agents running now, by VM.</summary>
    public IReadOnlyDictionary<VmId, RunningGuestAgent> Agents => _agents;

    /// <summary>Starts the agent of a VM whose guest is a Linux tree under <paramref name="root"/> (a simulated guest).</summary>
    public Task<RunningGuestAgent> StartLinuxAsync(VmId vm, string root, GuestAgentSettings? settings = null, CancellationToken cancellationToken = default)
    {
        var fileSystem = new LocalGuestFileSystem(root);
        return StartAsync(vm, new LinuxGuestProbe(fileSystem), new LinuxGuestWatch(fileSystem), settings, cancellationToken);
    }

    /// <summary>
    /// Starts the agent of <paramref name="vm"/>: probes, publishes the boot report, connects the VM's receive
    /// endpoint, then heartbeats and watches until stopped.
    /// </summary>
    /// <exception cref="InvalidOperationException">An agent already runs for the VM.</exception>
    public async Task<RunningGuestAgent> StartAsync(
        VmId vm, IGuestProbe probe, IGuestWatch? watch = null, GuestAgentSettings? settings = null, CancellationToken cancellationToken = default)
    {
        if (_agents.ContainsKey(vm))
        {
            throw new InvalidOperationException($"A guest agent already runs for VM {vm}.");
        }

        var transport = new MassTransitGuestAgentTransport(_bus);
        var logic = new GuestAgentLogic(vm, probe, watch, transport, settings, _time, _loggers.CreateLogger<GuestAgentLogic>());
        try
        {
            await logic.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await transport.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        var stopping = new CancellationTokenSource();
        var loop = Task.Run(() => logic.RunAsync(stopping.Token), CancellationToken.None);
        var agent = new RunningGuestAgent(logic, transport, stopping, loop);
        if (!_agents.TryAdd(vm, agent))
        {
            await agent.DisposeAsync().ConfigureAwait(false);
            throw new InvalidOperationException($"A guest agent already runs for VM {vm}.");
        }

        return agent;
    }

    /// <summary>Stops the agent of <paramref name="vm"/>; false when none runs.</summary>
    public async Task<bool> StopAsync(VmId vm)
    {
        if (!_agents.TryRemove(vm, out var agent))
        {
            return false;
        }

        await agent.DisposeAsync().ConfigureAwait(false);
        return true;
    }

    /// <summary>Stops every agent.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var vm in _agents.Keys.ToList())
        {
            await StopAsync(vm).ConfigureAwait(false);
        }
    }
}

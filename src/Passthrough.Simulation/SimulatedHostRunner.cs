using Passthrough.Shell;
using Passthrough.Simulation.Model;

namespace Passthrough.Simulation;

/// <summary>
/// How long simulated commands take: a default, overrides by command prefix (longest match wins, e.g. <c>xe vm-start</c>),
/// all multiplied by <see cref="Scale"/>. Default: <see cref="None"/> (instant).
/// </summary>
public sealed class SimulatedLatency
{
    /// <summary>Every command is instant.</summary>
    public static SimulatedLatency None { get; } = new();

    /// <summary>Roughly what a real host takes: xe calls 150 ms, VM starts 6 s, clean shutdowns 4 s, snapshots 2 s, evacuations 10 s, the rest 20 ms.</summary>
    public static SimulatedLatency Realistic { get; } = new()
    {
        Default = TimeSpan.FromMilliseconds(20),
        PerCommand = new Dictionary<string, TimeSpan>(StringComparer.Ordinal)
        {
            ["xe"] = TimeSpan.FromMilliseconds(150),
            ["xe vm-start"] = TimeSpan.FromSeconds(6),
            ["xe vm-shutdown"] = TimeSpan.FromSeconds(4),
            ["xe vm-snapshot"] = TimeSpan.FromSeconds(2),
            ["xe snapshot-revert"] = TimeSpan.FromSeconds(2),
            ["xe host-evacuate"] = TimeSpan.FromSeconds(10),
            ["xe host-reboot"] = TimeSpan.FromSeconds(1),
            ["lspci"] = TimeSpan.FromMilliseconds(60),
        },
    };

    /// <summary>Latency of commands no override matches; default zero.</summary>
    public TimeSpan Default { get; init; }

    /// <summary>Overrides keyed by program and leading arguments (<c>xe vm-start</c>).</summary>
    public IReadOnlyDictionary<string, TimeSpan> PerCommand { get; init; } = new Dictionary<string, TimeSpan>();

    /// <summary>A factor applied to every latency (0 makes everything instant); default 1.</summary>
    public double Scale { get; init; } = 1.0;

    /// <summary>This latency table with another <see cref="Scale"/>.</summary>
    public SimulatedLatency Scaled(double scale) => new() { Default = Default, PerCommand = PerCommand, Scale = scale };

    /// <summary>The latency of <paramref name="request"/>.</summary>
    public TimeSpan For(CommandRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var program = SimulatedDom0.ResolveProgram(request.Program) ?? request.Program;
        var best = Default;
        var bestWords = 0;
        foreach (var (key, value) in PerCommand)
        {
            var words = key.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (words.Length > bestWords && words[0] == program && words.Length - 1 <= request.Arguments.Count &&
                words.Skip(1).Select((w, i) => w == request.Arguments[i]).All(m => m))
            {
                best = value;
                bestWords = words.Length;
            }
        }

        return Scale <= 0 ? TimeSpan.Zero : best * Scale;
    }
}

/// <summary>
/// An in-process <see cref="ICommandRunner"/> over a simulated host: runs <see cref="SimulatedDom0.Execute"/> after the
/// configured latency, applies injected <see cref="SimulatedFaults"/>, and refuses connections while the host reboots.
/// Time (latency, hangs, reboot windows) comes from the injected <see cref="TimeProvider"/>.
/// </summary>
public sealed class SimulatedHostRunner : ICommandRunner
{
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly List<CommandResult> _history = [];
    private bool _disposed;

    /// <summary>Creates a runner over <paramref name="host"/>.</summary>
    /// <param name="host">The model.</param>
    /// <param name="time">The clock; default the system clock.</param>
    /// <param name="latency">Command latencies; default <see cref="SimulatedLatency.None"/>.</param>
    /// <param name="faults">Injected faults; default none (a fresh, empty set you can arm through <see cref="Faults"/>).</param>
    public SimulatedHostRunner(SimulatedHost host, TimeProvider? time = null, SimulatedLatency? latency = null, SimulatedFaults? faults = null)
    {
        ArgumentNullException.ThrowIfNull(host);
        _time = time ?? TimeProvider.System;
        Dom0 = new SimulatedDom0(host, _time);
        Latency = latency ?? SimulatedLatency.None;
        Faults = faults ?? new SimulatedFaults();
    }

    /// <inheritdoc />
    public CommandTarget Target => Dom0.Target;

    /// <summary>The interpreter (and through it the model).</summary>
    public SimulatedDom0 Dom0 { get; }

    /// <summary>The host model.</summary>
    public SimulatedHost Host => Dom0.Host;

    /// <summary>Armed faults.</summary>
    public SimulatedFaults Faults { get; }

    /// <summary>The host's state as of the runner's clock (see <see cref="SimulatedDom0.Capture"/>).</summary>
    public HostStateSnapshot Capture() => Dom0.Capture();

    /// <summary>Command latencies.</summary>
    public SimulatedLatency Latency { get; set; }

    /// <summary>Every command that produced a result (faulted ones included), in order.</summary>
    public IReadOnlyList<CommandResult> History
    {
        get
        {
            lock (_gate)
            {
                return [.. _history];
            }
        }
    }

    /// <inheritdoc />
    public async Task<CommandResult> RunAsync(CommandRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ObjectDisposedException.ThrowIf(_disposed, this);
        cancellationToken.ThrowIfCancellationRequested();
        Faults.ApplyTo(Host);
        if (!Dom0.IsReachable())
        {
            throw new ConnectionRefusedException(Target, request.Display, $"ssh: connect to host {Host.Name} port 22: Connection refused");
        }

        var fault = Faults.Take(request);
        var latency = Latency.For(request);
        if (fault?.Kind == CommandFaultKind.Hang || latency > request.Timeout)
        {
            await Task.Delay(request.Timeout, _time, cancellationToken).ConfigureAwait(false);
            throw new CommandTimeoutException(Target, request.Display, request.Timeout);
        }

        if (latency > TimeSpan.Zero)
        {
            await Task.Delay(latency, _time, cancellationToken).ConfigureAwait(false);
        }

        CommandResult result;
        switch (fault?.Kind)
        {
            case CommandFaultKind.DropConnection:
                throw new ConnectionLostException(Target, request.Display, "Connection reset by peer");
            case CommandFaultKind.Fail:
                result = new CommandResult(request, Target, fault.ExitCode, fault.StandardOutput, fault.StandardError, latency);
                break;
            default:
                result = Dom0.Execute(request) with { Elapsed = latency };
                break;
        }

        lock (_gate)
        {
            _history.Add(result);
        }

        return result;
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        _disposed = true;
        return ValueTask.CompletedTask;
    }
}

using Passthrough.Contracts.Pci;
using Passthrough.Shell;
using Passthrough.Simulation.Model;

namespace Passthrough.Simulation;

/// <summary>What an injected command fault does.</summary>
public enum CommandFaultKind
{
    /// <summary>The command exits with the given status and output instead of running.</summary>
    Fail = 0,

    /// <summary>The command never finishes: the runner waits for the request's timeout (or cancellation).</summary>
    Hang,

    /// <summary>The connection drops while the command runs (<see cref="ConnectionLostException"/>); the command does not run.</summary>
    DropConnection,
}

/// <summary>One armed command fault.</summary>
/// <param name="Command">Program and leading arguments to match, e.g. <c>xe vm-start</c> or <c>tee /sys/bus/pci/drivers/pciback/bind</c>.</param>
/// <param name="Kind">What happens.</param>
/// <param name="Remaining">How many more matching commands it hits (<see cref="SimulatedFaults.Always"/>: every one).</param>
/// <param name="ExitCode">Exit status for <see cref="CommandFaultKind.Fail"/>.</param>
/// <param name="StandardError">stderr for <see cref="CommandFaultKind.Fail"/>, written as given.</param>
/// <param name="StandardOutput">stdout for <see cref="CommandFaultKind.Fail"/>.</param>
public sealed record CommandFault(string Command, CommandFaultKind Kind, int Remaining, int ExitCode = 1, string StandardError = "", string StandardOutput = "");

/// <summary>
/// Faults injected into a <see cref="SimulatedHostRunner"/>: commands that fail with a real error text, hang or drop the
/// connection (once, N times or always), a host that never comes back from its reboot, and devices whose bind fails
/// (FLR timeout, probe failure). Thread-safe; arm faults before or while commands run.
/// </summary>
public sealed class SimulatedFaults
{
    /// <summary>A count meaning "every matching command".</summary>
    public const int Always = int.MaxValue;

    private readonly Lock _gate = new();
    private readonly List<CommandFault> _commands = [];
    private readonly Dictionary<PciAddress, PciBindFailure> _devices = [];
    private readonly HashSet<PciAddress> _cleared = [];
    private bool _neverReturn;

    /// <summary>The command faults still armed.</summary>
    public IReadOnlyList<CommandFault> Armed
    {
        get
        {
            lock (_gate)
            {
                return [.. _commands];
            }
        }
    }

    /// <summary>
    /// Makes the next <paramref name="times"/> commands matching <paramref name="command"/> exit with
    /// <paramref name="exitCode"/> and print <paramref name="standardError"/> (a line break is added when missing) without running.
    /// </summary>
    public SimulatedFaults FailCommand(string command, string standardError, int times = 1, int exitCode = 1, string standardOutput = "")
    {
        ArgumentNullException.ThrowIfNull(standardError);
        var stderr = standardError.Length == 0 || standardError.EndsWith('\n') ? standardError : standardError + "\n";
        return Arm(new CommandFault(Normalise(command), CommandFaultKind.Fail, Positive(times), exitCode, stderr, standardOutput));
    }

    /// <summary>Makes the next <paramref name="times"/> matching commands hang until their timeout or cancellation.</summary>
    public SimulatedFaults HangCommand(string command, int times = 1) =>
        Arm(new CommandFault(Normalise(command), CommandFaultKind.Hang, Positive(times)));

    /// <summary>Makes the next <paramref name="times"/> matching commands lose the connection.</summary>
    public SimulatedFaults DropConnection(string command, int times = 1) =>
        Arm(new CommandFault(Normalise(command), CommandFaultKind.DropConnection, Positive(times)));

    /// <summary>The host never comes back from its next (or current) reboot: every command is refused from then on.</summary>
    public SimulatedFaults NeverReturnFromReboot()
    {
        lock (_gate)
        {
            _neverReturn = true;
        }

        return this;
    }

    /// <summary>Binding <paramref name="address"/> to pciback times out in the function level reset and fails.</summary>
    public SimulatedFaults FlrTimesOut(PciAddress address) => Device(address, PciBindFailure.FlrTimeout);

    /// <summary>Every driver's probe of <paramref name="address"/> fails ("No such device").</summary>
    public SimulatedFaults DeviceFailsToBind(PciAddress address) => Device(address, PciBindFailure.ProbeFails);

    /// <summary>Disarms every fault (device faults are removed from the host at the next command).</summary>
    public void Clear()
    {
        lock (_gate)
        {
            _commands.Clear();
            _cleared.UnionWith(_devices.Keys);
            _devices.Clear();
            _neverReturn = false;
        }
    }

    /// <summary>Writes the host-side faults (devices, never-return) into the model.</summary>
    internal void ApplyTo(SimulatedHost host)
    {
        lock (_gate)
        {
            host.Mutate(h =>
            {
                foreach (var address in _cleared)
                {
                    if (h.FindFunction(address) is { } function)
                    {
                        function.BindFailure = PciBindFailure.None;
                    }
                }

                foreach (var (address, failure) in _devices)
                {
                    if (h.FindFunction(address) is { } function)
                    {
                        function.BindFailure = failure;
                    }
                }

                if (_neverReturn)
                {
                    h.Boot.NeverReturns = true;
                }
            });
            _cleared.Clear();
        }
    }

    /// <summary>Takes one hit of the first fault matching <paramref name="request"/>, if any.</summary>
    internal CommandFault? Take(CommandRequest request)
    {
        lock (_gate)
        {
            var index = _commands.FindIndex(f => Matches(f.Command, request));
            if (index < 0)
            {
                return null;
            }

            var fault = _commands[index];
            if (fault.Remaining == Always)
            {
                return fault;
            }

            if (fault.Remaining <= 1)
            {
                _commands.RemoveAt(index);
            }
            else
            {
                _commands[index] = fault with { Remaining = fault.Remaining - 1 };
            }

            return fault;
        }
    }

    private static bool Matches(string command, CommandRequest request)
    {
        var words = command.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var program = SimulatedDom0.ResolveProgram(request.Program) ?? request.Program;
        if (words[0] != request.Program && words[0] != program)
        {
            return false;
        }

        if (words.Length - 1 > request.Arguments.Count)
        {
            return false;
        }

        for (var i = 1; i < words.Length; i++)
        {
            if (words[i] != request.Arguments[i - 1])
            {
                return false;
            }
        }

        return true;
    }

    private static string Normalise(string command)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(command);
        return command.Trim();
    }

    private static int Positive(int times)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(times, 1);
        return times;
    }

    private SimulatedFaults Arm(CommandFault fault)
    {
        lock (_gate)
        {
            _commands.Add(fault);
        }

        return this;
    }

    private SimulatedFaults Device(PciAddress address, PciBindFailure failure)
    {
        lock (_gate)
        {
            _devices[address] = failure;
            _cleared.Remove(address);
        }

        return this;
    }
}

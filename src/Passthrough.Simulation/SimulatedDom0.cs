using Passthrough.Shell;
using Passthrough.Simulation.Interpreter;
using Passthrough.Simulation.Model;

namespace Passthrough.Simulation;

/// <summary>
/// The interpreter of a simulated dom0: answers every command line of <c>docs/dom0-commands.md</c> (<c>xe</c>, <c>xl</c>,
/// <c>xen-cmdline</c>, <c>lspci</c>, and the file tools over /proc and sysfs) from a <see cref="SimulatedHost"/>, in the
/// formats a real host prints, and applies their effects to the model.
/// </summary>
/// <remarks>
/// <see cref="Execute"/> depends only on the model and the injected clock (no I/O, no waiting): the same interpreter can
/// run in-process (<see cref="SimulatedHostRunner"/>) or behind an sshd as a multi-call program over a saved model.
/// The reboot cycle advances lazily with the clock whenever a command runs.
/// </remarks>
public sealed class SimulatedDom0
{
    private static readonly string[] BinDirectories = ["/bin", "/usr/bin", "/sbin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin", "/opt/xensource/bin"];

    private readonly TimeProvider _time;

    /// <summary>Creates the interpreter of <paramref name="host"/>; <paramref name="time"/> defaults to the system clock.</summary>
    public SimulatedDom0(SimulatedHost host, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(host);
        Host = host;
        _time = time ?? TimeProvider.System;
        Target = new SimulatedTarget(host.Name);
    }

    /// <summary>The model this interpreter answers from.</summary>
    public SimulatedHost Host { get; }

    /// <summary>The target results name (<c>sim://&lt;host-name&gt;</c>).</summary>
    public SimulatedTarget Target { get; }

    /// <summary>Whether dom0 accepts connections now (false while the host reboots, or forever if it never comes back).</summary>
    public bool IsReachable()
    {
        Refresh();
        return Host.Read(h => h.Boot.Phase != HostPhase.Down);
    }

    /// <summary>
    /// Brings the model up to the clock: a reboot whose downtime has passed completes (new boot id, drivers rebound…), xapi
    /// finishes starting. Commands do this themselves; call it before reading the model directly after moving the clock.
    /// </summary>
    public void Refresh() => Host.Mutate(h => HostKernel.Advance(h, _time.GetUtcNow()));

    /// <summary><see cref="Refresh"/> then <see cref="SimulatedHost.Capture"/>.</summary>
    public HostStateSnapshot Capture()
    {
        Refresh();
        return Host.Capture();
    }

    /// <summary>Runs one command against the model and returns what dom0 would print; <see cref="CommandResult.Elapsed"/> is zero.</summary>
    /// <exception cref="ConnectionRefusedException">The host is down (rebooting, or never came back).</exception>
    public CommandResult Execute(CommandRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var output = new CommandOutput();
        lock (Host.SyncRoot)
        {
            var now = _time.GetUtcNow();
            HostKernel.Advance(Host, now);
            if (Host.Boot.Phase == HostPhase.Down)
            {
                throw new ConnectionRefusedException(Target, request.Display, $"ssh: connect to host {Host.Name} port 22: Connection refused");
            }

            Dispatch(request, now, output);
        }

        return new CommandResult(request, Target, output.Exit, output.Out.ToString(), output.Err.ToString(), TimeSpan.Zero);
    }

    /// <summary>The program a command line names, as dom0's PATH would find it; null when dom0 has no such program.</summary>
    internal static string? ResolveProgram(string program)
    {
        if (!program.Contains('/', StringComparison.Ordinal))
        {
            return program;
        }

        var slash = program.LastIndexOf('/');
        var directory = program[..slash];
        var name = program[(slash + 1)..];
        if (name == "xen-cmdline")
        {
            return directory == "/opt/xensource/libexec" ? name : null;
        }

        return BinDirectories.Contains(directory) ? name : null;
    }

    private void Dispatch(CommandRequest request, DateTimeOffset now, CommandOutput o)
    {
        var args = request.Arguments;
        var stdin = request.StandardInput;
        var fs = new Dom0FileSystem(Host, now);
        switch (ResolveProgram(request.Program))
        {
            case "xe":
                new XeCli(Host, now).Run(args, stdin, o);
                break;
            case "xl":
                XenTools.Xl(Host, args, o);
                break;
            case "xen-cmdline":
                XenTools.XenCmdline(Host, args, o);
                break;
            case "lspci" when Host.LspciInstalled:
                XenTools.Lspci(Host, args, o);
                break;
            case "cat":
                FileCommands.Cat(fs, args, o);
                break;
            case "ls":
                FileCommands.Ls(fs, args, o);
                break;
            case "grep":
                FileCommands.Grep(fs, args, stdin, o);
                break;
            case "find":
                FileCommands.Find(fs, args, o);
                break;
            case "readlink":
                FileCommands.Readlink(fs, args, o);
                break;
            case "tee":
                FileCommands.Tee(fs, args, stdin, o);
                break;
            case "findmnt":
                FileCommands.Findmnt(Host, args, o);
                break;
            case "udevadm":
                FileCommands.Udevadm(Host, args, o);
                break;
            case "dmesg":
                FileCommands.Dmesg(Host, o);
                break;
            case "true":
                break;
            default:
                o.Fail(127, $"sh: 1: {request.Program}: not found");
                break;
        }
    }
}

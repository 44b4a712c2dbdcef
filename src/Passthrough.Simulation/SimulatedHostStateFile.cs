using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Passthrough.Shell;
using Passthrough.Simulation.Model;

namespace Passthrough.Simulation;

/// <summary>
/// A simulated host saved as JSON (<see cref="SimulatedHost.ToJson"/>) in a file that several processes share: the
/// <c>passthrough-sim-dom0</c> executables an sshd runs, and the test that reads the state back. Every access holds an
/// exclusive lock for its whole read-change-write, so concurrent commands never lose each other's changes.
/// </summary>
/// <remarks>
/// <para>
/// The lock is the file <c>&lt;state&gt;.lock</c> opened with <see cref="FileShare.None"/>, which .NET implements on
/// Unix as <c>flock(LOCK_EX | LOCK_NB)</c>: it is released when the holder closes it or dies, so a killed command
/// never leaves it held. Waiters retry every few milliseconds until <see cref="LockTimeout"/>. The state itself is
/// replaced by an atomic rename, so a reader that ignores the lock still sees a whole file.
/// </para>
/// <para>
/// Command faults (<see cref="CommandFault"/> of kind <see cref="CommandFaultKind.Fail"/>) can be armed in the sidecar
/// file <see cref="FaultsPath"/>; <see cref="Execute"/> takes one hit of the first match instead of running the command,
/// as <see cref="SimulatedHostRunner"/> does with <see cref="SimulatedFaults"/>. Device faults and a host that never
/// comes back are part of the model (<see cref="SimulatedPciFunction.BindFailure"/>,
/// <see cref="SimulatedBootState.NeverReturns"/>) and are saved with it.
/// </para>
/// <para>
/// Time: the model stores absolute instants (boot, reboot windows). Build the host with the system clock and execute
/// with <see cref="TimeProvider.System"/> (the default), and a reboot's downtime elapses in real time across commands.
/// </para>
/// </remarks>
public sealed class SimulatedHostStateFile
{
    /// <summary>How long an access waits for the lock when none is given: 30 seconds.</summary>
    public static readonly TimeSpan DefaultLockTimeout = TimeSpan.FromSeconds(30);

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);
    private static readonly JsonSerializerOptions FaultJson = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>Names the state file at <paramref name="path"/> (it need not exist yet).</summary>
    /// <param name="path">The JSON file; made absolute.</param>
    /// <param name="lockTimeout">How long to wait for the lock; default <see cref="DefaultLockTimeout"/>.</param>
    public SimulatedHostStateFile(string path, TimeSpan? lockTimeout = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = System.IO.Path.GetFullPath(path);
        LockTimeout = lockTimeout ?? DefaultLockTimeout;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(LockTimeout, TimeSpan.Zero, nameof(lockTimeout));
    }

    /// <summary>The state file (absolute).</summary>
    public string Path { get; }

    /// <summary>The lock file, <c>&lt;state&gt;.lock</c>.</summary>
    public string LockPath => Path + ".lock";

    /// <summary>The armed command faults, <c>&lt;state&gt;.faults.json</c> (absent: none).</summary>
    public string FaultsPath => Path + ".faults.json";

    /// <summary>How long an access waits for the lock.</summary>
    public TimeSpan LockTimeout { get; }

    /// <summary>Whether the state file exists.</summary>
    public bool Exists => File.Exists(Path);

    /// <summary>Reads the host under the lock.</summary>
    /// <exception cref="FileNotFoundException">No state was written yet.</exception>
    /// <exception cref="TimeoutException">The lock stayed held for <see cref="LockTimeout"/>.</exception>
    public SimulatedHost Read()
    {
        using var held = AcquireLock();
        return SimulatedHost.FromJson(File.ReadAllText(Path, Utf8));
    }

    /// <summary>Replaces the saved host with <paramref name="host"/> under the lock.</summary>
    /// <exception cref="TimeoutException">The lock stayed held for <see cref="LockTimeout"/>.</exception>
    public void Write(SimulatedHost host)
    {
        ArgumentNullException.ThrowIfNull(host);
        using var held = AcquireLock();
        Replace(Path, host.ToJson());
    }

    /// <summary>Loads the host, applies <paramref name="change"/> and saves it, all under the lock.</summary>
    /// <exception cref="TimeoutException">The lock stayed held for <see cref="LockTimeout"/>.</exception>
    public void Update(Action<SimulatedHost> change)
    {
        ArgumentNullException.ThrowIfNull(change);
        using var held = AcquireLock();
        var before = File.ReadAllText(Path, Utf8);
        var host = SimulatedHost.FromJson(before);
        change(host);
        SaveIfChanged(host, before);
    }

    /// <summary>The armed command faults, in match order.</summary>
    public IReadOnlyList<CommandFault> ReadFaults()
    {
        using var held = AcquireLock();
        return LoadFaults();
    }

    /// <summary>Replaces the armed command faults (an empty list disarms all).</summary>
    /// <exception cref="NotSupportedException">A fault is not of kind <see cref="CommandFaultKind.Fail"/>.</exception>
    public void WriteFaults(IEnumerable<CommandFault> faults)
    {
        ArgumentNullException.ThrowIfNull(faults);
        var list = faults.ToList();
        if (list.FirstOrDefault(f => f.Kind != CommandFaultKind.Fail) is { } unsupported)
        {
            throw new NotSupportedException(
                $"Only failing commands can be armed in a state file ('{unsupported.Command}' is {unsupported.Kind}); hangs and dropped connections need the in-process runner.");
        }

        using var held = AcquireLock();
        SaveFaults(list);
    }

    /// <summary>
    /// Runs one command line against the saved host: under the lock, loads it, takes an armed fault or runs
    /// <see cref="SimulatedDom0.Execute"/>, and saves the host when the command (or the clock) changed it.
    /// </summary>
    /// <param name="request">The command line.</param>
    /// <param name="time">The clock; default <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ConnectionRefusedException">The host is down (rebooting, or never came back).</exception>
    /// <exception cref="TimeoutException">The lock stayed held for <see cref="LockTimeout"/>.</exception>
    public CommandResult Execute(CommandRequest request, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var held = AcquireLock();
        var before = File.ReadAllText(Path, Utf8);
        var host = SimulatedHost.FromJson(before);
        var dom0 = new SimulatedDom0(host, time ?? TimeProvider.System);
        try
        {
            // Reachability first, as SimulatedHostRunner does: a fault never fires on a host that is down.
            if (!dom0.IsReachable())
            {
                throw new ConnectionRefusedException(dom0.Target, request.Display, $"ssh: connect to host {host.Name} port 22: Connection refused");
            }

            return TakeFault(request) is { } fault
                ? new CommandResult(request, dom0.Target, fault.ExitCode, fault.StandardOutput, fault.StandardError, TimeSpan.Zero)
                : dom0.Execute(request);
        }
        finally
        {
            // Even a refused command may have moved the boot cycle on (e.g. a reboot that never returns).
            SaveIfChanged(host, before);
        }
    }

    private void SaveIfChanged(SimulatedHost host, string before)
    {
        var after = host.ToJson();
        if (!string.Equals(after, before, StringComparison.Ordinal))
        {
            Replace(Path, after);
        }
    }

    private CommandFault? TakeFault(CommandRequest request)
    {
        if (!File.Exists(FaultsPath))
        {
            return null;
        }

        var faults = LoadFaults();
        var index = faults.FindIndex(f => Matches(f.Command, request));
        if (index < 0)
        {
            return null;
        }

        var fault = faults[index];
        if (fault.Remaining != SimulatedFaults.Always)
        {
            if (fault.Remaining <= 1)
            {
                faults.RemoveAt(index);
            }
            else
            {
                faults[index] = fault with { Remaining = fault.Remaining - 1 };
            }

            SaveFaults(faults);
        }

        return fault;
    }

    // "xe vm-start" matches program xe (or any path ending in /xe) whose arguments begin with vm-start.
    private static bool Matches(string command, CommandRequest request)
    {
        var words = command.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var program = request.Program[(request.Program.LastIndexOf('/') + 1)..];
        if (words.Length == 0 || (words[0] != request.Program && words[0] != program) || words.Length - 1 > request.Arguments.Count)
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

    private List<CommandFault> LoadFaults() =>
        File.Exists(FaultsPath)
            ? JsonSerializer.Deserialize<List<CommandFault>>(File.ReadAllText(FaultsPath, Utf8), FaultJson) ?? []
            : [];

    private void SaveFaults(List<CommandFault> faults)
    {
        if (faults.Count == 0)
        {
            File.Delete(FaultsPath);
            return;
        }

        Replace(FaultsPath, JsonSerializer.Serialize(faults, FaultJson));
    }

    // Write aside then rename: readers see the old or the new file, never half of one.
    private static void Replace(string path, string text)
    {
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, text, Utf8);
        File.Move(temporary, path, overwrite: true);
    }

    private FileStream AcquireLock()
    {
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            try
            {
                return new FileStream(LockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 1);
            }
            catch (IOException held) when (held is not (FileNotFoundException or DirectoryNotFoundException or PathTooLongException))
            {
                if (Stopwatch.GetElapsedTime(started) > LockTimeout)
                {
                    throw new TimeoutException(
                        $"The simulated host's lock {LockPath} stayed held for {LockTimeout.TotalSeconds:0.###} s; is a command stuck?", held);
                }

                Thread.Sleep(5);
            }
        }
    }
}

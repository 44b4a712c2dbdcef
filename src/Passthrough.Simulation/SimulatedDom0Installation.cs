using System.Text;
using Passthrough.Shell;
using Passthrough.Simulation.Model;

namespace Passthrough.Simulation;

/// <summary>Where a <see cref="SimulatedDom0Installation"/> puts things and what it runs.</summary>
public sealed record SimulatedDom0InstallationOptions
{
    /// <summary>Where the shims go; default <c>&lt;directory&gt;/bin</c>. Put this directory first on the session's PATH.</summary>
    public string? BinDirectory { get; init; }

    /// <summary>
    /// The built <c>passthrough-sim-dom0.dll</c> (with its <c>.runtimeconfig.json</c> beside it); default the copy next
    /// to the running application, which a ProjectReference to <c>src/Passthrough.Simulation.Dom0</c> puts there.
    /// </summary>
    public string? ToolPath { get; init; }

    /// <summary>
    /// The <c>dotnet</c> host that runs the tool; default <c>DOTNET_HOST_PATH</c>, else this process's host when it is
    /// <c>dotnet</c>, else the first <c>dotnet</c> on PATH.
    /// </summary>
    public string? DotnetPath { get; init; }
}

/// <summary>
/// A simulated host installed as executables: its state as JSON (<see cref="State"/>) and one shim per dom0 tool
/// (<c>xe</c>, <c>xl</c>, <c>xen-cmdline</c>, <c>lspci</c>, <c>findmnt</c>, <c>udevadm</c>, <c>dmesg</c> and the file
/// tools <c>cat</c>, <c>ls</c>, <c>grep</c>, <c>find</c>, <c>readlink</c>, <c>tee</c>) that runs the multi-call program
/// <c>passthrough-sim-dom0</c> over that state. With <see cref="BinDirectory"/> first on an sshd session's PATH, the
/// driver's command lines reach the simulator over real SSH; the test reads the host back with <see cref="ReadHost"/>.
/// </summary>
/// <remarks>
/// <para>
/// A shim is <c>#!/bin/sh</c>: it exports <c>PASSTHROUGH_SIM_STATE</c> (the state file) and execs
/// <c>dotnet passthrough-sim-dom0.dll &lt;tool&gt; "$@"</c>. A file tool's shim first looks at its arguments and execs the
/// machine's real tool (<c>/usr/bin/cat</c>…) unless one of them is a simulated dom0 path
/// (<see cref="IsSimulatedPath"/>), so the shell, its start-up files and SSH.NET's own helpers keep working at the
/// cost of one <c>sh</c>, not a .NET start. The program makes the same check.
/// </para>
/// <para>
/// Armed command faults (<see cref="FailCommand"/>) live beside the state and survive across commands until used.
/// </para>
/// </remarks>
public sealed class SimulatedDom0Installation
{
    /// <summary>The environment variable naming the state file, read by <c>passthrough-sim-dom0</c>.</summary>
    public const string StateVariable = "PASSTHROUGH_SIM_STATE";

    /// <summary>The file name of the multi-call program.</summary>
    public const string ToolFileName = "passthrough-sim-dom0.dll";

    private static readonly string[] SimulatedTrees = ["/sys", "/opt/xensource"];
    private static readonly string[] SimulatedFiles = ["/proc/cmdline", "/proc/sys/kernel/random/boot_id", "/etc/xensource-inventory"];
    private static readonly string[] RealToolDirectories = ["/usr/bin", "/bin", "/usr/sbin", "/sbin"];

    private SimulatedDom0Installation(string directory, string binDirectory, SimulatedHostStateFile state)
    {
        Directory = directory;
        BinDirectory = binDirectory;
        State = state;
    }

    /// <summary>Every tool that gets a shim.</summary>
    public static IReadOnlyList<string> Tools { get; } = ["xe", "xl", "xen-cmdline", "lspci", "findmnt", "udevadm", "dmesg", "cat", "ls", "grep", "find", "readlink", "tee"];

    /// <summary>The tools that are simulated only when an argument is a simulated path (<see cref="IsSimulatedPath"/>).</summary>
    public static IReadOnlyList<string> FileTools { get; } = ["cat", "ls", "grep", "find", "readlink", "tee"];

    /// <summary>The installation's directory (the state file lives here).</summary>
    public string Directory { get; }

    /// <summary>The directory holding the shims.</summary>
    public string BinDirectory { get; }

    /// <summary>
    /// <c>&lt;directory&gt;/opt</c>: <c>xensource/bin/xe</c> and <c>xensource/libexec/xen-cmdline</c>, links to the shims.
    /// Bind-mount it on <c>/opt</c> in the sshd's own mount namespace (<c>unshare --mount</c>) and the catalogue's
    /// absolute paths (the driver's default <c>XenCmdlinePath</c>) resolve as on a real dom0.
    /// </summary>
    public string OptDirectory => Path.Combine(Directory, "opt");

    /// <summary>The saved host.</summary>
    public SimulatedHostStateFile State { get; }

    /// <summary>The command faults still armed.</summary>
    public IReadOnlyList<CommandFault> ArmedFaults => State.ReadFaults();

    /// <summary>
    /// Writes <paramref name="host"/> to <c>&lt;directory&gt;/host.json</c> and the shims to the bin directory
    /// (both created when missing), disarming any faults left from an earlier installation there.
    /// </summary>
    /// <exception cref="FileNotFoundException">The tool or its runtimeconfig is not where the options say.</exception>
    /// <exception cref="PlatformNotSupportedException">On Windows.</exception>
    public static SimulatedDom0Installation Install(string directory, SimulatedHost host, SimulatedDom0InstallationOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ArgumentNullException.ThrowIfNull(host);
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("The simulated dom0 executables are POSIX sh shims: install them on Linux.");
        }

        options ??= new SimulatedDom0InstallationOptions();
        var root = System.IO.Directory.CreateDirectory(Path.GetFullPath(directory)).FullName;
        var bin = System.IO.Directory.CreateDirectory(Path.GetFullPath(options.BinDirectory ?? Path.Combine(root, "bin"))).FullName;
        var tool = Path.GetFullPath(options.ToolPath ?? Path.Combine(AppContext.BaseDirectory, ToolFileName));
        if (!File.Exists(tool) || !File.Exists(Path.ChangeExtension(tool, ".runtimeconfig.json")))
        {
            throw new FileNotFoundException(
                $"{tool} (and its .runtimeconfig.json) not found: build src/Passthrough.Simulation.Dom0, or reference it from the test project so it is copied next to the tests.",
                tool);
        }

        var dotnet = options.DotnetPath ?? FindDotnet();
        var state = new SimulatedHostStateFile(Path.Combine(root, "host.json"));
        state.Write(host);
        state.WriteFaults([]);
        foreach (var name in Tools)
        {
            var shim = Path.Combine(bin, name);
            File.WriteAllText(shim, Shim(name, state.Path, dotnet, tool), new UTF8Encoding(false));
            File.SetUnixFileMode(shim, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
                UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        }

        var installation = new SimulatedDom0Installation(root, bin, state);
        installation.LinkOpt("bin", "xe");
        installation.LinkOpt("libexec", "xen-cmdline");
        return installation;
    }

    /// <summary>
    /// Whether a file tool given <paramref name="path"/> is answered by the simulator: <c>/sys</c> and
    /// <c>/opt/xensource</c> with everything below, <c>/proc/cmdline</c>, <c>/proc/sys/kernel/random/boot_id</c> and
    /// <c>/etc/xensource-inventory</c>. Anything else (<c>/proc/123/environ</c>, <c>/etc/hostname</c>) is the machine's.
    /// </summary>
    public static bool IsSimulatedPath(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return SimulatedFiles.Contains(path, StringComparer.Ordinal) ||
            SimulatedTrees.Any(tree => path == tree || path.StartsWith(tree + "/", StringComparison.Ordinal));
    }

    /// <summary>Where the machine's own <paramref name="tool"/> is (searched in /usr/bin, /bin, /usr/sbin, /sbin), or null.</summary>
    public static string? FindRealTool(string tool)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tool);
        return RealToolDirectories.Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists);
    }

    /// <summary>The shim of <paramref name="tool"/>.</summary>
    public string ShimPath(string tool) => Path.Combine(BinDirectory, tool);

    /// <summary>The saved host (under the lock).</summary>
    public SimulatedHost ReadHost() => State.Read();

    /// <summary>Replaces the saved host, e.g. to start a test from a fresh one.</summary>
    public void WriteHost(SimulatedHost host) => State.Write(host);

    /// <summary>Changes the saved host under the lock (e.g. to arm a device fault or turn the IOMMU off).</summary>
    public void UpdateHost(Action<SimulatedHost> change) => State.Update(change);

    /// <summary>The saved host's restorable state as of <paramref name="time"/> (default the system clock), boot cycle advanced.</summary>
    public HostStateSnapshot Capture(TimeProvider? time = null) => new SimulatedDom0(ReadHost(), time ?? TimeProvider.System).Capture();

    /// <summary>
    /// Makes the next <paramref name="times"/> commands matching <paramref name="command"/> (program and leading arguments,
    /// e.g. <c>xe vm-start</c>) exit with <paramref name="exitCode"/> and print <paramref name="standardError"/> (a line
    /// break is added when missing) without running, as <see cref="SimulatedFaults.FailCommand"/> does in-process.
    /// </summary>
    public void FailCommand(string command, string standardError, int times = 1, int exitCode = 1, string standardOutput = "")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(command);
        ArgumentNullException.ThrowIfNull(standardError);
        ArgumentOutOfRangeException.ThrowIfLessThan(times, 1);
        var stderr = standardError.Length == 0 || standardError.EndsWith('\n') ? standardError : standardError + "\n";
        State.WriteFaults([.. State.ReadFaults(), new CommandFault(command.Trim(), CommandFaultKind.Fail, times, exitCode, stderr, standardOutput)]);
    }

    /// <summary>Disarms every command fault.</summary>
    public void ClearFaults() => State.WriteFaults([]);

    private void LinkOpt(string directory, string tool)
    {
        var link = Path.Combine(System.IO.Directory.CreateDirectory(Path.Combine(OptDirectory, "xensource", directory)).FullName, tool);
        File.Delete(link);
        File.CreateSymbolicLink(link, ShimPath(tool));
    }

    private static string Shim(string tool, string statePath, string dotnet, string toolPath)
    {
        var run = $"exec {ShellQuoting.Quote(dotnet)} {ShellQuoting.Quote(toolPath)} {ShellQuoting.Quote(tool)} \"$@\"";
        var shim = new StringBuilder()
            .Append("#!/bin/sh\n")
            .Append("# Simulated dom0 '").Append(tool).Append("' (written by Passthrough.Simulation.SimulatedDom0Installation).\n")
            .Append(StateVariable).Append('=').Append(ShellQuoting.Quote(statePath)).Append('\n')
            .Append("export ").Append(StateVariable).Append('\n');
        if (!FileTools.Contains(tool))
        {
            return shim.Append(run).Append('\n').ToString();
        }

        // The same test as IsSimulatedPath, in sh: the machine's files stay the machine's without starting .NET.
        var patterns = string.Join('|', SimulatedFiles.Concat(SimulatedTrees).Concat(SimulatedTrees.Select(t => t + "/*")));
        shim.Append("for argument in \"$@\"; do\n")
            .Append("  case \"$argument\" in\n")
            .Append("    ").Append(patterns).Append(") ").Append(run).Append(" ;;\n")
            .Append("  esac\n")
            .Append("done\n");
        return (FindRealTool(tool) is { } real
            ? shim.Append("exec ").Append(ShellQuoting.Quote(real)).Append(" \"$@\"\n")
            : shim.Append("echo \"").Append(tool).Append(": not found\" >&2\nexit 127\n")).ToString();
    }

    private static string FindDotnet()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host))
        {
            return host;
        }

        if (Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            return self;
        }

        var onPath = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, "dotnet"))
            .FirstOrDefault(File.Exists);
        return onPath ?? throw new FileNotFoundException("No dotnet host found (DOTNET_HOST_PATH, this process, PATH); set SimulatedDom0InstallationOptions.DotnetPath.");
    }
}

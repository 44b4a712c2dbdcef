using System.Diagnostics;
using System.Text;
using Passthrough.Shell;

namespace Passthrough.Simulation.Dom0;

/// <summary>
/// <c>passthrough-sim-dom0 &lt;tool&gt; args…</c>: one dom0 command line answered by the simulated host saved in the file
/// that <c>PASSTHROUGH_SIM_STATE</c> names (see <see cref="SimulatedHostStateFile"/>), with the real tool's output and
/// exit status. The shims <see cref="SimulatedDom0Installation"/> writes call it, one per tool.
/// </summary>
/// <remarks>
/// <para>
/// File tools (<c>cat</c>, <c>ls</c>, <c>grep</c>, <c>find</c>, <c>readlink</c>, <c>tee</c>) whose arguments name no
/// simulated path run the machine's own tool with the same arguments and inherited stdin/stdout/stderr, so a shell
/// whose PATH starts with the shims still works. Only <c>tee</c> reads stdin, and only when it is redirected.
/// </para>
/// <para>
/// While the simulated host is down (rebooting) the command prints what an OpenSSH client prints for a refused
/// connection and exits 255, the status <c>ssh</c> gives when it cannot connect: the caller's SSH connection itself
/// is already up, so it sees a failed command rather than a refused connection.
/// </para>
/// <para>Exit 125: the tool itself failed (no state file, lock timeout, unusable arguments), with a line on stderr.</para>
/// </remarks>
internal static class Dom0Tool
{
    /// <summary>Exit status when the simulator cannot run the command at all.</summary>
    public const int ToolFailure = 125;

    /// <summary>Exit status of <c>ssh</c> when the connection fails.</summary>
    public const int SshConnectFailure = 255;

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    public static int Run(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help")
        {
            WriteError($"usage: passthrough-sim-dom0 <tool> [argument…]   (tools: {string.Join(", ", SimulatedDom0Installation.Tools)}); " +
                $"the simulated host is the JSON file named by {SimulatedDom0Installation.StateVariable}");
            return args.Length == 0 ? ToolFailure : 0;
        }

        var tool = args[0];
        var arguments = args[1..];
        if (SimulatedDom0Installation.FileTools.Contains(tool) && !arguments.Any(SimulatedDom0Installation.IsSimulatedPath))
        {
            return RunRealTool(tool, arguments);
        }

        var statePath = Environment.GetEnvironmentVariable(SimulatedDom0Installation.StateVariable);
        if (string.IsNullOrWhiteSpace(statePath))
        {
            WriteError($"passthrough-sim-dom0: {SimulatedDom0Installation.StateVariable} is not set; it names the simulated host's JSON state file.");
            return ToolFailure;
        }

        CommandRequest request;
        try
        {
            request = new CommandRequest(tool, arguments) { StandardInput = tool == "tee" ? ReadStandardInput() : null };
        }
        catch (ArgumentException invalid)
        {
            WriteError($"passthrough-sim-dom0: {invalid.Message}");
            return ToolFailure;
        }

        CommandResult result;
        try
        {
            result = new SimulatedHostStateFile(statePath).Execute(request);
        }
        catch (ConnectionRefusedException refused)
        {
            var host = refused.Target is SimulatedTarget simulated ? simulated.HostName : refused.Target.ToString();
            WriteError($"ssh: connect to host {host} port 22: Connection refused");
            return SshConnectFailure;
        }
        catch (Exception failure) when (failure is IOException or UnauthorizedAccessException or TimeoutException or System.Text.Json.JsonException)
        {
            WriteError($"passthrough-sim-dom0: cannot use the simulated host in {statePath}: {failure.Message}");
            return ToolFailure;
        }

        Write(Console.OpenStandardOutput(), result.StandardOutput);
        Write(Console.OpenStandardError(), result.StandardError);
        return result.ExitCode;
    }

    // The machine's own tool, with our stdin, stdout and stderr (not redirected: the child inherits them).
    private static int RunRealTool(string tool, string[] arguments)
    {
        if (SimulatedDom0Installation.FindRealTool(tool) is not { } real)
        {
            WriteError($"{tool}: not found");
            return 127;
        }

        var start = new ProcessStartInfo(real) { UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        process.WaitForExit();
        return process.ExitCode;
    }

    // Never blocks on a terminal; a closed or redirected stdin is read to its end (the SSH runner always closes it).
    private static string? ReadStandardInput()
    {
        if (!Console.IsInputRedirected)
        {
            return null;
        }

        try
        {
            using var input = Console.OpenStandardInput();
            using var reader = new StreamReader(input, Utf8);
            return reader.ReadToEnd();
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static void WriteError(string line) => Write(Console.OpenStandardError(), line + "\n");

    private static void Write(Stream stream, string text)
    {
        using (stream)
        {
            if (text.Length > 0)
            {
                stream.Write(Utf8.GetBytes(text));
                stream.Flush();
            }
        }
    }
}

using System.Collections.Concurrent;
using System.Diagnostics;

namespace Passthrough.GuestAgent.Tests.Infrastructure;

/// <summary>
/// The NativeAOT guest agent binary, run as a process: the path comes from <c>PASSTHROUGH_GUEST_AGENT_BINARY</c> (set by
/// ops/test.sh after it publishes the agent), else the publish directory <c>artifacts/guest-agent/</c>. A missing binary
/// fails the test: the integration tests exist to run the binary that ships.
/// </summary>
internal sealed class AgentProcess : IAsyncDisposable
{
    public const string BinaryVariable = "PASSTHROUGH_GUEST_AGENT_BINARY";

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private AgentProcess(Process process)
    {
        _process = process;
    }

    public static string Binary
    {
        get
        {
            var configured = Environment.GetEnvironmentVariable(BinaryVariable);
            var path = configured is { Length: > 0 } ? configured : DefaultPath();
            if (path is null || !File.Exists(path))
            {
                Assert.Fail(
                    $"The NativeAOT guest agent binary is missing ({(configured is { Length: > 0 } ? $"{BinaryVariable}={configured}" : $"{BinaryVariable} unset, and no artifacts/guest-agent/passthrough-guest-agent")}). " +
                    "Publish it first: dotnet publish src/Passthrough.GuestAgent -c Release -r linux-x64 -o artifacts/guest-agent (ops/test.sh does).");
            }

            return path!;
        }
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Output => string.Join('\n', _output);

    /// <summary>Starts the agent with <paramref name="settings"/> as <c>GuestAgent__KEY</c> environment variables.</summary>
    public static AgentProcess Start(IReadOnlyDictionary<string, string?> settings, string environment = "Development") =>
        Start(new ProcessStartInfo(Binary), settings, environment);

    /// <summary>
    /// Starts the agent as systemd starts a Type=notify unit: a parent process whose name is <c>systemd</c> (what
    /// Microsoft.Extensions.Hosting.Systemd checks) and <c>NOTIFY_SOCKET</c> set. The parent is a copy of bash named
    /// systemd that starts the agent, writes its pid to <paramref name="pidFile"/> and waits for it.
    /// </summary>
    public static AgentProcess StartUnderSystemd(IReadOnlyDictionary<string, string?> settings, string notifySocket, string pidFile)
    {
        var directory = Directory.CreateTempSubdirectory("fake-systemd-").FullName;
        var systemd = Path.Combine(directory, "systemd");
        File.Copy("/bin/bash", systemd);
        var startInfo = new ProcessStartInfo(systemd) { ArgumentList = { "-c", "\"$0\" & echo $! > \"$1\"; wait $!", Binary, pidFile } };
        startInfo.Environment["NOTIFY_SOCKET"] = notifySocket;
        return Start(startInfo, settings, "Development");
    }

    private static AgentProcess Start(ProcessStartInfo startInfo, IReadOnlyDictionary<string, string?> settings, string environment)
    {
        ArgumentNullException.ThrowIfNull(settings);
        startInfo.RedirectStandardOutput = true;
        startInfo.RedirectStandardError = true;
        startInfo.WorkingDirectory = Path.GetTempPath();
        startInfo.Environment["DOTNET_ENVIRONMENT"] = environment;
        startInfo.Environment["Logging__Console__FormatterName"] = "simple";
        startInfo.Environment["Logging__Console__FormatterOptions__SingleLine"] = "true";
        foreach (var (key, value) in settings)
        {
            startInfo.Environment[$"GuestAgent__{key}"] = value;
        }

        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        var agent = new AgentProcess(process);
        process.OutputDataReceived += (_, e) => agent.Add(e.Data);
        process.ErrorDataReceived += (_, e) => agent.Add(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return agent;
    }

    /// <summary>Waits for the process to exit and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        await _process.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(timeout, TestContext.Current.CancellationToken);
        return _process.ExitCode;
    }

    /// <summary>SIGKILL: the agent dies without any chance to flush (a crash, a power cut of the VM).</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _process.Dispose();
        return ValueTask.CompletedTask;
    }

    private void Add(string? line)
    {
        if (line is not null)
        {
            _output.Enqueue(line);
        }
    }

    private static string? DefaultPath()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Passthrough.Agents.sln")))
            {
                return Path.Combine(dir.FullName, "artifacts", "guest-agent", "passthrough-guest-agent");
            }
        }

        return null;
    }
}

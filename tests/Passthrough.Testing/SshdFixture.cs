using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Passthrough.Shell;

namespace Passthrough.Testing;

/// <summary>
/// A real OpenSSH server on 127.0.0.1 for integration tests: its own temporary directory, host key, user key,
/// <c>authorized_keys</c> and <c>sshd_config</c> on a free port, started as a child process (<c>sshd -D -e</c>; needs
/// root, as here and on CI). Tests can stop, restart it or kill its sessions to simulate a dropped connection.
/// </summary>
/// <remarks>
/// When sshd is not installed, <see cref="InitializeAsync"/> throws, which fails every test using the fixture with a
/// message saying what to install: the SSH tests are never silently skipped. Derive from this class to give a test class
/// an sshd with other <see cref="SshdOptions"/> (extra config lines, session environment).
/// </remarks>
public class SshdFixture : IAsyncLifetime
{
    private const string SshKeygen = "ssh-keygen";
    private const string PrivilegeSeparationDirectory = "/run/sshd";
    private const string DefaultSystemPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    private readonly StringBuilder _log = new();
    private readonly Lock _logLock = new();
    private Process? _sshd;

    /// <summary>An sshd with the default <see cref="SshdOptions"/>.</summary>
    public SshdFixture()
        : this(new SshdOptions())
    {
    }

    /// <summary>An sshd configured by <paramref name="options"/>, for derived fixtures (xUnit needs one public constructor).</summary>
    protected SshdFixture(SshdOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
    }

    /// <summary>The options this sshd was configured with.</summary>
    public SshdOptions Options { get; }

    /// <summary>The temporary directory holding keys, configuration, pid file; deleted on dispose.</summary>
    public string Directory { get; private set; } = string.Empty;

    /// <summary>A directory first on the PATH of every session: drop executables here (before or after start).</summary>
    public string BinDirectory { get; private set; } = string.Empty;

    /// <summary>The generated <c>sshd_config</c>.</summary>
    public string ConfigFile { get; private set; } = string.Empty;

    /// <summary>The login name: root.</summary>
    public string User { get; } = "root";

    /// <summary>The TCP port sshd listens on (127.0.0.1 only).</summary>
    public int Port { get; private set; }

    /// <summary>The private key authorized to log in as <see cref="User"/>.</summary>
    public string IdentityFile { get; private set; } = string.Empty;

    /// <summary>The host key's fingerprint as <c>ssh-keygen -lf -E sha256</c> prints it (<c>SHA256:…</c>).</summary>
    public string HostKeyFingerprint { get; private set; } = string.Empty;

    /// <summary>The target <c>ssh://root@127.0.0.1:PORT</c> with the authorized key and the pinned host key.</summary>
    public SshTarget Target { get; private set; } = null!;

    /// <summary>True while the sshd listener process runs.</summary>
    public bool IsRunning => _sshd is { HasExited: false };

    /// <summary>What sshd has written to stderr so far (connections, authentication failures, errors).</summary>
    public string Log
    {
        get
        {
            lock (_logLock)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>The fixture's target with some parts replaced, for tests of refused connections.</summary>
    public SshTarget TargetWith(string? identityFile = null, string? hostKeyFingerprint = null, int? port = null, string? user = null) =>
        SshTarget.Create(user ?? User, "127.0.0.1", port ?? Port, identityFile ?? IdentityFile, hostKeyFingerprint ?? HostKeyFingerprint);

    /// <summary>Creates the keys and configuration and starts sshd.</summary>
    /// <exception cref="InvalidOperationException">sshd or ssh-keygen is missing, or sshd does not start.</exception>
    public virtual async ValueTask InitializeAsync()
    {
        if (!File.Exists(Options.SshdPath))
        {
            throw new InvalidOperationException(
                $"sshd was not found at {Options.SshdPath}. The SSH integration tests need a real OpenSSH server: " +
                "install it with 'apt-get install -y openssh-server' (these tests fail rather than skip without it).");
        }

        Directory = System.IO.Directory.CreateTempSubdirectory("passthrough-sshd-").FullName;
        BinDirectory = System.IO.Directory.CreateDirectory(Path.Combine(Directory, "bin")).FullName;
        ConfigFile = Path.Combine(Directory, "sshd_config");
        IdentityFile = Path.Combine(Directory, "id_ed25519");
        var hostKey = Path.Combine(Directory, "ssh_host_ed25519_key");
        var authorizedKeys = Path.Combine(Directory, "authorized_keys");

        await GenerateKeyAsync(hostKey, "passthrough-test-host").ConfigureAwait(false);
        await GenerateKeyAsync(IdentityFile, "passthrough-test-user").ConfigureAwait(false);
        File.Copy(IdentityFile + ".pub", authorizedKeys);
        HostKeyFingerprint = await FingerprintAsync(hostKey + ".pub").ConfigureAwait(false);

        Port = FreePort();
        File.WriteAllText(ConfigFile, BuildConfig(hostKey, authorizedKeys));
        Target = TargetWith();

        // Debian's sshd insists on its privilege-separation directory even when started by hand.
        System.IO.Directory.CreateDirectory(PrivilegeSeparationDirectory);
        await StartAsync().ConfigureAwait(false);
    }

    /// <summary>Generates a key pair that is not authorized on this server; returns the private key's path.</summary>
    public async Task<string> CreateUnauthorizedKeyAsync(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var path = Path.Combine(Directory, name);
        await GenerateKeyAsync(path, "passthrough-test-stranger").ConfigureAwait(false);
        return path;
    }

    /// <summary>Starts sshd (again) on the same port with the same keys, and waits until it sends its banner.</summary>
    /// <exception cref="InvalidOperationException">sshd exited or did not answer within <see cref="SshdOptions.StartTimeout"/>.</exception>
    public async Task StartAsync()
    {
        if (IsRunning)
        {
            return;
        }

        var startInfo = new ProcessStartInfo(Options.SshdPath)
        {
            UseShellExecute = false,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
        };
        foreach (var argument in new[] { "-D", "-e", "-f", ConfigFile })
        {
            startInfo.ArgumentList.Add(argument);
        }

        var sshd = new Process { StartInfo = startInfo };
        sshd.ErrorDataReceived += (_, e) => AppendLog(e.Data);
        sshd.OutputDataReceived += (_, e) => AppendLog(e.Data);
        sshd.Start();
        sshd.BeginErrorReadLine();
        sshd.BeginOutputReadLine();
        sshd.StandardInput.Close();
        _sshd = sshd;

        var deadline = Stopwatch.GetTimestamp() + (long)(Options.StartTimeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            if (sshd.HasExited)
            {
                throw new InvalidOperationException(
                    $"sshd exited with status {sshd.ExitCode} at start (config {ConfigFile}):{Environment.NewLine}{Log}");
            }

            if (await ReceivesBannerAsync().ConfigureAwait(false))
            {
                return;
            }

            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new InvalidOperationException(
                    $"sshd did not answer on 127.0.0.1:{Port} within {Options.StartTimeout.TotalSeconds} s:{Environment.NewLine}{Log}");
            }

            await Task.Delay(50).ConfigureAwait(false);
        }
    }

    /// <summary>Kills sshd and every session it serves; clients see their connection drop.</summary>
    public async Task StopAsync()
    {
        await KillSessionsAsync().ConfigureAwait(false);
        var sshd = _sshd;
        _sshd = null;
        if (sshd is null)
        {
            return;
        }

        try
        {
            sshd.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        await sshd.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        sshd.Dispose();
    }

    /// <summary>Stops and starts sshd: established connections drop, new ones succeed.</summary>
    public async Task RestartAsync()
    {
        await StopAsync().ConfigureAwait(false);
        await StartAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Kills every session process of this sshd (its descendants) but keeps it listening: connections drop as when a
    /// network path breaks, and reconnecting works at once. Waits until the sessions are gone.
    /// </summary>
    public async Task KillSessionsAsync()
    {
        if (_sshd is not { HasExited: false } sshd)
        {
            return;
        }

        var deadline = Stopwatch.GetTimestamp() + (10 * Stopwatch.Frequency);
        while (true)
        {
            var sessions = DescendantsOf(sshd.Id);
            if (sessions.Count == 0)
            {
                return;
            }

            foreach (var pid in sessions)
            {
                try
                {
                    using var process = Process.GetProcessById(pid);
                    process.Kill();
                }
                catch (ArgumentException)
                {
                    // Exited meanwhile.
                }
                catch (InvalidOperationException)
                {
                    // Exited meanwhile.
                }
            }

            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new InvalidOperationException($"sshd sessions {string.Join(", ", sessions)} survived SIGKILL for 10 s.");
            }

            await Task.Delay(20).ConfigureAwait(false);
        }
    }

    /// <summary>Kills sshd and its sessions and deletes the temporary directory.</summary>
    public virtual async ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        try
        {
            await StopAsync().ConfigureAwait(false);
        }
        finally
        {
            if (Directory.Length > 0 && System.IO.Directory.Exists(Directory))
            {
                try
                {
                    System.IO.Directory.Delete(Directory, recursive: true);
                }
                catch (IOException)
                {
                    // A session process still writing there; the OS cleans temp eventually.
                }
            }
        }
    }

    private string BuildConfig(string hostKey, string authorizedKeys)
    {
        var environment = new Dictionary<string, string>(Options.SessionEnvironment, StringComparer.Ordinal);
        var path = environment.Remove("PATH", out var configuredPath) ? configuredPath : DefaultSystemPath;
        environment["PATH"] = BinDirectory + ":" + path;

        var config = new StringBuilder()
            .AppendLine("# Generated by Passthrough.Testing.SshdFixture for one test run.")
            .AppendLine("ListenAddress 127.0.0.1")
            .AppendLine(CultureInfo.InvariantCulture, $"Port {Port}")
            .AppendLine(CultureInfo.InvariantCulture, $"HostKey {hostKey}")
            .AppendLine(CultureInfo.InvariantCulture, $"PidFile {Path.Combine(Directory, "sshd.pid")}")
            .AppendLine(CultureInfo.InvariantCulture, $"AuthorizedKeysFile {authorizedKeys}")
            .AppendLine("PubkeyAuthentication yes")
            .AppendLine("PasswordAuthentication no")
            .AppendLine("KbdInteractiveAuthentication no")
            .AppendLine("UsePAM no")
            .AppendLine("StrictModes no")
            .AppendLine("PermitRootLogin prohibit-password")
            .AppendLine("PrintMotd no")
            .AppendLine("MaxStartups 100")
            .AppendLine("LogLevel INFO");
        // One SetEnv line: sshd (9.2) honours only the first SetEnv directive and ignores later ones.
        config.Append("SetEnv");
        foreach (var (name, value) in environment)
        {
            if (value.Contains('"', StringComparison.Ordinal) || value.Contains('\n', StringComparison.Ordinal) || name.Contains('=', StringComparison.Ordinal))
            {
                throw new ArgumentException($"Session environment variable {name} cannot be written to sshd_config: {value}");
            }

            config.Append(CultureInfo.InvariantCulture, $" {name}=\"{value}\"");
        }

        config.AppendLine();

        foreach (var line in Options.ExtraConfigLines)
        {
            config.AppendLine(line);
        }

        return config.ToString();
    }

    private async Task<bool> ReceivesBannerAsync()
    {
        using var client = new TcpClient();
        using var attempt = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, Port, attempt.Token).ConfigureAwait(false);
            var buffer = new byte[64];
            var read = await client.GetStream().ReadAsync(buffer, attempt.Token).ConfigureAwait(false);
            return read >= 4 && Encoding.ASCII.GetString(buffer, 0, read).StartsWith("SSH-", StringComparison.Ordinal);
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
        {
            return false;
        }
    }

    private void AppendLog(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_logLock)
        {
            _log.AppendLine(line);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task GenerateKeyAsync(string path, string comment) =>
        await RunToolAsync(SshKeygen, "-q", "-t", "ed25519", "-N", string.Empty, "-C", comment, "-f", path).ConfigureAwait(false);

    private static async Task<string> FingerprintAsync(string publicKey)
    {
        // "256 SHA256:base64 comment (ED25519)"
        var output = await RunToolAsync(SshKeygen, "-l", "-E", "sha256", "-f", publicKey).ConfigureAwait(false);
        var fields = output.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields.Length >= 2 && fields[1].StartsWith("SHA256:", StringComparison.Ordinal)
            ? fields[1]
            : throw new InvalidOperationException($"Unexpected output of ssh-keygen -lf {publicKey}: {output}");
    }

    private static async Task<string> RunToolAsync(string program, params string[] arguments)
    {
        var startInfo = new ProcessStartInfo(program)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(startInfo)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException(
                $"{program} could not be started ({ex.Message}); install openssh-client / openssh-server.", ex);
        }

        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync().ConfigureAwait(false);
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException(
                    $"{program} {string.Join(' ', arguments)} exited with {process.ExitCode}: {await error.ConfigureAwait(false)}");
            }

            return (await output.ConfigureAwait(false)).Trim();
        }
    }

    // Every process below the sshd listener: per-connection monitors, their unprivileged children and the commands.
    private static List<int> DescendantsOf(int root)
    {
        var parents = new Dictionary<int, int>();
        foreach (var entry in System.IO.Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                // /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces and parentheses.
                var stat = File.ReadAllText(Path.Combine(entry, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                parents[pid] = int.Parse(fields[1], CultureInfo.InvariantCulture);
            }
            catch (IOException)
            {
                // Exited while listing.
            }
        }

        var result = new List<int>();
        var frontier = new Queue<int>([root]);
        while (frontier.TryDequeue(out var parent))
        {
            foreach (var (pid, ppid) in parents)
            {
                if (ppid == parent)
                {
                    result.Add(pid);
                    frontier.Enqueue(pid);
                }
            }
        }

        return result;
    }
}

using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Renci.SshNet;
using Renci.SshNet.Common;

namespace Passthrough.Shell;

/// <summary>
/// Runs commands on one host over one SSH connection (SSH.NET), authenticating with the target's private key and
/// accepting only the server whose host key matches the pinned SHA256 fingerprint.
/// </summary>
/// <remarks>
/// <para>
/// The command line is <see cref="ShellQuoting.Join"/> of the program and its arguments: the remote side always runs
/// the login shell, and every word is single-quoted so nothing in an argument is interpreted. It is prefixed with
/// <c>PASSTHROUGH_RUN_ID=&lt;guid&gt;</c>, an environment variable the program and its children inherit, by which a
/// command that overran its timeout (or was cancelled) is found and killed over a second channel. Without
/// <see cref="CommandRequest.StandardInput"/> the command line ends in <c>&lt;/dev/null</c> so that a program reading
/// stdin sees end-of-file at once.
/// </para>
/// <para>
/// Thread-safe: concurrent calls share the connection, each on its own channel (at most
/// <see cref="SshCommandRunnerOptions.MaxConcurrentCommands"/> at once). Connecting and reconnecting are serialized.
/// When the connection is found down before a command is sent, the runner reconnects once and goes on; when it breaks
/// while a command runs, the call throws <see cref="ConnectionLostException"/> and the command is never re-run, because
/// it may already have had its effect. The next call reconnects.
/// </para>
/// <para>
/// A command killed by a signal (no exit status, an exit signal) returns 128 + the signal number, as a shell reports it.
/// Exit status 127 (program not found by the remote shell) is a normal result.
/// </para>
/// </remarks>
public sealed class SshCommandRunner : ICommandRunner
{
    // Environment variable set on every remote command, valued with a per-call id.
    internal const string RunIdVariable = "PASSTHROUGH_RUN_ID";

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    private readonly SshCommandRunnerOptions _options;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _connectLock = new(1, 1);
    private readonly SemaphoreSlim _channels;
    private Connection? _connection;
    private int _disposed;

    /// <summary>Creates a runner for <paramref name="target"/>; it connects on first use (or <see cref="ConnectAsync"/>).</summary>
    /// <param name="target">The host, user, identity file and pinned host key.</param>
    /// <param name="options">Timeouts and limits; default <see cref="SshCommandRunnerOptions.Default"/>.</param>
    /// <param name="logger">Where to log; default none. Key material is never logged, only the identity file's path.</param>
    public SshCommandRunner(SshTarget target, SshCommandRunnerOptions? options = null, ILogger<SshCommandRunner>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(target);
        Target = target;
        _options = options ?? SshCommandRunnerOptions.Default;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _channels = new SemaphoreSlim(_options.MaxConcurrentCommands, _options.MaxConcurrentCommands);
    }

    /// <summary>The host the commands run on.</summary>
    public SshTarget Target { get; }

    CommandTarget ICommandRunner.Target => Target;

    /// <summary>True while the connection is established (it may still break at any moment).</summary>
    public bool IsConnected => Volatile.Read(ref _connection)?.Client.IsConnected == true;

    private bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>
    /// Connects now, if not connected yet, so that a wrong host key, a refused key or an unreachable host shows at
    /// start-up rather than at the first command.
    /// </summary>
    /// <exception cref="ConnectionRefusedException">The host cannot be reached, or does not answer SSH in time.</exception>
    /// <exception cref="AuthenticationFailedException">The identity file cannot be used, or the server refused the key.</exception>
    /// <exception cref="HostKeyMismatchException">The server's host key is not the pinned one.</exception>
    public async Task ConnectAsync(CancellationToken cancellationToken = default)
    {
        _ = await GetConnectionAsync(broken: null, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <exception cref="ConnectionRefusedException">The host cannot be reached, or does not answer SSH in time.</exception>
    /// <exception cref="AuthenticationFailedException">The identity file cannot be used, or the server refused the key.</exception>
    /// <exception cref="HostKeyMismatchException">The server's host key is not the pinned one.</exception>
    /// <exception cref="ConnectionLostException">The connection broke while the command ran (it may have had effects).</exception>
    public async Task<CommandResult> RunAsync(CommandRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ObjectDisposedException.ThrowIf(IsDisposed, this);

        // The run id tags the command's environment so a timed-out command can be found and killed (see StopRemoteAsync).
        // Quoting refuses what it cannot carry; a value that reached a CommandRequest is already transportable.
        var runId = Guid.NewGuid().ToString("N");
        var commandLine = $"{RunIdVariable}={runId} {ShellQuoting.Join(request.Program, request.Arguments)}";
        if (string.IsNullOrEmpty(request.StandardInput))
        {
            commandLine += " </dev/null";
        }

        await _channels.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await RunOnChannelAsync(request, commandLine, runId, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _channels.Release();
        }
    }

    /// <summary>Closes the connection. Commands still running fail.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _connectLock.WaitAsync().ConfigureAwait(false);
        try
        {
            var connection = Interlocked.Exchange(ref _connection, null);
            connection?.Dispose();
        }
        finally
        {
            _connectLock.Release();
        }
    }

    private async Task<CommandResult> RunOnChannelAsync(CommandRequest request, string commandLine, string runId, CancellationToken cancellationToken)
    {
        Connection? broken = null;
        for (var attempt = 1; ; attempt++)
        {
            var connection = await GetConnectionAsync(broken, cancellationToken).ConfigureAwait(false);
            SshCommand command;
            try
            {
                command = connection.Client.CreateCommand(commandLine);
            }
            catch (Exception ex) when (IsConnectionFailure(ex) && !IsDisposed && attempt == 1)
            {
                // Nothing was sent yet: the connection died while idle. Reconnect once.
                ShellLog.SshReconnecting(_logger, Target, ex.Message);
                broken = connection;
                continue;
            }
            catch (Exception ex) when (IsConnectionFailure(ex))
            {
                ThrowIfDisposed(ex);
                throw new ConnectionLostException(Target, request.Display, $"the reconnected session is unusable: {ex.Message}", ex);
            }

            using (command)
            {
                using var timeout = new CancellationTokenSource(request.Timeout);
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
                var started = Stopwatch.GetTimestamp();
                Task execution;
                try
                {
                    // ExecuteAsync opens the channel and sends the exec request synchronously, each a blocking round
                    // trip: keep that off the caller's thread. No token: stopping the command is StopRemoteAsync's job.
                    execution = await Task.Factory.StartNew(
                        () => command.ExecuteAsync(CancellationToken.None),
                        CancellationToken.None,
                        TaskCreationOptions.DenyChildAttach,
                        TaskScheduler.Default).ConfigureAwait(false);
                }
                catch (Exception ex) when (IsConnectionFailure(ex) && !IsDisposed && attempt == 1 && FailedBeforeExecRequest(ex))
                {
                    ShellLog.SshReconnecting(_logger, Target, ex.Message);
                    broken = connection;
                    continue;
                }
                catch (Exception ex) when (IsConnectionFailure(ex))
                {
                    ThrowIfDisposed(ex);
                    ShellLog.SshConnectionLost(_logger, Target, request.Display, ex.Message);
                    throw new ConnectionLostException(
                        Target, request.Display, $"the connection broke while the command was being started (it may have run): {ex.Message}", ex);
                }
                catch (SshException ex)
                {
                    // The server refused a channel (e.g. its MaxSessions is below MaxConcurrentCommands): nothing ran.
                    throw new ConnectionRefusedException(Target, request.Display, $"the server refused a session channel: {ex.Message}", ex);
                }

                var input = WriteStandardInputAsync(command, request.StandardInput);
                try
                {
                    await execution.WaitAsync(linked.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (linked.IsCancellationRequested)
                {
                    await StopRemoteAsync(connection, command, runId, request).ConfigureAwait(false);
                    Observe(execution);
                    Observe(input);
                    if (cancellationToken.IsCancellationRequested)
                    {
                        ShellLog.CommandCancelled(_logger, request.Display, Target);
                        throw new OperationCanceledException(
                            $"{request.Display} on {Target} was cancelled; its remote processes were killed.", null, cancellationToken);
                    }

                    ShellLog.CommandTimedOut(_logger, request.Display, Target, request.Timeout);
                    throw new CommandTimeoutException(Target, request.Display, request.Timeout);
                }
                catch (Exception ex) when (IsConnectionFailure(ex))
                {
                    Observe(input);
                    ThrowIfDisposed(ex);
                    ShellLog.SshConnectionLost(_logger, Target, request.Display, ex.Message);
                    throw new ConnectionLostException(
                        Target, request.Display, $"the connection broke while the command was running (it may have had effects): {ex.Message}", ex);
                }

                // The command is done; input it never read does not matter any more.
                Observe(input);
                var elapsed = Stopwatch.GetElapsedTime(started);
                var exitCode = ExitCodeOf(command);
                if (exitCode is null)
                {
                    ShellLog.SshConnectionLost(_logger, Target, request.Display, "channel closed without exit status");
                    throw new ConnectionLostException(
                        Target, request.Display, "the channel closed without an exit status (the session or connection was torn down)");
                }

                var result = new CommandResult(request, Target, exitCode.Value, command.Result, command.Error, elapsed);
                ShellLog.CommandFinished(_logger, request.Display, Target, result.ExitCode, elapsed.TotalMilliseconds);
                return result;
            }
        }
    }

    // Kills what a timed-out or cancelled command left running, best effort: the connection may be the reason it hangs.
    // First SIGKILL through the channel (OpenSSH signals the session's process group, but refuses for root logins,
    // whose sessions run inside the privileged monitor); then, over a second channel, every process whose environment
    // carries this run's id (children inherit it) and the session shell, whose command line carries it. The patterns
    // are bracketed so the killer's own command line does not match them. Without this a hung remote command keeps
    // running and keeps its session slot (sshd MaxSessions) after the client closed the channel.
    private async Task StopRemoteAsync(Connection connection, SshCommand command, string runId, CommandRequest request)
    {
        try
        {
            await Task.Factory.StartNew(
                () => command.CancelAsync(forceKill: true, millisecondsTimeout: 100),
                CancellationToken.None,
                TaskCreationOptions.DenyChildAttach,
                TaskScheduler.Default).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SshException or InvalidOperationException or ObjectDisposedException or SocketException or IOException)
        {
            // Already finished, or the connection is gone: the killer below reports what matters.
        }

        var pattern = $"{RunIdVariable[..^1]}[{RunIdVariable[^1]}]={runId}";
        var killer = $"grep -lzx '{pattern}' /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3 | xargs -r kill -KILL 2>/dev/null; " +
            $"pkill -KILL -f '{pattern}'; true";
        try
        {
            using var kill = connection.Client.CreateCommand(killer);
            using var limit = new CancellationTokenSource(_options.ConnectTimeout);
            var killing = await Task.Factory.StartNew(
                () => kill.ExecuteAsync(limit.Token),
                CancellationToken.None,
                TaskCreationOptions.DenyChildAttach,
                TaskScheduler.Default).ConfigureAwait(false);
            await killing.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SshException or InvalidOperationException or ObjectDisposedException or SocketException
                                   or IOException or OperationCanceledException)
        {
            ShellLog.SshStopFailed(_logger, Target, request.Display, ex.Message);
        }
    }

    // Returns a connected client, connecting or reconnecting under the lock. `broken` is a connection the caller found
    // unusable: it is replaced even if it still claims to be connected.
    private async Task<Connection> GetConnectionAsync(Connection? broken, CancellationToken cancellationToken)
    {
        var current = Volatile.Read(ref _connection);
        if (current is not null && current != broken && current.Client.IsConnected)
        {
            return current;
        }

        await _connectLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            current = _connection;
            if (current is not null && current != broken && current.Client.IsConnected)
            {
                return current;
            }

            if (current is not null)
            {
                if (broken is null)
                {
                    ShellLog.SshReconnecting(_logger, Target, "the connection is down");
                }

                Volatile.Write(ref _connection, null);
                current.Dispose();
            }

            var fresh = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _connection, fresh);
            return fresh;
        }
        finally
        {
            _connectLock.Release();
        }
    }

    private async Task<Connection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        ShellLog.SshConnecting(_logger, Target, Target.IdentityFile);
        var started = Stopwatch.GetTimestamp();
        var key = LoadIdentity();
        var info = new PrivateKeyConnectionInfo(Target.Host, Target.Port, Target.User, key)
        {
            Timeout = _options.ConnectTimeout,
            Encoding = Utf8,

            // One channel beyond the commands' share, kept for StopRemoteAsync's killer.
            MaxSessions = _options.MaxConcurrentCommands + 1,
        };
        var client = new SshClient(info) { KeepAliveInterval = _options.KeepAliveInterval };
        var pin = new HostKeyPin(Target.HostKeyFingerprint);
        client.HostKeyReceived += pin.OnHostKeyReceived;
        client.ErrorOccurred += (_, e) => ShellLog.SshErrorOccurred(_logger, Target, e.Exception.Message);
        try
        {
            await client.ConnectAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            client.Dispose();
            info.Dispose();
            key.Dispose();
            var failure = MapConnectFailure(ex, pin);
            if (failure is null)
            {
                throw;
            }

            if (failure is HostKeyMismatchException mismatch)
            {
                ShellLog.SshHostKeyMismatch(_logger, Target, mismatch.KeyAlgorithm, mismatch.SeenFingerprint, mismatch.ExpectedFingerprint);
            }
            else
            {
                ShellLog.SshConnectFailed(_logger, Target, failure.Message);
            }

            throw failure;
        }
        catch
        {
            client.Dispose();
            info.Dispose();
            key.Dispose();
            throw;
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        ShellLog.SshConnected(_logger, Target, elapsed.TotalMilliseconds, info.ServerVersion ?? "?");
        return new Connection(client, info, key);
    }

    // Reads the key for each connection, so a rotated key file is picked up on reconnect.
    private PrivateKeyFile LoadIdentity()
    {
        try
        {
            return new PrivateKeyFile(Target.IdentityFile);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The parser's messages describe the format, never the key's bytes.
            var reason = ex switch
            {
                FileNotFoundException or DirectoryNotFoundException => "the file does not exist",
                UnauthorizedAccessException => "the file cannot be read (permission denied)",
                SshPassPhraseNullOrEmptyException => "the key is encrypted with a passphrase, which is not supported",
                _ => $"it is not a usable private key ({ex.Message})",
            };
            var detail = $"cannot use the identity file '{Target.IdentityFile}': {reason}.";
            ShellLog.SshConnectFailed(_logger, Target, detail);
            throw new AuthenticationFailedException(Target, detail, ex);
        }
    }

    // Null: not a connection failure we know; the caller rethrows it unchanged.
    private CommandException? MapConnectFailure(Exception ex, HostKeyPin pin)
    {
        if (pin.Seen is { } seen)
        {
            return new HostKeyMismatchException(Target, Target.HostKeyFingerprint, seen.Fingerprint, seen.Algorithm);
        }

        var socket = ex as SocketException ?? ex.InnerException as SocketException;
        if (socket is not null)
        {
            var detail = socket.SocketErrorCode switch
            {
                SocketError.ConnectionRefused => $"connection refused on port {Target.Port} (is sshd running?)",
                SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain => $"the host name '{Target.Host}' does not resolve",
                SocketError.HostUnreachable or SocketError.HostDown => "the host is unreachable",
                SocketError.NetworkUnreachable or SocketError.NetworkDown => "the network is unreachable",
                SocketError.TimedOut => $"no answer on port {Target.Port} within {_options.ConnectTimeout.TotalSeconds:0.###} s",
                _ => $"{socket.SocketErrorCode}: {socket.Message}",
            };
            return new ConnectionRefusedException(Target, null, detail, ex);
        }

        return ex switch
        {
            SshAuthenticationException => new AuthenticationFailedException(
                Target, $"the server refused the key in '{Target.IdentityFile}' for user '{Target.User}' ({ex.Message})", ex),
            SshOperationTimeoutException or TimeoutException or OperationCanceledException => new ConnectionRefusedException(
                Target, null, $"no SSH handshake within {_options.ConnectTimeout.TotalSeconds:0.###} s", ex),
            SshConnectionException or SshException or IOException => new ConnectionRefusedException(
                Target, null, $"the SSH handshake failed: {ex.Message}", ex),
            _ => null,
        };
    }

    private void ThrowIfDisposed(Exception inner)
    {
        if (IsDisposed)
        {
            throw new ObjectDisposedException($"The SSH runner for {Target} was disposed while the command ran.", inner);
        }
    }

    private static bool IsConnectionFailure(Exception ex) =>
        ex is SshConnectionException or SocketException or ObjectDisposedException or IOException or SshOperationTimeoutException;

    // SSH.NET opens the channel and sends the exec request inside one call. Only a failure while opening the channel is
    // known to be harmless; anything at or after the exec request may have started the command. When the stack trace
    // does not positively show the channel opening (e.g. after inlining), the caller treats it as possibly started.
    private static bool FailedBeforeExecRequest(Exception ex)
    {
        var trace = ex.StackTrace ?? string.Empty;
        return !trace.Contains("SendExecRequest", StringComparison.Ordinal)
            && trace.Contains("ChannelSession.Open", StringComparison.Ordinal);
    }

    private static int? ExitCodeOf(SshCommand command)
    {
        if (command.ExitStatus is { } status)
        {
            return status;
        }

        return command.ExitSignal is { } signal ? 128 + SignalNumber(signal) : null;
    }

    // RFC 4254 §6.10 signal names (without "SIG"), numbered as on Linux.
    private static int SignalNumber(string name) => name switch
    {
        "HUP" => 1,
        "INT" => 2,
        "QUIT" => 3,
        "ILL" => 4,
        "ABRT" => 6,
        "FPE" => 8,
        "KILL" => 9,
        "USR1" => 10,
        "SEGV" => 11,
        "USR2" => 12,
        "PIPE" => 13,
        "ALRM" => 14,
        "TERM" => 15,
        _ => 127,
    };

    // SSH.NET sends end-of-file only when something was written, which is why an empty input is /dev/null instead.
    private static Task WriteStandardInputAsync(SshCommand command, string? input)
    {
        if (string.IsNullOrEmpty(input))
        {
            return Task.CompletedTask;
        }

        // Writes block while the remote window is full, so they run on their own pool thread.
        return Task.Factory.StartNew(
            () =>
            {
                try
                {
                    using var stream = command.CreateInputStream();
                    stream.Write(Utf8.GetBytes(input));
                }
                catch (Exception ex) when (ex is InvalidOperationException or ObjectDisposedException or IOException or SocketException or SshException)
                {
                    // The command finished without reading everything, or the connection broke: the execution reports that.
                }
            },
            CancellationToken.None,
            TaskCreationOptions.DenyChildAttach,
            TaskScheduler.Default);
    }

    private static void Observe(Task task) =>
        _ = task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);

    private sealed class HostKeyPin(string expected)
    {
        public (string Fingerprint, string Algorithm)? Seen { get; private set; }

        public void OnHostKeyReceived(object? sender, HostKeyEventArgs e)
        {
            // SSH.NET gives unpadded base64, exactly what OpenSSH prints after "SHA256:". Base64 is case-sensitive.
            var fingerprint = "SHA256:" + e.FingerPrintSHA256;
            if (string.Equals(fingerprint, expected, StringComparison.Ordinal))
            {
                e.CanTrust = true;
                return;
            }

            e.CanTrust = false;
            Seen = (fingerprint, e.HostKeyName);
        }
    }

    private sealed class Connection(SshClient client, PrivateKeyConnectionInfo info, PrivateKeyFile key) : IDisposable
    {
        public SshClient Client { get; } = client;

        public void Dispose()
        {
            try
            {
                Client.Dispose();
            }
            catch (Exception ex) when (ex is SshException or SocketException or ObjectDisposedException or IOException)
            {
                // Tearing down a connection that is already broken.
            }

            info.Dispose();
            key.Dispose();
        }
    }
}

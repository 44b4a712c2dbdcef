using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Passthrough.Shell;

/// <summary>
/// Runs commands as child processes of this one. The argument vector goes to the program as argv
/// (<see cref="ProcessStartInfo.ArgumentList"/>), never through a shell, so no argument can be interpreted.
/// </summary>
/// <remarks>
/// Standard input receives <see cref="CommandRequest.StandardInput"/> and is then closed (closed at once when there is
/// none). Standard output and error are read concurrently to the end, so a command printing megabytes cannot block on
/// a full pipe. On timeout or cancellation the whole process tree is killed, children included, before the exception
/// is thrown. Thread-safe: every call starts its own process.
/// </remarks>
public sealed class LocalCommandRunner : ICommandRunner
{
    // How long to wait for a killed process tree to be reaped before giving up on it.
    private static readonly TimeSpan KillGrace = TimeSpan.FromSeconds(5);

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    private readonly ILogger _logger;

    /// <summary>Creates a runner for this machine.</summary>
    /// <param name="logger">Where to log; default none.</param>
    public LocalCommandRunner(ILogger<LocalCommandRunner>? logger = null)
    {
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <inheritdoc />
    public CommandTarget Target => CommandTarget.Local;

    /// <inheritdoc />
    /// <exception cref="ProgramNotFoundException">The program does not exist on PATH or is not executable.</exception>
    public async Task<CommandResult> RunAsync(CommandRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        cancellationToken.ThrowIfCancellationRequested();

        var startInfo = new ProcessStartInfo(request.Program)
        {
            UseShellExecute = false,
            CreateNoWindow = true,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardInputEncoding = Utf8,
            StandardOutputEncoding = Utf8,
            StandardErrorEncoding = Utf8,
        };
        foreach (var argument in request.Arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = new Process { StartInfo = startInfo };
        var started = Stopwatch.GetTimestamp();
        try
        {
            process.Start();
        }
        catch (Win32Exception ex)
        {
            ShellLog.LocalProgramNotFound(_logger, request.Program, ex.NativeErrorCode);
            throw new ProgramNotFoundException(Target, request.Program, ex);
        }

        ShellLog.LocalCommandStarted(_logger, request.Display, process.Id);

        // Readers and the stdin writer start before anything waits, so neither side can fill a pipe and stall the other.
        var standardOutput = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var standardError = process.StandardError.ReadToEndAsync(CancellationToken.None);
        var standardInput = WriteStandardInputAsync(process.StandardInput, request.StandardInput);

        using var timeout = new CancellationTokenSource(request.Timeout);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            await process.WaitForExitAsync(linked.Token).ConfigureAwait(false);

            // A program that exited may have left a child holding the pipes open; the timeout bounds that wait too.
            await Task.WhenAll(standardOutput, standardError, standardInput).WaitAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (linked.IsCancellationRequested)
        {
            await KillTreeAsync(process, request).ConfigureAwait(false);
            Observe(standardOutput, standardError, standardInput);
            if (cancellationToken.IsCancellationRequested)
            {
                ShellLog.CommandCancelled(_logger, request.Display, Target);
                throw new OperationCanceledException(
                    $"{request.Display} on {Target} was cancelled; its process tree was killed.", null, cancellationToken);
            }

            ShellLog.CommandTimedOut(_logger, request.Display, Target, request.Timeout);
            throw new CommandTimeoutException(Target, request.Display, request.Timeout);
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        var result = new CommandResult(
            request, Target, process.ExitCode, await standardOutput.ConfigureAwait(false), await standardError.ConfigureAwait(false), elapsed);
        ShellLog.CommandFinished(_logger, request.Display, Target, result.ExitCode, elapsed.TotalMilliseconds);
        return result;
    }

    /// <summary>Nothing to release: each command owns its process.</summary>
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    // Writes the input, then closes the pipe so the program sees end-of-file. A program that exits without reading
    // everything breaks the pipe; that is its business, not an error of the run.
    private static async Task WriteStandardInputAsync(StreamWriter writer, string? input)
    {
        try
        {
            if (!string.IsNullOrEmpty(input))
            {
                await writer.WriteAsync(input).ConfigureAwait(false);
                await writer.FlushAsync().ConfigureAwait(false);
            }
        }
        catch (IOException)
        {
        }
        finally
        {
            try
            {
                writer.Close();
            }
            catch (IOException)
            {
            }
        }
    }

    private async Task KillTreeAsync(Process process, CommandRequest request)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited between the timeout and the kill.
        }
        catch (Win32Exception ex)
        {
            ShellLog.LocalKillFailed(_logger, request.Display, ex.Message);
        }

        try
        {
            await process.WaitForExitAsync(CancellationToken.None).WaitAsync(KillGrace).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            ShellLog.LocalKillFailed(_logger, request.Display, $"still running {KillGrace.TotalSeconds} s after the kill");
        }
    }

    // The abandoned readers fail or finish once the process object is disposed; observe them so nothing is reported
    // as an unobserved task exception.
    private static void Observe(params Task[] tasks)
    {
        foreach (var task in tasks)
        {
            _ = task.ContinueWith(
                static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }
    }
}

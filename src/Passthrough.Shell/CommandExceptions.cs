namespace Passthrough.Shell;

/// <summary>Base of every failure to run a command on a target; the message names the target and the command.</summary>
public abstract class CommandException : Exception
{
    protected CommandException(CommandTarget target, string? command, string message, Exception? inner = null)
        : base(message, inner)
    {
        Target = target;
        Command = command;
    }

    /// <summary>Where the command was to run.</summary>
    public CommandTarget Target { get; }

    /// <summary>The command line as displayed (quoted), or null when the failure came before any command.</summary>
    public string? Command { get; }
}

/// <summary>The command exited with a non-zero status; <see cref="StandardError"/> holds what it printed.</summary>
public sealed class CommandFailedException : CommandException
{
    public CommandFailedException(CommandResult result)
        : base(
            (result ?? throw new ArgumentNullException(nameof(result))).Target,
            result.Request.Display,
            $"{result.Request.Display} on {result.Target} exited with status {result.ExitCode}: {Summarise(result)}")
    {
        Result = result;
    }

    /// <summary>The full result, stdout included.</summary>
    public CommandResult Result { get; }

    /// <summary>The exit status.</summary>
    public int ExitCode => Result.ExitCode;

    /// <summary>What the command wrote to stderr.</summary>
    public string StandardError => Result.StandardError;

    private static string Summarise(CommandResult result)
    {
        var text = result.StandardError.Trim();
        if (text.Length == 0)
        {
            text = result.StandardOutput.Trim();
        }

        return text.Length == 0 ? "(no output)" : text;
    }
}

/// <summary>The command did not finish within its timeout and was stopped.</summary>
public sealed class CommandTimeoutException(CommandTarget target, string command, TimeSpan timeout, Exception? inner = null)
    : CommandException(target, command, $"{command} on {target} did not finish within {timeout.TotalSeconds:0.###} s and was stopped.", inner)
{
    /// <summary>The timeout that expired.</summary>
    public TimeSpan Timeout { get; } = timeout;
}

/// <summary>Nothing accepted the connection (host down, wrong port, name not resolved, or no SSH answer in time).</summary>
public sealed class ConnectionRefusedException(CommandTarget target, string? command, string detail, Exception? inner = null)
    : CommandException(target, command, $"Cannot reach {target}: {detail}", inner);

/// <summary>The connection broke while a command was running, or could not be re-established.</summary>
public sealed class ConnectionLostException(CommandTarget target, string? command, string detail, Exception? inner = null)
    : CommandException(target, command, $"Connection to {target} lost: {detail}", inner);

/// <summary>The server refused our key.</summary>
public sealed class AuthenticationFailedException(CommandTarget target, string detail, Exception? inner = null)
    : CommandException(target, null, $"Authentication to {target} failed: {detail}", inner);

/// <summary>The server presented a host key whose SHA256 fingerprint differs from the pinned one.</summary>
public sealed class HostKeyMismatchException(CommandTarget target, string expectedFingerprint, string seenFingerprint, string keyAlgorithm)
    : CommandException(
        target,
        null,
        $"Host key of {target} is not the pinned one: the server presented {keyAlgorithm} {seenFingerprint}, expected {expectedFingerprint}. " +
        "If the host was reinstalled, verify the new key out of band and pin it.")
{
    /// <summary>The pinned fingerprint, <c>SHA256:…</c>.</summary>
    public string ExpectedFingerprint { get; } = expectedFingerprint;

    /// <summary>The fingerprint the server presented, <c>SHA256:…</c>.</summary>
    public string SeenFingerprint { get; } = seenFingerprint;

    /// <summary>The host key algorithm the server used (e.g. <c>ssh-ed25519</c>).</summary>
    public string KeyAlgorithm { get; } = keyAlgorithm;
}

/// <summary>
/// The program could not be started locally: no such file on PATH (or at the given path), or it is not executable.
/// Only the local runner throws it; over SSH a missing program is the remote shell's exit status 127, returned as a result.
/// </summary>
public sealed class ProgramNotFoundException(CommandTarget target, string program, Exception? inner = null)
    : CommandException(
        target,
        program,
        $"Program '{program}' was not found on the PATH of {target} (or is not executable){Reason(inner)}",
        inner)
{
    /// <summary>The program as requested.</summary>
    public string Program { get; } = program;

    private static string Reason(Exception? inner) => inner is null ? "." : $": {inner.Message}";
}

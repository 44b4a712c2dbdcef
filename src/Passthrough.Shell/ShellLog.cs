using Microsoft.Extensions.Logging;

namespace Passthrough.Shell;

// Source-generated log messages of the command runners. Event ids are stable: 1000-1099 every runner, 1100-1199 SSH.
// Nothing here takes key material: only the identity file's path and the public fingerprints.
internal static partial class ShellLog
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Debug, Message = "Started {Command} on local as process {ProcessId}")]
    public static partial void LocalCommandStarted(ILogger logger, string command, int processId);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Debug, Message = "{Command} on {Target} exited with status {ExitCode} after {ElapsedMs:0.#} ms")]
    public static partial void CommandFinished(ILogger logger, string command, CommandTarget target, int exitCode, double elapsedMs);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning, Message = "{Command} on {Target} exceeded its timeout of {Timeout} and was stopped")]
    public static partial void CommandTimedOut(ILogger logger, string command, CommandTarget target, TimeSpan timeout);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Information, Message = "{Command} on {Target} was cancelled and stopped")]
    public static partial void CommandCancelled(ILogger logger, string command, CommandTarget target);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Warning, Message = "Program {Program} could not be started locally (errno {Errno})")]
    public static partial void LocalProgramNotFound(ILogger logger, string program, int errno);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Warning, Message = "Killing the process tree of {Command} failed: {Reason}")]
    public static partial void LocalKillFailed(ILogger logger, string command, string reason);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Debug, Message = "Connecting to {Target} with identity file {IdentityFile}")]
    public static partial void SshConnecting(ILogger logger, SshTarget target, string identityFile);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Information, Message = "Connected to {Target} in {ElapsedMs:0.#} ms, server {ServerVersion}")]
    public static partial void SshConnected(ILogger logger, SshTarget target, double elapsedMs, string serverVersion);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Warning, Message = "Connection to {Target} is down ({Reason}); reconnecting")]
    public static partial void SshReconnecting(ILogger logger, SshTarget target, string reason);

    [LoggerMessage(EventId = 1104, Level = LogLevel.Error, Message = "Host key of {Target} is {Algorithm} {SeenFingerprint}, but {ExpectedFingerprint} is pinned: not connecting")]
    public static partial void SshHostKeyMismatch(ILogger logger, SshTarget target, string algorithm, string seenFingerprint, string expectedFingerprint);

    [LoggerMessage(EventId = 1105, Level = LogLevel.Warning, Message = "Cannot connect to {Target}: {Reason}")]
    public static partial void SshConnectFailed(ILogger logger, SshTarget target, string reason);

    [LoggerMessage(EventId = 1106, Level = LogLevel.Warning, Message = "Connection to {Target} lost while running {Command}: {Reason}")]
    public static partial void SshConnectionLost(ILogger logger, SshTarget target, string command, string reason);

    [LoggerMessage(EventId = 1108, Level = LogLevel.Warning, Message = "Could not kill the remote processes of {Command} on {Target}: {Reason}")]
    public static partial void SshStopFailed(ILogger logger, SshTarget target, string command, string reason);

    [LoggerMessage(EventId = 1107, Level = LogLevel.Warning, Message = "SSH connection to {Target} reported an error: {Error}")]
    public static partial void SshErrorOccurred(ILogger logger, SshTarget target, string error);
}

namespace Passthrough.Shell;

/// <summary>
/// Runs one program with an argument vector on one target (this machine or a host reached over SSH).
/// Arguments are never joined into a shell string built from input: the local runner passes them as argv,
/// the SSH runner quotes each one through <see cref="ShellQuoting.Quote(string)"/>.
/// </summary>
/// <remarks>
/// <see cref="RunAsync"/> returns the result whatever the exit code; call
/// <see cref="CommandResult.EnsureSuccess"/> (or <see cref="CommandRunnerExtensions.RunCheckedAsync"/>) to turn a
/// non-zero exit into a <see cref="CommandFailedException"/>. Transport problems are thrown as the typed
/// <see cref="CommandException"/> subclasses: <see cref="CommandTimeoutException"/>,
/// <see cref="ConnectionRefusedException"/>, <see cref="ConnectionLostException"/>,
/// <see cref="AuthenticationFailedException"/>, <see cref="HostKeyMismatchException"/> and, locally,
/// <see cref="ProgramNotFoundException"/>. Get a runner for a target from <see cref="ICommandRunnerFactory"/>.
/// </remarks>
public interface ICommandRunner : IAsyncDisposable
{
    /// <summary>Where the commands run.</summary>
    CommandTarget Target { get; }

    /// <summary>Runs <paramref name="request"/> and returns its exit code and output.</summary>
    /// <exception cref="CommandTimeoutException">The command ran longer than <see cref="CommandRequest.Timeout"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    Task<CommandResult> RunAsync(CommandRequest request, CancellationToken cancellationToken = default);
}

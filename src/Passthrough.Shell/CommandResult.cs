namespace Passthrough.Shell;

/// <summary>What a finished command returned.</summary>
/// <param name="Request">The request that ran.</param>
/// <param name="Target">Where it ran.</param>
/// <param name="ExitCode">The exit status.</param>
/// <param name="StandardOutput">Everything it wrote to stdout (UTF-8).</param>
/// <param name="StandardError">Everything it wrote to stderr (UTF-8).</param>
/// <param name="Elapsed">Wall time from start to exit.</param>
public sealed record CommandResult(
    CommandRequest Request,
    CommandTarget Target,
    int ExitCode,
    string StandardOutput,
    string StandardError,
    TimeSpan Elapsed)
{
    /// <summary>True when the exit status is 0.</summary>
    public bool Succeeded => ExitCode == 0;

    /// <summary>Returns this result, or throws <see cref="CommandFailedException"/> (carrying stderr) on a non-zero exit.</summary>
    public CommandResult EnsureSuccess() => Succeeded ? this : throw new CommandFailedException(this);
}

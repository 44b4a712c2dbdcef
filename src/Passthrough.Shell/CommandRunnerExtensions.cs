namespace Passthrough.Shell;

/// <summary>Conveniences over <see cref="ICommandRunner"/>.</summary>
public static class CommandRunnerExtensions
{
    /// <summary>Runs the request and throws <see cref="CommandFailedException"/> when it exits non-zero.</summary>
    public static async Task<CommandResult> RunCheckedAsync(
        this ICommandRunner runner, CommandRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(runner);
        var result = await runner.RunAsync(request, cancellationToken).ConfigureAwait(false);
        return result.EnsureSuccess();
    }

    /// <summary>Runs <paramref name="program"/> with <paramref name="arguments"/> and the default timeout.</summary>
    public static Task<CommandResult> RunAsync(
        this ICommandRunner runner, string program, IEnumerable<string> arguments, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(runner);
        return runner.RunAsync(new CommandRequest(program, arguments), cancellationToken);
    }
}

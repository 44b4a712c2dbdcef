using Passthrough.Shell;

namespace Passthrough.Cli;

/// <summary>
/// What a CLI command reaches the world through: its output streams, the runner factory for dom0 / guest targets, the
/// clock, the process environment variables and the HTTP handler towards the coordinator. The real program uses the
/// console, SSH, the process environment and sockets; tests pass writers, a simulated host, a dictionary and a stub.
/// </summary>
/// <param name="Out">Standard output (tables, JSON).</param>
/// <param name="Error">Standard error (one-line errors).</param>
/// <param name="Runners">Opens a command runner for a parsed target.</param>
/// <param name="Time">The clock.</param>
/// <param name="Variables">Reads an environment variable (null when unset); default: none is set.</param>
/// <param name="CoordinatorHandler">Creates the HTTP handler of a coordinator client; default a <see cref="SocketsHttpHandler"/>.</param>
/// <param name="Interactive">Whether <paramref name="Out"/> is a terminal a live display may redraw; default false (plain lines).</param>
internal sealed record CliEnvironment(
    TextWriter Out,
    TextWriter Error,
    Func<CommandTarget, ICommandRunner> Runners,
    TimeProvider Time,
    Func<string, string?>? Variables = null,
    Func<HttpMessageHandler>? CoordinatorHandler = null,
    bool Interactive = false)
{
    public static CliEnvironment FromConsole()
    {
        var factory = new CommandRunnerFactory();
        // A redirected stdout (a pipe, a file, CI) gets plain lines: redrawing a live table there would write escape codes.
        return new CliEnvironment(Console.Out, Console.Error, factory.Create, TimeProvider.System, Environment.GetEnvironmentVariable,
            Interactive: !Console.IsOutputRedirected);
    }

    /// <summary>The value of environment variable <paramref name="name"/>, or null.</summary>
    public string? Variable(string name) => Variables?.Invoke(name);

    /// <summary>A new handler for one coordinator client (the client disposes it).</summary>
    public HttpMessageHandler CreateCoordinatorHandler() =>
        CoordinatorHandler?.Invoke() ?? new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(10) };
}

using Passthrough.Shell;

namespace Passthrough.Cli;

/// <summary>
/// What a CLI command reaches the world through: its output streams, the runner factory for dom0 / guest targets, and
/// the clock. The real program uses the console and SSH; tests pass writers and a simulated host.
/// </summary>
/// <param name="Out">Standard output (tables, JSON).</param>
/// <param name="Error">Standard error (one-line errors).</param>
/// <param name="Runners">Opens a command runner for a parsed target.</param>
/// <param name="Time">The clock.</param>
internal sealed record CliEnvironment(TextWriter Out, TextWriter Error, Func<CommandTarget, ICommandRunner> Runners, TimeProvider Time)
{
    public static CliEnvironment FromConsole()
    {
        var factory = new CommandRunnerFactory();
        return new CliEnvironment(Console.Out, Console.Error, factory.Create, TimeProvider.System);
    }
}

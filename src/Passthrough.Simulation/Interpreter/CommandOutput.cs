using System.Text;

namespace Passthrough.Simulation.Interpreter;

/// <summary>What a simulated program writes and its exit status.</summary>
internal sealed class CommandOutput
{
    public StringBuilder Out { get; } = new();

    public StringBuilder Err { get; } = new();

    public int Exit { get; set; }

    public CommandOutput Line(string text)
    {
        Out.Append(text).Append('\n');
        return this;
    }

    public CommandOutput ErrorLine(string text)
    {
        Err.Append(text).Append('\n');
        return this;
    }

    /// <summary>Writes <paramref name="text"/> and a line break to stderr and sets the exit status.</summary>
    public CommandOutput Fail(int exit, string text)
    {
        ErrorLine(text);
        Exit = exit;
        return this;
    }
}

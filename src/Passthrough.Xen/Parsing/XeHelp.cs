namespace Passthrough.Xen.Parsing;

/// <summary>
/// Reads <c>xe help &lt;command&gt;</c>. A host that lacks the command prints <c>Unknown command '&lt;command&gt;'</c> and still
/// exits 0 (xapi <c>cli_frontend.ml</c>), so the text is the only signal; a known command prints a
/// <c>command name : …</c> record. Running an unknown command itself prints <c>Unknown command: …</c> on stderr.
/// </summary>
public static class XeHelp
{
    /// <summary>True when the output says the command is unknown; false when it is the command's help.</summary>
    /// <exception cref="XenParseException">Neither: the answer cannot be trusted either way (empty output, an error text).</exception>
    public static bool IsUnknownCommand(string text)
    {
        var lines = OutputText.Lines(text);
        if (lines.Any(l => l.TrimStart().StartsWith("Unknown command", StringComparison.Ordinal)))
        {
            return true;
        }

        if (lines.Any(l => l.TrimStart().StartsWith("command name", StringComparison.Ordinal)))
        {
            return false;
        }

        throw new XenParseException(
            "xe help output",
            "found neither 'Unknown command' nor a 'command name' line",
            lines.FirstOrDefault(l => l.Trim().Length > 0) ?? text);
    }
}

namespace Passthrough.Xen.Parsing;

/// <summary>Line handling shared by the parsers: tools end their output with a line break, transports may add CR.</summary>
internal static class OutputText
{
    /// <summary>The lines of <paramref name="text"/> without their terminators; a final line break does not make an extra empty line.</summary>
    public static string[] Lines(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var body = StripFinalNewline(text);
        if (body.Length == 0)
        {
            return [];
        }

        var lines = body.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].EndsWith('\r'))
            {
                lines[i] = lines[i][..^1];
            }
        }

        return lines;
    }

    /// <summary>Removes exactly one final <c>\n</c> or <c>\r\n</c>: the one the tool prints after its value.</summary>
    public static string StripFinalNewline(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.EndsWith("\r\n", StringComparison.Ordinal))
        {
            return text[..^2];
        }

        return text.EndsWith('\n') ? text[..^1] : text;
    }
}

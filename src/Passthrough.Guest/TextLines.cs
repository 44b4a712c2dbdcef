namespace Passthrough.Guest;

/// <summary>Line handling for file contents and tool output: a final line break makes no extra line, CR before LF is dropped.</summary>
internal static class TextLines
{
    public static string[] Split(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var body = text.EndsWith('\n') ? text[..^1] : text;
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
}

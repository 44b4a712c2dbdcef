using System.Text;

namespace Passthrough.Cli.Output;

/// <summary>
/// A plain aligned text table: columns padded to their widest cell, two spaces apart, never wrapped or cut, so the
/// output stays greppable and identical in a terminal, a pipe and a log.
/// </summary>
internal sealed class TextTable(params string[] headers)
{
    private readonly List<string[]> _rows = [];

    public void AddRow(params string?[] cells)
    {
        if (cells.Length != headers.Length)
        {
            throw new ArgumentException($"A row needs {headers.Length} cells, not {cells.Length}.", nameof(cells));
        }

        _rows.Add([.. cells.Select(c => (c ?? string.Empty).ReplaceLineEndings(" "))]);
    }

    public void WriteTo(TextWriter writer)
    {
        var widths = headers.Select((h, i) => _rows.Select(r => r[i].Length).Append(h.Length).Max()).ToArray();
        WriteLine(writer, headers, widths);
        WriteLine(writer, [.. widths.Select(w => new string('-', w))], widths);
        foreach (var row in _rows)
        {
            WriteLine(writer, row, widths);
        }
    }

    private static void WriteLine(TextWriter writer, string[] cells, int[] widths)
    {
        var line = new StringBuilder();
        for (var i = 0; i < cells.Length; i++)
        {
            line.Append(i == cells.Length - 1 ? cells[i] : cells[i].PadRight(widths[i] + 2));
        }

        writer.WriteLine(line.ToString().TrimEnd());
    }
}

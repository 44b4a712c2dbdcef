using System.Text;
using Passthrough.Contracts.Ids;

namespace Passthrough.Xen.Parsing;

/// <summary>
/// Reads <c>xe … --minimal</c> output: the first field of every record, comma-joined. xapi escapes each value first
/// (<c>cli_printer.ml</c>, <c>escape_commas</c>): <c>,</c> becomes <c>\,</c> and <c>\</c> becomes <c>\\</c>; nothing else
/// is escaped (a line break in a value is printed as is).
/// </summary>
public static class XeMinimal
{
    private const string Subject = "xe --minimal output";

    /// <summary>
    /// Splits on unescaped commas and unescapes. Empty output (or a lone line break) is no records. Note the one
    /// ambiguity of the format: a single record whose first field is empty also prints nothing, and reads as no records.
    /// </summary>
    /// <exception cref="XenParseException">A backslash not followed by <c>,</c> or <c>\</c>: xapi never prints that.</exception>
    public static IReadOnlyList<string> Parse(string text)
    {
        var body = OutputText.StripFinalNewline(text);
        if (body.Length == 0)
        {
            return [];
        }

        var values = new List<string>();
        var current = new StringBuilder();
        for (var i = 0; i < body.Length; i++)
        {
            var c = body[i];
            if (c == '\\')
            {
                if (i + 1 < body.Length && body[i + 1] is ',' or '\\')
                {
                    current.Append(body[i + 1]);
                    i++;
                    continue;
                }

                throw new XenParseException(Subject, $"a backslash at character {i + 1} escapes neither ',' nor '\\'", body);
            }

            if (c == ',')
            {
                values.Add(current.ToString());
                current.Clear();
            }
            else
            {
                current.Append(c);
            }
        }

        values.Add(current.ToString());
        return values.AsReadOnly();
    }

    /// <summary>Parses output whose first field is the uuid (<c>xe vm-list --minimal</c>, <c>xe pci-list --minimal</c>).</summary>
    /// <exception cref="XenParseException">A value is not a uuid.</exception>
    public static IReadOnlyList<XenUuid> ParseUuids(string text)
    {
        var uuids = new List<XenUuid>();
        foreach (var value in Parse(text))
        {
            if (!XenUuid.TryParse(value, out var uuid, out var error))
            {
                throw new XenParseException(Subject, $"expected uuids only: {error}", value);
            }

            uuids.Add(uuid);
        }

        return uuids.AsReadOnly();
    }
}

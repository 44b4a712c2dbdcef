using System.Collections.ObjectModel;
using System.Text;
using System.Text.RegularExpressions;

namespace Passthrough.Xen.Parsing;

/// <summary>
/// Reads <c>xe</c> record output. xapi prints each record as lines <c>label (TAG): value</c> where label+tag is padded to
/// a common width (the first line left-aligned, later ones right-aligned), and follows each record with two blank
/// lines (<c>cli_printer.ml</c>). Published copies often lost the padding, so any padding is accepted.
/// </summary>
/// <remarks>
/// A value containing line breaks (a <c>name-description</c> typed in XenCenter) prints as extra lines without a tag:
/// such a line continues the previous field's value (joined with <c>\n</c>, blank lines inside it kept). Only the first
/// line of the output must be a field line; anything else that is not one is read as a continuation. A field line
/// repeating a field of the same record (no blank line between) is refused: that is concatenated output, not one record.
/// </remarks>
public static partial class XeRecordParser
{
    private const string Subject = "xe record output";

    /// <summary>Parses every record. Empty (or blank) output is no records: a filter that matched nothing.</summary>
    /// <exception cref="XenParseException">The output does not start with a field line, or a record repeats a field.</exception>
    public static IReadOnlyList<XeRecord> ParseRecords(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var lines = OutputText.Lines(text);
        var records = new List<XeRecord>();
        List<PendingField>? current = null;
        var blankRun = 0;
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            if (string.IsNullOrWhiteSpace(line))
            {
                blankRun++;
                continue;
            }

            var match = FieldLine().Match(line);
            if (match.Success)
            {
                if (current is not null && blankRun > 0)
                {
                    records.Add(Build(current));
                    current = null;
                }

                current ??= [];
                var name = match.Groups["name"].Value;
                if (HasField(current, name))
                {
                    throw new XenParseException(Subject, $"field '{name}' appears twice in one record", line, i + 1);
                }

                current.Add(new PendingField(name, AccessOf(match.Groups["tag"].Value), match.Groups["deprecated"].Success, new StringBuilder(match.Groups["value"].Value)));
            }
            else if (current is { Count: > 0 })
            {
                // An untagged line inside a record can only be the rest of a multi-line value.
                current[^1].Value.Append('\n', blankRun + 1).Append(line);
            }
            else
            {
                throw new XenParseException(Subject, "expected a field line 'name ( RO): value' (tags ( RO), ( RW), (SRO), (SRW), (MRO), (MRW))", line, i + 1);
            }

            blankRun = 0;
        }

        if (current is not null)
        {
            records.Add(Build(current));
        }

        return records.AsReadOnly();
    }

    /// <summary>Parses output that must hold exactly one record (<c>xe vm-param-list uuid=…</c>, <c>xe vm-list uuid=…</c>).</summary>
    /// <exception cref="XenParseException">No record, several records, or malformed output.</exception>
    public static XeRecord ParseSingle(string text)
    {
        var records = ParseRecords(text);
        return records.Count == 1
            ? records[0]
            : throw new XenParseException(Subject, $"expected exactly one record, found {records.Count}", null);
    }

    /// <summary>
    /// Parses a map as xe prints it: <c>k1: v1; k2: v2</c> (<c>Record_util.s2sm_to_string "; "</c>). Values may contain
    /// <c>": "</c> or <c>"; "</c>, so the text is split on <c>"; "</c> only where the following text looks like a key
    /// (<c>[A-Za-z0-9_.:-]+</c>) followed by <c>": "</c> (or <c>":"</c> at the very end, an empty value whose trailing
    /// space was trimmed). A value that itself contains <c>"; key: "</c> is therefore split there: the output is
    /// ambiguous and this is the deterministic reading. Values printed as <see cref="XeRecord.NotInDatabase"/> are null.
    /// The empty string is the empty map.
    /// </summary>
    /// <param name="value">The printed map.</param>
    /// <param name="subject">What is being parsed, for error messages.</param>
    /// <exception cref="XenParseException">An entry has no <c>": "</c>, an empty key, or a key appears twice.</exception>
    public static IReadOnlyDictionary<string, string?> ParseMap(string value, string subject = "xe map value")
    {
        ArgumentNullException.ThrowIfNull(value);
        ArgumentNullException.ThrowIfNull(subject);
        var map = new Dictionary<string, string?>(StringComparer.Ordinal);
        if (value.Length == 0)
        {
            return new ReadOnlyDictionary<string, string?>(map);
        }

        foreach (var entry in MapSeparator().Split(value))
        {
            var colon = entry.IndexOf(": ", StringComparison.Ordinal);
            string key;
            string entryValue;
            if (colon > 0)
            {
                key = entry[..colon];
                entryValue = entry[(colon + 2)..];
            }
            else if (entry.Length > 1 && entry.EndsWith(':') && entry.IndexOf(':', StringComparison.Ordinal) == entry.Length - 1)
            {
                key = entry[..^1];
                entryValue = string.Empty;
            }
            else
            {
                throw new XenParseException(subject, $"map entry {Quote(entry)} is not 'key: value'", value);
            }

            if (!map.TryAdd(key, XeRecord.IsDangling(entryValue) ? null : entryValue))
            {
                throw new XenParseException(subject, $"map key '{key}' appears twice", value);
            }
        }

        return new ReadOnlyDictionary<string, string?>(map);
    }

    /// <summary>Parses a set as xe prints it, <c>a; b</c>; the empty string is the empty set; <see cref="XeRecord.NotInDatabase"/> items are null.</summary>
    public static IReadOnlyList<string?> ParseSet(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return value.Length == 0
            ? []
            : value.Split("; ").Select(item => XeRecord.IsDangling(item) ? null : item).ToList().AsReadOnly();
    }

    private static string Quote(string text) => Contracts.InputText.Quote(text);

    private static bool HasField(List<PendingField> fields, string name) =>
        fields.Exists(f => string.Equals(f.Name, name, StringComparison.Ordinal));

    private static XeRecord Build(List<PendingField> fields) =>
        new(fields.Select(f => new XeField(f.Name, f.Access, f.Deprecated, f.Value.ToString())));

    private static XeFieldAccess AccessOf(string tag) => tag switch
    {
        " RO" => XeFieldAccess.ReadOnly,
        " RW" => XeFieldAccess.ReadWrite,
        "SRO" => XeFieldAccess.SetReadOnly,
        "SRW" => XeFieldAccess.SetReadWrite,
        "MRO" => XeFieldAccess.MapReadOnly,
        "MRW" => XeFieldAccess.MapReadWrite,
        _ => throw new ArgumentOutOfRangeException(nameof(tag), tag, "Not an xe access tag."),
    };

    // label, one space, (TAG), optional " [DEPRECATED]", any padding, ':', then one space and the value (absent when
    // the value is empty and the trailing space was trimmed).
    [GeneratedRegex(@"^\s*(?<name>\S+?) \((?<tag> RO| RW|SRO|SRW|MRO|MRW)\)(?<deprecated> \[DEPRECATED\])?\s*:(?: (?<value>.*))?$", RegexOptions.CultureInvariant)]
    private static partial Regex FieldLine();

    [GeneratedRegex(@"; (?=[A-Za-z0-9_.:\-]+:(?: |$))", RegexOptions.CultureInvariant)]
    private static partial Regex MapSeparator();

    private sealed record PendingField(string Name, XeFieldAccess Access, bool Deprecated, StringBuilder Value);
}

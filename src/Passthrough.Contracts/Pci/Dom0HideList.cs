using System.Collections.Immutable;
using System.Text;

namespace Passthrough.Contracts.Pci;

/// <summary>
/// The dom0 hide list: the <c>xen-pciback.hide</c> kernel parameter, e.g. <c>xen-pciback.hide=(0000:04:01.0)(0000:00:19.0)</c>,
/// which makes pciback claim those functions at boot. An instance holds distinct addresses in their written order;
/// <see cref="ToString"/> always writes the full form, because a short or malformed entry breaks xapi or pciback at boot.
/// </summary>
public sealed class Dom0HideList : IEquatable<Dom0HideList>
{
    /// <summary>The kernel parameter name.</summary>
    public const string ParameterName = "xen-pciback.hide";

    private const string Prefix = ParameterName + "=";

    private Dom0HideList(ImmutableArray<PciAddress> entries) => Entries = entries;

    /// <summary>The empty list (nothing hidden; the parameter is absent).</summary>
    public static Dom0HideList Empty { get; } = new([]);

    /// <summary>The hidden functions, in written order, without duplicates.</summary>
    public ImmutableArray<PciAddress> Entries { get; }

    /// <summary>True when nothing is hidden.</summary>
    public bool IsEmpty => Entries.IsEmpty;

    /// <summary>Builds a list from addresses (duplicates dropped, first occurrence kept).</summary>
    public static Dom0HideList Create(IEnumerable<PciAddress> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        return new Dom0HideList([.. entries.Distinct()]);
    }

    /// <summary>True when <paramref name="address"/> is hidden.</summary>
    public bool Contains(PciAddress address) => Entries.Contains(address);

    /// <summary>This list plus <paramref name="addresses"/> not yet in it, appended in order.</summary>
    public Dom0HideList Add(IEnumerable<PciAddress> addresses) => Create(Entries.Concat(addresses));

    /// <summary>This list without <paramref name="addresses"/>.</summary>
    public Dom0HideList Remove(IEnumerable<PciAddress> addresses)
    {
        var removed = addresses.ToHashSet();
        return new Dom0HideList([.. Entries.Where(a => !removed.Contains(a))]);
    }

    /// <summary>The value of the parameter, <c>(0000:04:01.0)(0000:00:19.0)</c>; empty when nothing is hidden.</summary>
    public string ToValue()
    {
        var builder = new StringBuilder(Entries.Length * 14);
        foreach (var entry in Entries)
        {
            builder.Append('(').Append(entry.ToString()).Append(')');
        }

        return builder.ToString();
    }

    /// <summary>The whole parameter, <c>xen-pciback.hide=(0000:04:01.0)</c>, as <c>xen-cmdline --set-dom0</c> takes it; empty when nothing is hidden.</summary>
    public override string ToString() => IsEmpty ? string.Empty : Prefix + ToValue();

    /// <summary>
    /// Reads what <c>xen-cmdline --get-dom0 xen-pciback.hide</c> prints: <c>xen-pciback.hide=(…)(…)</c>, or an empty line when the
    /// parameter is absent. The bare value <c>(…)(…)</c> is read too. Short entries (<c>(04:01.0)</c>), upper-case hex and
    /// repeated entries exist on hosts today: they are accepted and reported through <see cref="Dom0HideListParse.NeedsNormalisation"/>.
    /// </summary>
    /// <exception cref="FormatException">The text is not a hide list; the message quotes it and names the bad entry.</exception>
    public static Dom0HideListParse Parse(string text) =>
        TryParse(text, out var result, out var error) ? result : throw new FormatException(error);

    /// <summary>Tries to parse; see <see cref="Parse"/>.</summary>
    public static bool TryParse(string? text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Dom0HideListParse? result, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        result = null;
        if (text is null)
        {
            error = "A hide list is required; got nothing.";
            return false;
        }

        // xen-cmdline ends its answer with one line break; nothing else may surround the value.
        var line = text.EndsWith("\r\n", StringComparison.Ordinal) ? text[..^2] : text.EndsWith('\n') ? text[..^1] : text;
        if (line.Length > 4096)
        {
            error = $"Hide list {InputText.Quote(line)} is too long for a kernel command line.";
            return false;
        }

        var value = line.StartsWith(Prefix, StringComparison.Ordinal) ? line[Prefix.Length..] : line;
        if (value.Length == 0)
        {
            result = new Dom0HideListParse(text, Empty, []);
            error = null;
            return true;
        }

        var entries = new List<PciAddress>();
        var notes = new List<string>();
        var position = 0;
        while (position < value.Length)
        {
            if (value[position] != '(')
            {
                error = $"Hide list {InputText.Quote(line)}: expected '(' at character {position + 1} of the value, found {InputText.Quote(value[position].ToString())}; entries are written (DDDD:BB:DD.F).";
                return false;
            }

            var close = value.IndexOf(')', position + 1);
            if (close < 0)
            {
                error = $"Hide list {InputText.Quote(line)}: the entry starting at character {position + 1} has no closing ')'.";
                return false;
            }

            var entryText = value[(position + 1)..close];
            if (!PciAddress.TryParse(entryText, out var address, out var entryError))
            {
                error = $"Hide list {InputText.Quote(line)}: entry ({entryText}) is malformed: {entryError}";
                return false;
            }

            if (entryText != address.ToString())
            {
                notes.Add($"({entryText}) should be written ({address})");
            }

            if (entries.Contains(address))
            {
                notes.Add($"({address}) is listed more than once");
            }
            else
            {
                entries.Add(address);
            }

            position = close + 1;
        }

        result = new Dom0HideListParse(text, new Dom0HideList([.. entries]), notes);
        error = null;
        return true;
    }

    /// <inheritdoc />
    public bool Equals(Dom0HideList? other) => other is not null && Entries.SequenceEqual(other.Entries);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as Dom0HideList);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = default(HashCode);
        foreach (var entry in Entries)
        {
            hash.Add(entry);
        }

        return hash.ToHashCode();
    }
}

/// <summary>A parsed hide list and what in its original text would need rewriting.</summary>
/// <param name="Original">The text exactly as read (kept so it can be restored byte for byte).</param>
/// <param name="List">The addresses it hides.</param>
/// <param name="Normalisations">One line per entry that is not in the canonical full form, or repeated.</param>
public sealed record Dom0HideListParse(string Original, Dom0HideList List, IReadOnlyList<string> Normalisations)
{
    /// <summary>True when the text is not exactly what <see cref="Dom0HideList.ToString"/> writes (short forms, upper case, duplicates).</summary>
    public bool NeedsNormalisation => Normalisations.Count > 0;
}

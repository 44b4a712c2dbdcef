using System.Collections.Immutable;
using System.Globalization;

namespace Passthrough.Contracts.Pci;

/// <summary>One entry of a VM's <c>other-config:pci</c>: plug order and function, written <c>0/0000:04:01.0</c>.</summary>
/// <param name="Order">The plug order (non-negative; xapi sorts by it; we write 0).</param>
/// <param name="Address">The function.</param>
public readonly record struct PciAssignment(int Order, PciAddress Address)
{
    /// <summary>The on-host form <c>N/DDDD:BB:DD.F</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Order}/{Address}");
}

/// <summary>
/// The VM key <c>other-config:pci</c>, e.g. <c>0/0000:04:01.0,0/0000:00:19.0</c>. xapi silently drops malformed entries at
/// VM start, so parsing refuses them instead, and <see cref="ToString"/> writes only well-formed entries. Text that
/// is already canonical round-trips exactly.
/// </summary>
public sealed class PciAssignmentList : IEquatable<PciAssignmentList>
{
    /// <summary>The other-config key.</summary>
    public const string Key = "pci";

    private PciAssignmentList(ImmutableArray<PciAssignment> entries) => Entries = entries;

    /// <summary>No device assigned (the key is absent).</summary>
    public static PciAssignmentList Empty { get; } = new([]);

    /// <summary>The entries, in written order.</summary>
    public ImmutableArray<PciAssignment> Entries { get; }

    /// <summary>True when there are no entries.</summary>
    public bool IsEmpty => Entries.IsEmpty;

    /// <summary>The assigned functions.</summary>
    public IEnumerable<PciAddress> Addresses => Entries.Select(e => e.Address);

    /// <summary>True when <paramref name="address"/> is assigned.</summary>
    public bool Contains(PciAddress address) => Entries.Any(e => e.Address == address);

    /// <summary>Builds a list; a function listed twice is refused.</summary>
    /// <exception cref="ArgumentException">A function appears twice.</exception>
    public static PciAssignmentList Create(IEnumerable<PciAssignment> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var array = entries.ToImmutableArray();
        var duplicate = array.GroupBy(e => e.Address).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new ArgumentException($"Function {duplicate.Key} is listed twice in other-config:pci.", nameof(entries));
        }

        if (array.Any(e => e.Order < 0))
        {
            throw new ArgumentException("A plug order cannot be negative.", nameof(entries));
        }

        return new PciAssignmentList(array);
    }

    /// <summary>This list plus <paramref name="addresses"/> not yet in it, appended with plug order 0 (entries already there are kept as they are).</summary>
    public PciAssignmentList Merge(IEnumerable<PciAddress> addresses)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        var list = Entries.ToList();
        foreach (var address in addresses)
        {
            if (!list.Any(e => e.Address == address))
            {
                list.Add(new PciAssignment(0, address));
            }
        }

        return new PciAssignmentList([.. list]);
    }

    /// <summary>This list without <paramref name="addresses"/>.</summary>
    public PciAssignmentList Remove(IEnumerable<PciAddress> addresses)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        var removed = addresses.ToHashSet();
        return new PciAssignmentList([.. Entries.Where(e => !removed.Contains(e.Address))]);
    }

    /// <summary>
    /// Parses the key's value. The empty string is the empty list. Every entry must be <c>N/DDDD:BB:DD.F</c>; anything
    /// else (short BDF, missing order, stray spaces, empty entries, a function listed twice) is refused with the entry named.
    /// </summary>
    /// <exception cref="FormatException">A malformed entry; the message quotes the value and the entry.</exception>
    public static PciAssignmentList Parse(string text) =>
        TryParse(text, out var list, out var error) ? list : throw new FormatException(error);

    /// <summary>Tries to parse; see <see cref="Parse"/>.</summary>
    public static bool TryParse(string? text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out PciAssignmentList? list, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        list = null;
        if (text is null)
        {
            error = "other-config:pci: a value is required; got nothing.";
            return false;
        }

        if (text.Length == 0)
        {
            list = Empty;
            error = null;
            return true;
        }

        if (text.Length > 4096)
        {
            error = $"other-config:pci {InputText.Quote(text)} is too long.";
            return false;
        }

        var entries = new List<PciAssignment>();
        var parts = text.Split(',');
        for (var i = 0; i < parts.Length; i++)
        {
            var part = parts[i];
            var slash = part.IndexOf('/', StringComparison.Ordinal);
            string? why = null;
            var order = 0;
            PciAddress address = default;
            if (part.Length == 0)
            {
                why = "it is empty";
            }
            else if (slash <= 0)
            {
                why = "it has no plug order; entries are written N/DDDD:BB:DD.F, e.g. 0/0000:04:01.0";
            }
            else if (part.AsSpan(0, slash).ContainsAnyExceptInRange('0', '9') || slash > 4 ||
                     !int.TryParse(part.AsSpan(0, slash), NumberStyles.None, CultureInfo.InvariantCulture, out order))
            {
                why = $"the plug order {InputText.Quote(part[..slash])} is not a number";
            }
            else if (!PciAddress.IsFullForm(part.AsSpan(slash + 1)))
            {
                why = PciAddress.TryParse(part[(slash + 1)..], out _, out var addressError)
                    ? $"the function must be written in full form DDDD:BB:DD.F"
                    : addressError;
            }
            else
            {
                address = PciAddress.Parse(part[(slash + 1)..]);
                if (entries.Any(e => e.Address == address))
                {
                    why = $"function {address} is already listed";
                }
            }

            if (why is not null)
            {
                error = $"other-config:pci {InputText.Quote(text)}: entry {i + 1} {InputText.Quote(part)} is malformed: {why}. xapi would silently drop it, so it is refused.";
                return false;
            }

            entries.Add(new PciAssignment(order, address));
        }

        list = new PciAssignmentList([.. entries]);
        error = null;
        return true;
    }

    /// <summary>The key's value, <c>0/0000:04:01.0,0/0000:00:19.0</c>; empty when there are no entries.</summary>
    public override string ToString() => string.Join(',', Entries.Select(e => e.ToString()));

    /// <inheritdoc />
    public bool Equals(PciAssignmentList? other) => other is not null && Entries.SequenceEqual(other.Entries);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as PciAssignmentList);

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

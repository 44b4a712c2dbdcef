using System.Collections.ObjectModel;
using Passthrough.Contracts.Ids;

namespace Passthrough.Xen.Parsing;

/// <summary>
/// The access tag <c>xe</c> prints after a field name (xapi <c>cli_operations.ml</c>, <c>print_field</c>):
/// <c>( RO)</c>, <c>( RW)</c>, <c>(SRO)</c>/<c>(SRW)</c> for sets, <c>(MRO)</c>/<c>(MRW)</c> for maps.
/// </summary>
public enum XeFieldAccess
{
    /// <summary><c>( RO)</c>: a read-only scalar.</summary>
    ReadOnly,

    /// <summary><c>( RW)</c>: a scalar settable with <c>*-param-set</c>.</summary>
    ReadWrite,

    /// <summary><c>(SRO)</c>: a read-only set, printed <c>a; b</c>.</summary>
    SetReadOnly,

    /// <summary><c>(SRW)</c>: a set with <c>*-param-add</c>/<c>-remove</c>.</summary>
    SetReadWrite,

    /// <summary><c>(MRO)</c>: a read-only map, printed <c>k1: v1; k2: v2</c>.</summary>
    MapReadOnly,

    /// <summary><c>(MRW)</c>: a map settable key by key (<c>other-config:pci=…</c>).</summary>
    MapReadWrite,
}

/// <summary>One field of an <c>xe</c> record as printed.</summary>
/// <param name="Name">The field name, e.g. <c>name-label</c> (padding, tag and <c>[DEPRECATED]</c> removed).</param>
/// <param name="Access">The access tag.</param>
/// <param name="IsDeprecated">True when xe marked the field <c>[DEPRECATED]</c>.</param>
/// <param name="RawValue">The value exactly as printed after <c>": "</c> (may be empty; continuation lines joined with <c>\n</c>).</param>
public sealed record XeField(string Name, XeFieldAccess Access, bool IsDeprecated, string RawValue)
{
    /// <summary>The value, or null when xe printed <see cref="XeRecord.NotInDatabase"/> (a reference to a deleted object).</summary>
    public string? Value => XeRecord.IsDangling(RawValue) ? null : RawValue;

    /// <summary>True for <c>( RW)</c>, <c>(SRW)</c> and <c>(MRW)</c>.</summary>
    public bool IsWritable => Access is XeFieldAccess.ReadWrite or XeFieldAccess.SetReadWrite or XeFieldAccess.MapReadWrite;

    /// <summary>True for map fields (<c>(MRO)</c>, <c>(MRW)</c>).</summary>
    public bool IsMap => Access is XeFieldAccess.MapReadOnly or XeFieldAccess.MapReadWrite;

    /// <summary>True for set fields (<c>(SRO)</c>, <c>(SRW)</c>).</summary>
    public bool IsSet => Access is XeFieldAccess.SetReadOnly or XeFieldAccess.SetReadWrite;
}

/// <summary>
/// One record of <c>xe</c> output (<c>xe vm-list</c>, <c>xe pci-list params=all</c>, <c>xe vm-param-list</c>…): its fields in
/// printed order. Lookups are by exact (case-sensitive) field name, as xe prints them.
/// </summary>
public sealed class XeRecord
{
    /// <summary>What xapi prints in place of a reference whose object no longer exists (<c>records.ml</c>, <c>nid</c>).</summary>
    public const string NotInDatabase = "<not in database>";

    private const string Subject = "xe record";

    private readonly Dictionary<string, XeField> _byName;

    /// <summary>Builds a record; field names must be distinct.</summary>
    /// <exception cref="ArgumentException">Two fields have the same name.</exception>
    public XeRecord(IEnumerable<XeField> fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        Fields = [.. fields];
        _byName = new Dictionary<string, XeField>(StringComparer.Ordinal);
        foreach (var field in Fields)
        {
            if (!_byName.TryAdd(field.Name, field))
            {
                throw new ArgumentException($"Field '{field.Name}' appears twice in one xe record.", nameof(fields));
            }
        }
    }

    /// <summary>The fields in printed order.</summary>
    public IReadOnlyList<XeField> Fields { get; }

    /// <summary>True when the record has a field <paramref name="name"/>.</summary>
    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>The field <paramref name="name"/>, or null when the record has none.</summary>
    public XeField? FindField(string name) => _byName.GetValueOrDefault(name);

    /// <summary>The value of field <paramref name="name"/>; null when xe printed <see cref="NotInDatabase"/>.</summary>
    /// <exception cref="XenParseException">The record has no such field (the output lacks what was asked for).</exception>
    public string? Get(string name) => Require(name).Value;

    /// <summary>Tries to read field <paramref name="name"/>; <paramref name="value"/> is null for a dangling reference.</summary>
    public bool TryGet(string name, out string? value)
    {
        if (_byName.TryGetValue(name, out var field))
        {
            value = field.Value;
            return true;
        }

        value = null;
        return false;
    }

    /// <summary>
    /// Field <paramref name="name"/> read as a map (<c>k1: v1; k2: v2</c>, see <see cref="XeRecordParser.ParseMap"/>); map values
    /// printed as <see cref="NotInDatabase"/> are null. An empty value is the empty map.
    /// </summary>
    /// <exception cref="XenParseException">No such field, or its value is not a map.</exception>
    public IReadOnlyDictionary<string, string?> GetMap(string name)
    {
        var field = Require(name);
        return XeRecordParser.ParseMap(field.RawValue, $"{Subject} field '{name}'");
    }

    /// <summary>Field <paramref name="name"/> read as a set (<c>a; b</c>); items printed as <see cref="NotInDatabase"/> are null.</summary>
    /// <exception cref="XenParseException">No such field.</exception>
    public IReadOnlyList<string?> GetSet(string name) => XeRecordParser.ParseSet(Require(name).RawValue);

    /// <summary>Field <paramref name="name"/> (default <c>uuid</c>) read as a XAPI uuid.</summary>
    /// <exception cref="XenParseException">No such field, a dangling reference, or not a uuid.</exception>
    public XenUuid GetUuid(string name = "uuid")
    {
        var field = Require(name);
        return XenUuid.TryParse(field.Value, out var uuid, out var error)
            ? uuid
            : throw new XenParseException(Subject, $"field '{name}' is not a uuid: {error}", field.RawValue);
    }

    /// <summary>The fields as a name → raw value dictionary (for logging and diagnostics).</summary>
    public IReadOnlyDictionary<string, string> ToRawDictionary() =>
        new ReadOnlyDictionary<string, string>(Fields.ToDictionary(f => f.Name, f => f.RawValue, StringComparer.Ordinal));

    internal static bool IsDangling(string value) => string.Equals(value, NotInDatabase, StringComparison.Ordinal);

    private XeField Require(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (_byName.TryGetValue(name, out var field))
        {
            return field;
        }

        var present = Fields.Count == 0 ? "none" : string.Join(", ", Fields.Select(f => f.Name));
        throw new XenParseException(Subject, $"has no field '{name}' (fields present: {present})", null);
    }
}

using Passthrough.Contracts.Pci;

namespace Passthrough.Xen.Parsing;

/// <summary>
/// Reads what <c>xe *-param-get</c> prints: the bare value and a line break. With <c>param-key=</c> it is one map value
/// (<c>xe vm-param-get uuid=… param-name=other-config param-key=pci</c> → <c>0/0000:04:01.0</c>); without, a map prints
/// <c>k1: v1; k2: v2</c>. A missing key is an xe error (non-zero exit), not a value: callers handle it before parsing.
/// </summary>
public static class XeParamValue
{
    /// <summary>The value as printed, without the final line break (it may be empty).</summary>
    public static string ParsePlain(string text) => OutputText.StripFinalNewline(text);

    /// <summary>A whole map parameter (<c>param-name=other-config</c> without <c>param-key</c>); see <see cref="XeRecordParser.ParseMap"/>.</summary>
    /// <exception cref="XenParseException">The value is not a map.</exception>
    public static IReadOnlyDictionary<string, string?> ParseMap(string text) =>
        XeRecordParser.ParseMap(ParsePlain(text), "xe param-get map value");

    /// <summary>A boolean parameter such as <c>param-name=chipset-info param-key=iommu</c>: <c>true</c> or <c>false</c>.</summary>
    /// <exception cref="XenParseException">Anything else.</exception>
    public static bool ParseBool(string text)
    {
        var value = ParsePlain(text).Trim();
        return value switch
        {
            "true" => true,
            "false" => false,
            _ => throw new XenParseException("xe param-get boolean value", "expected 'true' or 'false'", value),
        };
    }

    /// <summary>
    /// The value of <c>other-config:pci</c> as <c>param-key=pci</c> prints it. Malformed entries are refused (xapi would
    /// silently drop them at VM start); see <see cref="PciAssignmentList.Parse"/>.
    /// </summary>
    /// <exception cref="XenParseException">A malformed entry; the inner exception holds the entry-level reason.</exception>
    public static PciAssignmentList ParsePciAssignments(string text) => ToPciAssignments(ParsePlain(text));

    /// <summary>
    /// The <c>pci</c> key of a VM's <c>other-config</c> map (from <see cref="XeRecord.GetMap"/> or <see cref="ParseMap"/>);
    /// the empty list when the key is absent.
    /// </summary>
    /// <exception cref="XenParseException">The key holds a malformed value or a dangling reference.</exception>
    public static PciAssignmentList PciAssignmentsFromOtherConfig(IReadOnlyDictionary<string, string?> otherConfig)
    {
        ArgumentNullException.ThrowIfNull(otherConfig);
        if (!otherConfig.TryGetValue(PciAssignmentList.Key, out var value))
        {
            return PciAssignmentList.Empty;
        }

        return value is null
            ? throw new XenParseException("other-config:pci", "holds a dangling reference", XeRecord.NotInDatabase)
            : ToPciAssignments(value);
    }

    private static PciAssignmentList ToPciAssignments(string value) =>
        PciAssignmentList.TryParse(value, out var list, out var error)
            ? list
            : throw new XenParseException("other-config:pci", error, value);
}

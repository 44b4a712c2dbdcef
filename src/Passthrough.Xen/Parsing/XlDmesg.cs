using System.Text.RegularExpressions;

namespace Passthrough.Xen.Parsing;

/// <summary>
/// Reads the hypervisor's boot messages (<c>xl dmesg</c>, or <c>/var/log/xen/hypervisor.log</c>). Lines carry prefixes
/// such as <c>(XEN) </c> and, on newer Xen, a timestamp <c>(XEN) [    6.641653] </c>; matching ignores them.
/// </summary>
public static partial class XlDmesg
{
    /// <summary>
    /// The IOMMU state Xen reported at boot: true for <c>I/O virtualisation enabled</c>, false for <c>disabled</c>, null when
    /// neither line is present (the ring buffer may have wrapped: fall back to <c>xl info</c> virt_caps). The last such line wins.
    /// </summary>
    public static bool? ParseIommuState(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        bool? state = null;
        foreach (Match match in IoVirtualisation().Matches(text))
        {
            state = string.Equals(match.Groups["state"].Value, "enabled", StringComparison.Ordinal);
        }

        return state;
    }

    [GeneratedRegex(@"I/O virtuali[sz]ation (?<state>enabled|disabled)\b", RegexOptions.CultureInvariant)]
    private static partial Regex IoVirtualisation();
}

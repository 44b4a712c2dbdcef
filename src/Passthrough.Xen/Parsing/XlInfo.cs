using System.Collections.ObjectModel;
using System.Globalization;

namespace Passthrough.Xen.Parsing;

/// <summary>
/// What <c>xl info</c> reports: <c>key : value</c> lines, keys padded (<c>virt_caps              : hvm hvm_directio</c>).
/// Keys of interest: <c>virt_caps</c>, <c>xen_major</c>, <c>xen_minor</c>, <c>xen_extra</c>, <c>xen_version</c> (newer tools).
/// </summary>
public sealed class XlInfo
{
    /// <summary>The <c>virt_caps</c> flag meaning an IOMMU can serve HVM guests.</summary>
    public const string HvmDirectIo = "hvm_directio";

    /// <summary>The <c>virt_caps</c> flag meaning an IOMMU can serve PV guests (reported from Xen 4.12).</summary>
    public const string PvDirectIo = "pv_directio";

    private static readonly Version PvDirectIoSince = new(4, 12);

    internal XlInfo(IReadOnlyDictionary<string, string> fields)
    {
        Fields = fields;
        VirtCaps = fields.TryGetValue("virt_caps", out var caps)
            ? caps.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal)
            : null;
        XenVersionText = ComposeVersion(fields);
        XenVersion = ParseMajorMinor(fields, XenVersionText);
    }

    /// <summary>Every key and its value (trimmed), in no particular order.</summary>
    public IReadOnlyDictionary<string, string> Fields { get; }

    /// <summary>The <c>virt_caps</c> flags; null when the output has no <c>virt_caps</c> line.</summary>
    public IReadOnlySet<string>? VirtCaps { get; }

    /// <summary>
    /// The Xen version text, e.g. <c>4.17.3-pre</c>: <c>xen_version</c> when printed, else <c>xen_major.xen_minor</c> followed
    /// by <c>xen_extra</c> (which carries its own leading dot: <c>.3-pre</c>); null when neither is present.
    /// </summary>
    public string? XenVersionText { get; }

    /// <summary>Major and minor version (e.g. 4.17); null when not reported.</summary>
    public Version? XenVersion { get; }

    /// <summary>
    /// Whether an IOMMU is on, as far as <c>virt_caps</c> can tell: true when it lists <see cref="HvmDirectIo"/> or
    /// <see cref="PvDirectIo"/>; false when it lists neither on Xen ≥ 4.12, or on an older Xen whose <c>virt_caps</c> shows
    /// <c>hvm</c> (there <c>hvm_directio</c> would be listed if the IOMMU were on); null when it cannot tell (no
    /// <c>virt_caps</c>, or an old Xen on a host without HVM). Cross-check with <c>xl dmesg</c> (<see cref="XlDmesg"/>).
    /// </summary>
    public bool? Iommu
    {
        get
        {
            if (VirtCaps is null)
            {
                return null;
            }

            if (IommuFromVirtCaps(VirtCaps))
            {
                return true;
            }

            return XenVersion >= PvDirectIoSince || VirtCaps.Contains("hvm") ? false : null;
        }
    }

    /// <summary>The value of <paramref name="key"/>, or null when absent.</summary>
    public string? Get(string key) => Fields.GetValueOrDefault(key);

    /// <summary>True when <paramref name="virtCaps"/> contains <see cref="HvmDirectIo"/> or <see cref="PvDirectIo"/>.</summary>
    public static bool IommuFromVirtCaps(IEnumerable<string> virtCaps)
    {
        ArgumentNullException.ThrowIfNull(virtCaps);
        return virtCaps.Any(flag => flag is HvmDirectIo or PvDirectIo);
    }

    /// <summary>Parses <c>xl info</c> output (all of it, or a grep of some lines).</summary>
    /// <exception cref="XenParseException">A non-blank line without <c>:</c>, an empty key, or a key printed twice.</exception>
    public static XlInfo Parse(string text)
    {
        const string subject = "xl info output";
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        var lines = OutputText.Lines(text);
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            if (line.Trim().Length == 0)
            {
                continue;
            }

            // Values (xen_commandline, xen_caps) may contain ':' themselves; keys never do.
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var key = colon < 0 ? string.Empty : line[..colon].Trim();
            if (key.Length == 0 || key.Contains(' ', StringComparison.Ordinal))
            {
                throw new XenParseException(subject, "expected 'key : value'", line, i + 1);
            }

            if (!fields.TryAdd(key, line[(colon + 1)..].Trim()))
            {
                throw new XenParseException(subject, $"key '{key}' appears twice", line, i + 1);
            }
        }

        return new XlInfo(new ReadOnlyDictionary<string, string>(fields));
    }

    private static string? ComposeVersion(IReadOnlyDictionary<string, string> fields)
    {
        if (fields.TryGetValue("xen_version", out var version) && version.Length > 0)
        {
            return version;
        }

        return fields.TryGetValue("xen_major", out var major) && fields.TryGetValue("xen_minor", out var minor)
            ? $"{major}.{minor}{fields.GetValueOrDefault("xen_extra")}"
            : null;
    }

    private static Version? ParseMajorMinor(IReadOnlyDictionary<string, string> fields, string? versionText)
    {
        if (fields.TryGetValue("xen_major", out var majorText) && fields.TryGetValue("xen_minor", out var minorText) &&
            int.TryParse(majorText, NumberStyles.None, CultureInfo.InvariantCulture, out var major) &&
            int.TryParse(minorText, NumberStyles.None, CultureInfo.InvariantCulture, out var minor))
        {
            return new Version(major, minor);
        }

        if (versionText is null)
        {
            return null;
        }

        var parts = versionText.Split('.');
        return parts.Length >= 2 &&
               int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out major) &&
               int.TryParse(new string([.. parts[1].TakeWhile(char.IsAsciiDigit)]), NumberStyles.None, CultureInfo.InvariantCulture, out minor)
            ? new Version(major, minor)
            : null;
    }
}

using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json.Serialization;

namespace Passthrough.Contracts.Pci;

/// <summary>
/// A PCI vendor:device id pair, e.g. <c>10de:1188</c> (exactly 4 hex digits each; canonical lower case). Also used for
/// subsystem ids (subsystem vendor:subsystem device). Devices are matched in guests by this id, never by BDF.
/// </summary>
[JsonConverter(typeof(TextValueJsonConverter<PciDeviceId>))]
public readonly record struct PciDeviceId : ITextValue<PciDeviceId>
{
    /// <summary>Xen's own vendor id (platform device, PV drivers): never a passed-through device.</summary>
    public const ushort XenVendor = 0x5853;

    private PciDeviceId(ushort vendor, ushort device)
    {
        Vendor = vendor;
        Device = device;
    }

    /// <summary>The vendor id.</summary>
    public ushort Vendor { get; }

    /// <summary>The device id.</summary>
    public ushort Device { get; }

    /// <summary>Builds an id from numbers.</summary>
    public static PciDeviceId Create(ushort vendor, ushort device) => new(vendor, device);

    /// <summary>Parses <c>vvvv:dddd</c> (4 hex digits each, any case).</summary>
    /// <exception cref="FormatException">The text is not such an id; the message quotes it.</exception>
    public static PciDeviceId Parse(string text) =>
        TryParse(text, out var id, out var error) ? id : throw new FormatException(error);

    /// <summary>Tries to parse <c>vvvv:dddd</c>.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out PciDeviceId id, [NotNullWhen(false)] out string? error)
    {
        id = default;
        if (text is null || text.Length != 9 || text[4] != ':' ||
            !ushort.TryParse(text.AsSpan(0, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var vendor) ||
            !ushort.TryParse(text.AsSpan(5, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var device))
        {
            error = $"{InputText.Quote(text)} is not a PCI vendor:device id (4 hex digits each, e.g. 10de:1188).";
            return false;
        }

        id = new PciDeviceId(vendor, device);
        error = null;
        return true;
    }

    /// <summary>Parses one sysfs id file value such as <c>0x10de</c> (with or without the prefix, surrounding whitespace allowed).</summary>
    /// <exception cref="FormatException">The text is not a 16-bit hex number.</exception>
    public static ushort ParseSysfsHex16(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var span = text.AsSpan().Trim();
        if (span.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            span = span[2..];
        }

        return span.Length is >= 1 and <= 4 && ushort.TryParse(span, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new FormatException($"{InputText.Quote(text)} is not a 16-bit hex id (e.g. 0x10de).");
    }

    /// <summary>True for Xen's own platform devices (vendor 5853), which are never passthrough candidates.</summary>
    public bool IsXenPlatform => Vendor == XenVendor;

    /// <summary>The canonical form <c>vvvv:dddd</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Vendor:x4}:{Device:x4}");
}

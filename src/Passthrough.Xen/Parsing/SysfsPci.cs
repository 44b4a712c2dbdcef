using System.Globalization;
using Passthrough.Contracts.Pci;

namespace Passthrough.Xen.Parsing;

/// <summary>
/// Reads the files under <c>/sys/bus/pci/devices/DDDD:BB:DD.F/</c>: <c>vendor</c>, <c>device</c>, <c>subsystem_vendor</c>,
/// <c>subsystem_device</c> (<c>0x10de\n</c>), <c>class</c> (<c>0x0c0330\n</c>), <c>revision</c> (<c>0xa1\n</c>) and the
/// <c>driver</c> symlink, whose last component is the bound driver (<c>pciback</c> once detached from dom0).
/// </summary>
public static class SysfsPci
{
    /// <summary>The name pciback registers its PCI driver under (<c>/sys/bus/pci/drivers/pciback</c>).</summary>
    public const string PcibackDriver = "pciback";

    /// <summary>Reads a 16-bit id file (<c>vendor</c>, <c>device</c>, <c>subsystem_vendor</c>, <c>subsystem_device</c>).</summary>
    /// <param name="text">The file's contents.</param>
    /// <param name="attribute">The file name, for the error message.</param>
    /// <exception cref="XenParseException">Not a 16-bit hex number.</exception>
    public static ushort ParseId16(string text, string attribute)
    {
        ArgumentNullException.ThrowIfNull(text);
        try
        {
            return PciDeviceId.ParseSysfsHex16(text);
        }
        catch (FormatException ex)
        {
            throw new XenParseException($"sysfs {attribute}", "expected a 16-bit hex id such as 0x10de", text, null, ex);
        }
    }

    /// <summary>Reads <c>vendor</c> and <c>device</c> into an id pair.</summary>
    /// <exception cref="XenParseException">Either file is malformed.</exception>
    public static PciDeviceId ParseDeviceId(string vendorText, string deviceText) =>
        PciDeviceId.Create(ParseId16(vendorText, "vendor"), ParseId16(deviceText, "device"));

    /// <summary>Reads <c>subsystem_vendor</c> and <c>subsystem_device</c> into an id pair.</summary>
    /// <exception cref="XenParseException">Either file is malformed.</exception>
    public static PciDeviceId ParseSubsystemId(string subsystemVendorText, string subsystemDeviceText) =>
        PciDeviceId.Create(ParseId16(subsystemVendorText, "subsystem_vendor"), ParseId16(subsystemDeviceText, "subsystem_device"));

    /// <summary>Reads <c>class</c>: <c>0x0c0330</c> (six hex digits after 0x).</summary>
    /// <exception cref="XenParseException">Not a six-digit class code.</exception>
    public static PciClass ParseClass(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var value = text.Trim();
        var digits = value.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? value[2..] : value;
        return digits.Length == 6 && PciClass.TryParse(value, out var pciClass, out _)
            ? pciClass
            : throw new XenParseException("sysfs class", "expected a six-digit class code such as 0x0c0330", text);
    }

    /// <summary>Reads <c>revision</c>: <c>0xa1</c>.</summary>
    /// <exception cref="XenParseException">Not an 8-bit hex number.</exception>
    public static byte ParseRevision(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var value = text.Trim();
        var digits = value.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? value[2..] : value;
        return digits.Length is >= 1 and <= 2 && byte.TryParse(digits, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var revision)
            ? revision
            : throw new XenParseException("sysfs revision", "expected an 8-bit hex number such as 0xa1", text);
    }

    /// <summary>
    /// The driver name from the <c>driver</c> symlink's target (<c>readlink</c>, relative or absolute):
    /// <c>../../../bus/pci/drivers/ehci-pci</c> → <c>ehci-pci</c>. Surrounding whitespace and a trailing slash are ignored.
    /// </summary>
    /// <exception cref="XenParseException">The target is empty or has no <c>drivers/</c> parent.</exception>
    public static string DriverFromLink(string target)
    {
        ArgumentNullException.ThrowIfNull(target);
        var path = target.Trim().TrimEnd('/');
        var slash = path.LastIndexOf('/');
        var name = slash < 0 ? path : path[(slash + 1)..];
        var parent = slash < 0 ? string.Empty : path[..slash];
        if (name.Length == 0 || name is "." or ".." || !(parent.EndsWith("/drivers", StringComparison.Ordinal) || parent == "drivers"))
        {
            throw new XenParseException("sysfs driver link", "expected a path ending in drivers/<name>", target);
        }

        return name;
    }
}

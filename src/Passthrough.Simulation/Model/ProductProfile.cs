using System.Globalization;
using System.Text.Json.Serialization;

namespace Passthrough.Simulation.Model;

/// <summary>
/// What a XenServer / XCP-ng release looks like from dom0: versions, which <c>xe</c> commands and fields exist, and the
/// Xen behaviours that differ between releases. Use the presets; a profile is plain data so a saved host keeps it.
/// </summary>
public sealed record ProductProfile
{
    /// <summary>A short display name, e.g. <c>XCP-ng 8.3</c>.</summary>
    public required string Name { get; init; }

    /// <summary><c>PRODUCT_BRAND</c> / <c>product_brand</c>: <c>XenServer</c>, <c>Citrix Hypervisor</c>, <c>XCP-ng</c>.</summary>
    public required string Brand { get; init; }

    /// <summary><c>PRODUCT_VERSION</c>, e.g. <c>8.3.0</c>.</summary>
    public required string ProductVersion { get; init; }

    /// <summary><c>BUILD_NUMBER</c>.</summary>
    public required string BuildNumber { get; init; }

    /// <summary><c>PLATFORM_VERSION</c>, e.g. <c>3.4.0</c>.</summary>
    public required string PlatformVersion { get; init; }

    /// <summary>The <c>xapi</c> key of <c>software-version</c>: <c>1.9</c> on XenServer 6.5, <c>24.19</c> on XCP-ng 8.3.</summary>
    public required string XapiVersion { get; init; }

    /// <summary>The <c>xapi_build</c> key of <c>software-version</c>; null where the host does not report it.</summary>
    public string? XapiBuild { get; init; }

    /// <summary>The full Xen version as <c>xl info</c> prints it, e.g. <c>4.17.4-3</c> or <c>4.4.1-xs100346</c>.</summary>
    public required string XenVersion { get; init; }

    /// <summary>The dom0 kernel release, e.g. <c>4.19.0+1</c>.</summary>
    public required string LinuxVersion { get; init; }

    /// <summary>Whether VM records have <c>domain-type</c> (XenServer 7.5 and later).</summary>
    public bool HasDomainType { get; init; }

    /// <summary>
    /// Whether the CLI has the PCI class (<c>pci-list</c>, <c>pci-param-*</c>) and the dom0-access commands
    /// (<c>pci-disable-dom0-access</c> …): xapi 24.14 and later. Older hosts answer <c>Unknown command</c>.
    /// </summary>
    public bool HasPciCommands { get; init; }

    /// <summary>Whether xapi refuses to hide the device backing dom0's root disk (<c>BOOT_DEVICE_PASSTHROUGH_DISALLOWED</c>, xapi 26.16+).</summary>
    public bool RefusesBootDevicePassthrough { get; init; }

    /// <summary>Whether the CLI prints the old (xapi 1.9) wording of some failures, e.g. <c>Key is not in map</c>.</summary>
    public bool LegacyCliMessages { get; init; }

    /// <summary>Xen major version, from <see cref="XenVersion"/>.</summary>
    [JsonIgnore]
    public int XenMajor => ParseXen().Major;

    /// <summary>Xen minor version, from <see cref="XenVersion"/>.</summary>
    [JsonIgnore]
    public int XenMinor => ParseXen().Minor;

    /// <summary>True when Xen is at least <paramref name="major"/>.<paramref name="minor"/>.</summary>
    public bool XenAtLeast(int major, int minor)
    {
        var (m, n) = ParseXen();
        return m > major || (m == major && n >= minor);
    }

    /// <summary>From Xen 4.13 the domain needs an IOMMU for any passthrough, PV included ("IOMMU unavailable").</summary>
    [JsonIgnore]
    public bool PvPassthroughNeedsIommu => XenAtLeast(4, 13);

    /// <summary>From Xen 4.15 <c>xl pci-assignable-list</c> ends every line with a space.</summary>
    [JsonIgnore]
    public bool AssignableListTrailingSpace => XenAtLeast(4, 15);

    /// <summary>From Xen 4.12 <c>virt_caps</c> carries <c>pv</c>, <c>pv_directio</c>, <c>hap</c>, <c>shadow</c> flags.</summary>
    [JsonIgnore]
    public bool ModernVirtCaps => XenAtLeast(4, 12);

    /// <summary>XenServer 6.5 SP1: Xen 4.4, xapi "1.9", CentOS 5 dom0; no domain-type, no <c>xe pci-*</c>.</summary>
    public static ProductProfile XenServer65 { get; } = new()
    {
        Name = "XenServer 6.5",
        Brand = "XenServer",
        ProductVersion = "6.5.0",
        BuildNumber = "90233c",
        PlatformVersion = "1.9.0",
        XapiVersion = "1.9",
        XapiBuild = null,
        XenVersion = "4.4.1-xs100346",
        LinuxVersion = "3.10.0+2",
        HasDomainType = false,
        HasPciCommands = false,
        LegacyCliMessages = true,
    };

    /// <summary>XenServer 7.1 CU2: Xen 4.7; no domain-type (that came with 7.5), no <c>xe pci-*</c>.</summary>
    public static ProductProfile XenServer71 { get; } = new()
    {
        Name = "XenServer 7.1",
        Brand = "XenServer",
        ProductVersion = "7.1.2",
        BuildNumber = "137300c",
        PlatformVersion = "2.2.2",
        XapiVersion = "1.14",
        XapiBuild = null,
        XenVersion = "4.7.6-6.6.xs",
        LinuxVersion = "4.4.0+10",
        HasDomainType = false,
        HasPciCommands = false,
    };

    /// <summary>Citrix Hypervisor 8.2 CU1: Xen 4.13; IOMMU mandatory for PV and HVM passthrough.</summary>
    public static ProductProfile CitrixHypervisor82 { get; } = new()
    {
        Name = "Citrix Hypervisor 8.2",
        Brand = "XenServer",
        ProductVersion = "8.2.1",
        BuildNumber = "release/yangtze/master/58",
        PlatformVersion = "3.2.1",
        XapiVersion = "1.249",
        XapiBuild = "1.249.26",
        XenVersion = "4.13.5-9.38",
        LinuxVersion = "4.19.0+1",
        HasDomainType = true,
        HasPciCommands = false,
    };

    /// <summary>XCP-ng 8.2 LTS: Xen 4.13.</summary>
    public static ProductProfile XcpNg82 { get; } = new()
    {
        Name = "XCP-ng 8.2",
        Brand = "XCP-ng",
        ProductVersion = "8.2.1",
        BuildNumber = "release/yangtze/master/58",
        PlatformVersion = "3.2.1",
        XapiVersion = "1.249",
        XapiBuild = "1.249.36",
        XenVersion = "4.13.5-9.44.1",
        LinuxVersion = "4.19.0+1",
        HasDomainType = true,
        HasPciCommands = false,
    };

    /// <summary>XCP-ng 8.3: Xen 4.17, xapi 24.19 with the dom0-access API and the <c>xe pci-*</c> commands.</summary>
    public static ProductProfile XcpNg83 { get; } = new()
    {
        Name = "XCP-ng 8.3",
        Brand = "XCP-ng",
        ProductVersion = "8.3.0",
        BuildNumber = "cloud",
        PlatformVersion = "3.4.0",
        XapiVersion = "24.19",
        XapiBuild = "24.19.2",
        XenVersion = "4.17.4-3",
        LinuxVersion = "4.19.0+1",
        HasDomainType = true,
        HasPciCommands = true,
    };

    /// <summary>Every preset, oldest first.</summary>
    public static IReadOnlyList<ProductProfile> Presets { get; } = [XenServer65, XenServer71, CitrixHypervisor82, XcpNg82, XcpNg83];

    /// <summary>The <c>xen_major</c>.<c>xen_minor</c> prefix and the rest, as <c>xl info</c> splits it.</summary>
    internal (string Major, string Minor, string Extra) SplitXenVersion()
    {
        var first = XenVersion.IndexOf('.', StringComparison.Ordinal);
        var second = XenVersion.IndexOf('.', first + 1);
        return (XenVersion[..first], XenVersion[(first + 1)..second], XenVersion[second..]);
    }

    private (int Major, int Minor) ParseXen()
    {
        var (major, minor, _) = SplitXenVersion();
        return (int.Parse(major, CultureInfo.InvariantCulture), int.Parse(minor, CultureInfo.InvariantCulture));
    }
}

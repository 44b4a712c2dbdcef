using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Messaging;
using Passthrough.Contracts.Pci;

namespace Passthrough.Xen;

/// <summary>What a host is: product, versions and which APIs its xapi has.</summary>
/// <param name="Host">This host's uuid (INSTALLATION_UUID).</param>
/// <param name="ProductBrand">XenServer, Citrix Hypervisor or XCP-ng.</param>
/// <param name="ProductVersion">e.g. 8.3.0.</param>
/// <param name="XapiVersion">xapi's version from software-version, when printed.</param>
/// <param name="XenVersionText">Xen's version text, e.g. 4.17.4-3.</param>
/// <param name="XenVersion">Major.minor of Xen, when readable.</param>
/// <param name="HasPciCommands">The <c>xe pci-*</c> commands exist (xapi ≥ 24.14).</param>
/// <param name="HasDom0AccessApi"><c>xe pci-disable-dom0-access</c> exists.</param>
/// <param name="BootId">The kernel's boot id: changes at every reboot.</param>
public sealed record HostFacts(
    HostId Host,
    string ProductBrand,
    string ProductVersion,
    string? XapiVersion,
    string XenVersionText,
    Version? XenVersion,
    bool HasPciCommands,
    bool HasDom0AccessApi,
    string BootId)
{
    /// <summary>From Xen 4.13 an IOMMU is mandatory for PV and HVM passthrough alike.</summary>
    public bool IommuMandatoryForPv => XenVersion is null || XenVersion >= new Version(4, 13);
}

/// <summary>The IOMMU as three sources see it, and the verdict.</summary>
/// <param name="Chipset">XAPI <c>chipset-info:iommu</c> (null when unreadable).</param>
/// <param name="VirtCaps"><c>xl info</c> virt_caps has hvm_directio / pv_directio (null when unreadable).</param>
/// <param name="Dmesg"><c>xl dmesg</c> "I/O virtualisation enabled/disabled" (null when the line has rotated out).</param>
public sealed record IommuReport(bool? Chipset, bool? VirtCaps, bool? Dmesg)
{
    /// <summary>True only when at least one source says on and none says off.</summary>
    public bool Enabled => Sources.Any(s => s == true) && !Sources.Any(s => s == false);

    /// <summary>The sources disagree; the verdict is then "off" (the safe side).</summary>
    public bool Conflict => Sources.Any(s => s == true) && Sources.Any(s => s == false);

    /// <summary>A sentence naming the disagreement, or null.</summary>
    public string? ConflictDescription => Conflict
        ? $"IOMMU sources disagree: chipset-info={Show(Chipset)}, xl info virt_caps={Show(VirtCaps)}, xl dmesg={Show(Dmesg)}; treated as off"
        : null;

    private IEnumerable<bool?> Sources => [Chipset, VirtCaps, Dmesg];

    private static string Show(bool? value) => value switch { true => "on", false => "off", null => "unknown" };
}

/// <summary>A VM as XAPI reports it.</summary>
public sealed record VmInfo(
    VmId Uuid,
    string NameLabel,
    VmPowerState PowerState,
    GuestType DomainType,
    XenUuid? ResidentOn,
    int? DomId,
    IReadOnlyDictionary<string, string?> OtherConfig)
{
    /// <summary>The raw <c>other-config:pci</c> value, null when the key is absent.</summary>
    public string? PciKey => OtherConfig.TryGetValue(PciAssignmentList.Key, out var value) ? value ?? string.Empty : null;
}

/// <summary>Everything the host agent knows about a host at one moment.</summary>
public sealed record HostInventory(
    HostFacts Facts,
    IommuReport Iommu,
    IReadOnlyList<HostPciDevice> Devices,
    IReadOnlyList<VmInfo> Vms,
    PciAddress? BootDevice,
    PciAddress? ManagementNic,
    string? CurrentHideList,
    string? NextBootHideList,
    IReadOnlyList<string> Warnings);

/// <summary>What <see cref="Dom0Driver.PersistHideAsync"/> changed: enough to restore the previous list byte for byte.</summary>
/// <param name="PreviousText">The list exactly as <c>xen-cmdline --get-dom0</c> printed it, without its final line break; empty when absent.</param>
/// <param name="NewText">What was written; empty when the parameter was deleted.</param>
/// <param name="Changed">False when nothing had to be written.</param>
public sealed record HideListChange(string PreviousText, string NewText, bool Changed);

/// <summary>What a change of <c>other-config:pci</c> did.</summary>
/// <param name="Vm">The VM.</param>
/// <param name="Previous">The value before; null when the key was absent.</param>
/// <param name="Current">The value now; null when the key is absent.</param>
public sealed record PciKeyChange(VmId Vm, string? Previous, string? Current)
{
    /// <summary>False when the value already was what was asked.</summary>
    public bool Changed => Previous != Current;
}

/// <summary>What a shutdown did.</summary>
public sealed record ShutdownResult(bool WasRunning, bool Forced);

/// <summary>What a start did.</summary>
public sealed record StartResult(bool WasHalted, int? DomId);

/// <summary>A completed host reboot.</summary>
public sealed record RebootResult(string PreviousBootId, string BootId, TimeSpan Downtime);

/// <summary>One snapshot of a VM: its uuid and name-label.</summary>
public sealed record SnapshotInfo(XenUuid Uuid, string Name);

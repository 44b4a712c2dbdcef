using System.Globalization;
using Passthrough.Contracts;
using Passthrough.Contracts.Messaging;

namespace Passthrough.Guest;

/// <summary>
/// Decides PV / HVM / PVH inside a Linux guest. Kernels ≥ 4.13 say it in <c>/sys/hypervisor/guest_type</c>; for older
/// ones (the tutorial's 3.4.9) the answer is reasoned out from evidence, strongest first:
/// <list type="number">
/// <item><c>/proc/xen/capabilities</c> containing <c>control_d</c>: dom0, which is PV on every XenServer / XCP-ng.</item>
/// <item><c>/sys/hypervisor/properties/features</c>, the XENVER_get_features bitmap. Xen sets
/// <c>XENFEAT_hvm_callback_vector</c> (bit 8) and <c>XENFEAT_hvm_safe_pvclock</c> (bit 9) only for HVM-container guests
/// (HVM, and PVH which those kernels almost never run), and <c>XENFEAT_mmu_pt_update_preserve_ad</c> /
/// <c>highmem_assist</c> / <c>gnttab_map_avail_bits</c> (bits 5–7) only for PV guests (xen/common/kernel.c).</item>
/// <item>The PCI inventory: Xen's platform device (vendor 5853) or an emulated host bridge (class 0600, QEMU's i440FX)
/// exists only in HVM guests; a PV guest has no emulated chipset.</item>
/// <item>xenbus frontends (<c>vbd-*</c>, <c>vif-*</c>) with no emulated host bridge and no platform device: PV (an HVM
/// guest with PV drivers would show both).</item>
/// </list>
/// Otherwise the type is <see cref="GuestType.Unknown"/>, with an advisory.
/// </summary>
internal static class XenGuestType
{
    // XENFEAT_* bit numbers from xen/include/public/features.h.
    private const int MmuPtUpdatePreserveAd = 5;
    private const int HighmemAssist = 6;
    private const int GnttabMapAvailBits = 7;
    private const int HvmCallbackVector = 8;
    private const int HvmSafePvclock = 9;

    public static (GuestType Type, string Source, string? Advisory) Decide(
        string? guestTypeText,
        string? capabilities,
        string? features,
        IReadOnlyList<GuestPciDevice>? pciDevices,
        IReadOnlyList<string>? xenBusDevices)
    {
        string? advisory = null;
        if (guestTypeText is not null)
        {
            switch (guestTypeText.Trim().ToUpperInvariant())
            {
                case "PV":
                    return (GuestType.PV, GuestPaths.GuestType, null);
                case "HVM":
                    return (GuestType.HVM, GuestPaths.GuestType, null);
                case "PVH":
                    return (GuestType.PVH, GuestPaths.GuestType, null);
                default:
                    advisory = $"{GuestPaths.GuestType} holds {InputText.Quote(guestTypeText.Trim())}, which is not PV, HVM or PVH; the guest type was reasoned out instead.";
                    break;
            }
        }

        var missing = guestTypeText is null ? $"no {GuestPaths.GuestType} (kernel < 4.13)" : "unrecognised guest_type";
        if (capabilities is not null && capabilities.Contains("control_d", StringComparison.Ordinal))
        {
            return (GuestType.PV, $"{missing}; {GuestPaths.XenCapabilities} says control_d (dom0 is PV)", advisory);
        }

        if (TryParseFeatures(features, out var bits))
        {
            if (IsSet(bits, HvmCallbackVector) || IsSet(bits, HvmSafePvclock))
            {
                return (GuestType.HVM, $"{missing}; {GuestPaths.HypervisorFeatures} {bits:x8} has the HVM-only feature bits", advisory);
            }

            if (IsSet(bits, MmuPtUpdatePreserveAd) || IsSet(bits, HighmemAssist) || IsSet(bits, GnttabMapAvailBits))
            {
                return (GuestType.PV, $"{missing}; {GuestPaths.HypervisorFeatures} {bits:x8} has the PV-only feature bits", advisory);
            }
        }

        if (pciDevices is not null)
        {
            if (pciDevices.Any(d => d.Id.IsXenPlatform))
            {
                return (GuestType.HVM, $"{missing}; Xen's platform PCI device (vendor 5853) is present, which only HVM guests have", advisory);
            }

            if (pciDevices.Any(d => d.Class.BaseClass == 0x06 && d.Class.SubClass == 0x00))
            {
                return (GuestType.HVM, $"{missing}; an emulated PCI host bridge is present, which PV guests never have", advisory);
            }

            if (xenBusDevices is not null && xenBusDevices.Any(name => name.StartsWith("vbd-", StringComparison.Ordinal) || name.StartsWith("vif-", StringComparison.Ordinal)))
            {
                return (GuestType.PV, $"{missing}; xenbus frontends (vbd/vif) without any emulated PCI chipset", advisory);
            }
        }

        return (
            GuestType.Unknown,
            $"{missing}; no evidence decided it",
            advisory ?? $"Could not tell whether this Xen guest is PV or HVM: {GuestPaths.GuestType} is missing (kernel < 4.13) and neither " +
                        $"{GuestPaths.HypervisorFeatures} nor the PCI inventory decided it. pcifront is required only in PV guests.");
    }

    // The file holds one 8-digit hex word per submap, highest first; submap 0 (the one with these bits) is the last.
    internal static bool TryParseFeatures(string? text, out uint submap0)
    {
        submap0 = 0;
        var hex = text?.Trim();
        if (string.IsNullOrEmpty(hex) || hex.Length % 8 != 0 || !hex.All(char.IsAsciiHexDigit))
        {
            return false;
        }

        return uint.TryParse(hex.AsSpan(hex.Length - 8), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out submap0);
    }

    private static bool IsSet(uint bits, int bit) => (bits & (1u << bit)) != 0;
}

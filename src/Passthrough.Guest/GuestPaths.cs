using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;
using Passthrough.Contracts;
using Passthrough.Contracts.Pci;

namespace Passthrough.Guest;

/// <summary>
/// Every guest path the Linux probe reads, built only from constants, validated BDFs and a validated kernel release.
/// <see cref="RemoteGuestFileSystem"/> refuses anything else (<see cref="IsAllowed"/>), so no input from an operator or
/// from the guest itself can make the agentless probe read another file on the guest.
/// </summary>
public static partial class GuestPaths
{
    /// <summary><c>xen</c> on Xen (CONFIG_XEN_SYS_HYPERVISOR).</summary>
    public const string HypervisorType = "/sys/hypervisor/type";

    /// <summary><c>PV</c>, <c>HVM</c> or <c>PVH</c>; kernels ≥ 4.13 only.</summary>
    public const string GuestType = "/sys/hypervisor/guest_type";

    /// <summary>The XENVER_get_features bitmap as hex words, highest submap first (<c>000020e0</c>).</summary>
    public const string HypervisorFeatures = "/sys/hypervisor/properties/features";

    /// <summary>xenfs: empty in a domU, <c>control_d</c> in dom0.</summary>
    public const string XenCapabilities = "/proc/xen/capabilities";

    /// <summary>The running kernel's release (<c>uname -r</c>).</summary>
    public const string KernelRelease = "/proc/sys/kernel/osrelease";

    /// <summary>A random uuid that changes at every boot.</summary>
    public const string BootId = "/proc/sys/kernel/random/boot_id";

    /// <summary>The xenbus bus: frontend devices (<c>vbd-51712</c>, <c>vif-0</c>, <c>pci-0</c>).</summary>
    public const string XenBusDevices = "/sys/bus/xen/devices";

    /// <summary>Exists when the pcifront driver is registered with xenbus (loaded or built in).</summary>
    public const string PcifrontDriver = "/sys/bus/xen/drivers/pcifront";

    /// <summary>The PCI frontend device xenbus creates when the domain was built with PCI devices.</summary>
    public const string PcifrontDevice = "/sys/bus/xen/devices/pci-0";

    /// <summary>Exists for a loaded module, and for a built-in one that has parameters.</summary>
    public const string PcifrontModule = "/sys/module/xen_pcifront";

    /// <summary>Exists only for a loadable module that is loaded (<c>live</c>); built-in code has none.</summary>
    public const string PcifrontModuleInitState = "/sys/module/xen_pcifront/initstate";

    /// <summary>One entry (a link) per PCI function the kernel sees.</summary>
    public const string PciDevices = "/sys/bus/pci/devices";

    /// <summary>The syslog copy of the kernel log (Debian/Ubuntu rsyslog).</summary>
    public const string KernLog = "/var/log/kern.log";

    /// <summary>The sysfs attributes of a PCI function the probe reads.</summary>
    public static IReadOnlyList<string> PciAttributes { get; } = ["vendor", "device", "subsystem_vendor", "subsystem_device", "class"];

    private static readonly HashSet<string> Fixed = new(StringComparer.Ordinal)
    {
        HypervisorType, GuestType, HypervisorFeatures, XenCapabilities, KernelRelease, BootId, XenBusDevices,
        PcifrontDriver, PcifrontDevice, PcifrontModule, PcifrontModuleInitState, PciDevices, KernLog,
    };

    /// <summary>The directory of a PCI function: <c>/sys/bus/pci/devices/0000:00:00.0</c>.</summary>
    public static string PciDevice(PciAddress address) => $"{PciDevices}/{address}";

    /// <summary>One attribute of a PCI function (one of <see cref="PciAttributes"/>, <c>revision</c> or <c>driver</c>).</summary>
    /// <exception cref="ArgumentException">Not an attribute the probe reads.</exception>
    public static string PciAttribute(PciAddress address, string attribute)
    {
        ArgumentNullException.ThrowIfNull(attribute);
        if (!PciAttributes.Contains(attribute, StringComparer.Ordinal) && attribute is not ("revision" or "driver"))
        {
            throw new ArgumentException($"{InputText.Quote(attribute)} is not a PCI sysfs attribute the probe reads.", nameof(attribute));
        }

        return $"{PciDevice(address)}/{attribute}";
    }

    /// <summary>The <c>driver</c> link of a PCI function.</summary>
    public static string PciDriverLink(PciAddress address) => $"{PciDevice(address)}/driver";

    /// <summary><c>/lib/modules/RELEASE/modules.builtin</c>.</summary>
    /// <exception cref="ArgumentException">The release is not a plain kernel release string.</exception>
    public static string ModulesBuiltin(string release) => $"/lib/modules/{CheckRelease(release)}/modules.builtin";

    /// <summary><c>/lib/modules/RELEASE/modules.dep</c>.</summary>
    /// <exception cref="ArgumentException">The release is not a plain kernel release string.</exception>
    public static string ModulesDep(string release) => $"/lib/modules/{CheckRelease(release)}/modules.dep";

    /// <summary>
    /// True for a kernel release usable as one path component: 1–64 characters from letters, digits and <c>. _ + ~ -</c>,
    /// starting with a letter or digit (<c>3.4.9</c>, <c>6.1.0-18-amd64</c>, <c>5.14.0-362.el9.x86_64</c>).
    /// </summary>
    public static bool IsValidKernelRelease([NotNullWhen(true)] string? release) => release is not null && ReleasePattern().IsMatch(release);

    /// <summary>True when <paramref name="path"/> is one of the fixed paths or built by the methods above.</summary>
    public static bool IsAllowed([NotNullWhen(true)] string? path) =>
        path is not null && (Fixed.Contains(path) || PciPathPattern().IsMatch(path) || ModulesPattern().IsMatch(path));

    /// <summary>Throws unless <paramref name="path"/> <see cref="IsAllowed"/>.</summary>
    /// <exception cref="ArgumentException">The path is not one the agentless probe may read; nothing was read.</exception>
    public static void EnsureAllowed(string? path)
    {
        if (!IsAllowed(path))
        {
            throw new ArgumentException(
                $"{InputText.Quote(path)} is not one of the fixed guest paths the probe reads (see GuestPaths); it was not sent to the guest.",
                nameof(path));
        }
    }

    private static string CheckRelease(string release) =>
        IsValidKernelRelease(release)
            ? release
            : throw new ArgumentException($"{InputText.Quote(release)} is not a kernel release usable in a path.", nameof(release));

    [GeneratedRegex(@"\A[A-Za-z0-9][A-Za-z0-9._+~-]{0,63}\z", RegexOptions.CultureInvariant)]
    private static partial Regex ReleasePattern();

    [GeneratedRegex(@"\A/sys/bus/pci/devices/[0-9a-f]{4}:[0-9a-f]{2}:[01][0-9a-f]\.[0-7](/(vendor|device|subsystem_vendor|subsystem_device|class|revision|driver))?\z", RegexOptions.CultureInvariant)]
    private static partial Regex PciPathPattern();

    [GeneratedRegex(@"\A/lib/modules/[A-Za-z0-9][A-Za-z0-9._+~-]{0,63}/modules\.(dep|builtin)\z", RegexOptions.CultureInvariant)]
    private static partial Regex ModulesPattern();
}

using Passthrough.Contracts.Messaging;

namespace Passthrough.Guest;

/// <summary>The operating system family a probe looked at.</summary>
public enum GuestOs
{
    Linux = 1,
    Windows,
}

/// <summary>How the kernel carries <c>xen-pcifront</c>.</summary>
public enum PcifrontModule
{
    /// <summary>Could not tell (module tree unreadable).</summary>
    Unknown = 0,

    /// <summary>Loaded as a module (<c>/sys/module/xen_pcifront</c> with a refcnt/initstate).</summary>
    Loaded,

    /// <summary>Built into the kernel (<c>modules.builtin</c> lists it).</summary>
    BuiltIn,

    /// <summary>The module file exists for the running kernel (<c>modules.dep</c>) but is not loaded.</summary>
    AvailableNotLoaded,

    /// <summary>The running kernel has no pcifront at all.</summary>
    Absent,
}

/// <summary>The PV PCI frontend as the probe sees it.</summary>
/// <param name="State">The verdict the saga uses.</param>
/// <param name="Module">How the kernel carries it.</param>
/// <param name="DriverRegistered"><c>/sys/bus/xen/drivers/pcifront</c> exists.</param>
/// <param name="FrontendDevice"><c>/sys/bus/xen/devices/pci-0</c> exists.</param>
public sealed record PcifrontReport(PcifrontState State, PcifrontModule Module, bool DriverRegistered, bool FrontendDevice);

/// <summary>Everything a probe saw in one guest.</summary>
/// <param name="Os">Linux or Windows.</param>
/// <param name="IsXen">Running on Xen (<c>/sys/hypervisor/type</c> = xen, or Xen platform devices on Windows).</param>
/// <param name="GuestType">PV, HVM, PVH, or Unknown (also when not on Xen).</param>
/// <param name="KernelRelease">e.g. <c>3.4.9</c>, <c>6.1.0-18-amd64</c>; the Windows build on Windows.</param>
/// <param name="BootId">The boot id (<c>/proc/sys/kernel/random/boot_id</c>), when readable.</param>
/// <param name="Pcifront">The PV frontend (NotApplicable outside PV guests).</param>
/// <param name="Devices">PCI functions seen in the guest (vendor 5853, Xen's own, excluded on Windows).</param>
/// <param name="KernelLog">pcifront lines from the kernel log, when readable.</param>
/// <param name="Advisories">Warnings (kernel advisories, unreadable parts); never refusals.</param>
public sealed record GuestReport(
    GuestOs Os,
    bool IsXen,
    GuestType GuestType,
    string KernelRelease,
    string? BootId,
    PcifrontReport Pcifront,
    IReadOnlyList<GuestPciDevice> Devices,
    IReadOnlyList<string> KernelLog,
    IReadOnlyList<string> Advisories)
{
    /// <summary>
    /// How <see cref="GuestType"/> was decided: <c>/sys/hypervisor/guest_type</c>, or the evidence an old kernel's
    /// type was reasoned out from (see <see cref="LinuxGuestProbe"/>); null when the probe does not say.
    /// </summary>
    public string? GuestTypeSource { get; init; }
}

using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Pci;

namespace Passthrough.Contracts.Messaging;

/// <summary>A failure as reported to the saga and the operator: the classified cause, a message, the toolstack's own text and a fix hint.</summary>
/// <param name="Cause">The classified cause.</param>
/// <param name="Message">One line for a person, naming what failed.</param>
/// <param name="OriginalText">The toolstack's or probe's text verbatim, when there was one.</param>
/// <param name="FixHint">What to do about it, when known.</param>
public sealed record Failure(FailureCause Cause, string Message, string? OriginalText = null, string? FixHint = null);

/// <summary>A dom0 driver binding changed by a detach, so the release or the compensation can restore it exactly.</summary>
/// <param name="Address">The function.</param>
/// <param name="OriginalDriver">The driver bound before (null when none was bound).</param>
/// <param name="BoundToPciback">True when the detach bound it to pciback (false: it already was).</param>
public sealed record DriverBinding(PciAddress Address, string? OriginalDriver, bool BoundToPciback);

/// <summary>Everything a detach changed on a host, enough to undo it byte for byte.</summary>
/// <param name="Mode">The hide mode used.</param>
/// <param name="Bindings">Driver bindings changed now, one per function.</param>
/// <param name="PreviousHideList">The hide-list text exactly as <c>xen-cmdline --get-dom0</c> printed it before (null when untouched).</param>
/// <param name="NewHideList">The hide list written (null when untouched).</param>
/// <param name="Dom0AccessDisabled">XAPI PCI objects on which <c>pci-disable-dom0-access</c> was called.</param>
/// <param name="RebootRequired">True when the change only takes effect after a host reboot.</param>
public sealed record DetachRecord(
    HideMode Mode,
    IReadOnlyList<DriverBinding> Bindings,
    string? PreviousHideList,
    string? NewHideList,
    IReadOnlyList<XenUuid> Dom0AccessDisabled,
    bool RebootRequired);

/// <summary>A device the guest is expected to see, matched by ids, never by BDF.</summary>
/// <param name="Id">Vendor:device.</param>
/// <param name="Subsystem">Subsystem vendor:device, when it must match too.</param>
/// <param name="Driver">The guest driver that must be bound, when the operator names one.</param>
public sealed record ExpectedDevice(PciDeviceId Id, PciDeviceId? Subsystem = null, string? Driver = null);

/// <summary>A PCI function as a guest sees it.</summary>
/// <param name="Address">Its address in the guest (0000:00:00.0 in vpci mode).</param>
/// <param name="Id">Vendor:device.</param>
/// <param name="Subsystem">Subsystem ids when readable.</param>
/// <param name="Class">Class code.</param>
/// <param name="Driver">Bound driver, or null.</param>
public sealed record GuestPciDevice(PciAddress Address, PciDeviceId Id, PciDeviceId? Subsystem, PciClass Class, string? Driver);

/// <summary>A PCI function as the host agent sees it in dom0.</summary>
/// <param name="Address">BDF.</param>
/// <param name="Id">Vendor:device.</param>
/// <param name="Class">Class code.</param>
/// <param name="VendorName">Vendor name (lspci or XAPI), when known.</param>
/// <param name="DeviceName">Device name, when known.</param>
/// <param name="Driver">dom0 driver bound now (pciback once detached), or null.</param>
/// <param name="Dom0Access">Whether dom0 may use it, now and after the next boot.</param>
/// <param name="OwnerVm">The VM whose <c>other-config:pci</c> holds it, if any.</param>
/// <param name="XapiUuid">The XAPI PCI object, when XAPI models the device (USB controllers have none).</param>
/// <param name="Siblings">Other functions of the same device.</param>
/// <param name="IsBootDevice">Backs dom0's root filesystem: never to be taken.</param>
/// <param name="IsManagementNic">Carries the management interface: never to be taken.</param>
public sealed record HostPciDevice(
    PciAddress Address,
    PciDeviceId Id,
    PciClass Class,
    string? VendorName,
    string? DeviceName,
    string? Driver,
    Dom0Access Dom0Access,
    VmId? OwnerVm,
    XenUuid? XapiUuid,
    IReadOnlyList<PciAddress> Siblings,
    bool IsBootDevice,
    bool IsManagementNic);

/// <summary>Options a passthrough request carries to preflight.</summary>
/// <param name="HideMode">How to take the devices from dom0.</param>
/// <param name="AllowPvWithoutIommu">Allow PV passthrough without an IOMMU (only on Xen &lt; 4.13; a DMA risk).</param>
/// <param name="AllowHostReboot">Whether the saga may reboot the host.</param>
/// <param name="IncludeSiblings">Add the other functions of each device instead of refusing when they are missing.</param>
public sealed record PreflightOptions(HideMode HideMode, bool AllowPvWithoutIommu, bool AllowHostReboot, bool IncludeSiblings = false);

/// <summary>How to reach a guest that runs no agent, for the agentless verification over SSH (the host agent connects).</summary>
/// <param name="Address">Host name or IP address of the guest.</param>
/// <param name="Port">SSH port.</param>
/// <param name="User">Login user (the identity is the host agent's guest identity).</param>
/// <param name="HostKeySha256">The guest's pinned host key fingerprint (<c>SHA256:…</c>); null accepts none but a configured one.</param>
public sealed record GuestSshTarget(string Address, int Port, string User, string? HostKeySha256);

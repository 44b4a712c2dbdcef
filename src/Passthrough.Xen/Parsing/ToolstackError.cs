using System.Text.RegularExpressions;
using Passthrough.Contracts.Pci;

namespace Passthrough.Xen.Parsing;

/// <summary>Why a toolstack operation failed, as far as its message tells.</summary>
public enum ToolstackErrorCause
{
    /// <summary>Not recognised: report the original text.</summary>
    Unknown = 0,

    /// <summary>No IOMMU (VT-d / AMD-Vi off or absent): <c>IOMMU unavailable</c>, <c>IOMMU requested but not available</c>.</summary>
    IommuOff,

    /// <summary>Xen refused the device because it shares an RMRR: <c>[VT-D] It's disallowed to assign … with shared RMRR</c>.</summary>
    Rmrr,

    /// <summary>
    /// xenopsd's <c>Device.PCI.Cannot_add(…)</c> alone: the IOMMU is off or the device shares an RMRR; the message does
    /// not say which (the hypervisor log does).
    /// </summary>
    DeviceCannotBeAdded,

    /// <summary>pciback is not loaded in dom0: <c>pciback has not loaded</c>, <c>Looks like pciback driver not loaded</c>.</summary>
    PcibackNotLoaded,

    /// <summary><c>HOST_NOT_DISABLED</c>: a host reboot needs <c>xe host-disable</c> first.</summary>
    HostNotDisabled,

    /// <summary><c>VM_HAS_PCI_ATTACHED</c>: no suspend, checkpoint or migration with a passed-through device.</summary>
    VmHasPciAttached,

    /// <summary><c>BOOT_DEVICE_PASSTHROUGH_DISALLOWED</c>: the device backs dom0's boot disk.</summary>
    BootDevice,

    /// <summary>The dom0 hide list is malformed: <c>xen_pciback: Error parsing pci_devs_to_hide</c>, xapi's <c>scanf: bad input at char number N</c>.</summary>
    MalformedHideList,

    /// <summary>xapi is still starting: <c>The host toolstack is still initialising</c> (<c>HOST_STILL_BOOTING</c>).</summary>
    ToolstackInitialising,

    /// <summary>xapi is not listening: <c>Connection refused</c>.</summary>
    ConnectionRefused,

    /// <summary><c>HOST_IN_USE</c>.</summary>
    HostInUse,

    /// <summary><c>VM_PCI_BUS_FULL</c>: the VM has no free PCI slot.</summary>
    VmPciBusFull,

    /// <summary><c>timed out waiting for pending transaction: performing function level reset anyway</c>.</summary>
    FlrTimeout,

    /// <summary><c>The kernel doesn't support reset from sysfs for PCI device …</c>: no usable function-level reset.</summary>
    NoFlr,

    /// <summary><c>Unknown command</c>: the host's xapi lacks the command (the <c>xe pci-*</c> commands need xapi ≥ 24.14).</summary>
    UnknownCommand,
}

/// <summary>
/// A toolstack failure as reported to the operator: the original text, a cause and an actionable hint, and the PCI
/// functions the text names (e.g. from <c>Cannot_add(0000:00:1d.0, …)</c>).
/// </summary>
/// <param name="OriginalText">The message exactly as received.</param>
/// <param name="Cause">The recognised cause; <see cref="ToolstackErrorCause.Unknown"/> when none matched.</param>
/// <param name="FixHint">What the operator should do next.</param>
/// <param name="Devices">Full-form PCI addresses found in the text, in order, without duplicates (often empty).</param>
public sealed partial record ToolstackError(string OriginalText, ToolstackErrorCause Cause, string FixHint, IReadOnlyList<PciAddress> Devices)
{
    // Most specific first: a text that carries both a root cause and its symptom (a malformed hide list, then "pciback
    // driver not loaded"; a Cannot_add, then the hypervisor's RMRR line) is classified by the root cause.
    private static readonly (ToolstackErrorCause Cause, string[] Needles)[] Rules =
    [
        (ToolstackErrorCause.Rmrr, ["with shared RMRR", "shared RMRR at"]),
        (ToolstackErrorCause.IommuOff, ["IOMMU unavailable", "IOMMU requested but not available", "I/O virtualisation disabled"]),
        (ToolstackErrorCause.MalformedHideList, ["Error parsing pci_devs_to_hide", "scanf: bad input"]),
        (ToolstackErrorCause.PcibackNotLoaded, ["pciback has not loaded", "pciback driver not loaded"]),
        (ToolstackErrorCause.DeviceCannotBeAdded, ["Cannot_add"]),
        (ToolstackErrorCause.BootDevice, ["BOOT_DEVICE_PASSTHROUGH_DISALLOWED", "device backing a boot disk is disallowed"]),
        (ToolstackErrorCause.VmHasPciAttached, ["VM_HAS_PCI_ATTACHED", "has one or more PCI devices passed through"]),
        (ToolstackErrorCause.VmPciBusFull, ["VM_PCI_BUS_FULL", "does not have any free PCI slots"]),
        (ToolstackErrorCause.HostNotDisabled, ["HOST_NOT_DISABLED", "the host is not disabled"]),
        (ToolstackErrorCause.HostInUse, ["HOST_IN_USE", "the host is in use by"]),
        (ToolstackErrorCause.FlrTimeout, ["timed out waiting for pending transaction"]),
        (ToolstackErrorCause.NoFlr, ["doesn't support reset from sysfs"]),
        (ToolstackErrorCause.ToolstackInitialising, ["toolstack is still initialising", "HOST_STILL_BOOTING"]),
        (ToolstackErrorCause.ConnectionRefused, ["Connection refused"]),
        (ToolstackErrorCause.UnknownCommand, ["Unknown command"]),
    ];

    /// <summary>Classifies a toolstack message (xe stderr, an API error, a log line). Never throws on content; any text is accepted.</summary>
    public static ToolstackError Classify(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var cause = ToolstackErrorCause.Unknown;
        foreach (var (candidate, needles) in Rules)
        {
            if (needles.Any(needle => text.Contains(needle, StringComparison.OrdinalIgnoreCase)))
            {
                cause = candidate;
                break;
            }
        }

        var devices = new List<PciAddress>();
        foreach (Match match in FullFormAddress().Matches(text))
        {
            if (PciAddress.TryParse(match.Value, out var address, out _) && !devices.Contains(address))
            {
                devices.Add(address);
            }
        }

        return new ToolstackError(text, cause, HintFor(cause), devices.AsReadOnly());
    }

    /// <summary>The operator hint for <paramref name="cause"/>.</summary>
    public static string HintFor(ToolstackErrorCause cause) => cause switch
    {
        ToolstackErrorCause.IommuOff =>
            "Enable VT-d (Intel) or AMD-Vi/IOMMU (AMD) in the BIOS/UEFI setup, reboot the host, and check `xl dmesg | grep 'I/O virtualisation'` says 'enabled'. From Xen 4.13 passthrough needs an IOMMU for PV and HVM guests alike.",
        ToolstackErrorCause.Rmrr =>
            "Xen refuses the device because it shares an RMRR (reserved memory region) with another device. Move the card to another slot, pass through every device sharing that RMRR together, or upgrade to XCP-ng 8.3 (Xen 4.17), which lifts the restriction for most hardware. Details: /var/log/xen/hypervisor.log, line '[VT-D] ... shared RMRR'.",
        ToolstackErrorCause.DeviceCannotBeAdded =>
            "xenopsd could not add the device to the domain: either the IOMMU is off or the device shares an RMRR. Check `xl dmesg | grep 'I/O virtualisation'` (must say enabled) and /var/log/xen/hypervisor.log for \"[VT-D] ... shared RMRR\".",
        ToolstackErrorCause.PcibackNotLoaded =>
            "pciback is not loaded in dom0, so nothing can be detached or assigned. Check `dmesg | grep -i pciback`; a malformed hide list stops it loading: check `/opt/xensource/libexec/xen-cmdline --get-dom0 xen-pciback.hide` prints only full-form entries (0000:BB:DD.F).",
        ToolstackErrorCause.HostNotDisabled =>
            "Disable the host first (`xe host-disable uuid=<host>`), shut down or evacuate its VMs, then reboot it; run `xe host-enable uuid=<host>` once it is back.",
        ToolstackErrorCause.VmHasPciAttached =>
            "A VM with a passed-through device cannot suspend, checkpoint or migrate. Shut it down instead, or remove other-config:pci while it is halted before migrating.",
        ToolstackErrorCause.BootDevice =>
            "The device backs dom0's boot disk; hiding it would leave the host without its root filesystem at reboot. Choose another device.",
        ToolstackErrorCause.MalformedHideList =>
            "The dom0 hide list (xen-pciback.hide) is malformed. Rewrite it in the full form `(0000:BB:DD.F)(...)` with `/opt/xensource/libexec/xen-cmdline --set-dom0 \"xen-pciback.hide=(...)\"` (or `--delete-dom0 xen-pciback.hide`), then reboot the host.",
        ToolstackErrorCause.ToolstackInitialising =>
            "xapi is still starting: wait and retry. If it never finishes, read /var/log/xensource.log; a malformed xen-pciback.hide ('scanf: bad input') keeps xapi from starting.",
        ToolstackErrorCause.ConnectionRefused =>
            "xapi is not accepting connections. Check `systemctl status xapi` and /var/log/xensource.log; after a reboot, a malformed xen-pciback.hide can keep it from starting.",
        ToolstackErrorCause.HostInUse =>
            "The host is in use by the object named in the error; release it (shut down the VMs or unplug what uses it) and retry.",
        ToolstackErrorCause.VmPciBusFull =>
            "The VM has no free PCI slot: remove another passed-through or emulated device from it before adding this one.",
        ToolstackErrorCause.FlrTimeout =>
            "The device still had transactions pending when pciback reset it; usually harmless. If it then misbehaves, stop the guest's driver cleanly before detaching, or reboot the host to reset it.",
        ToolstackErrorCause.NoFlr =>
            "The device offers no function-level reset dom0 can trigger, so it is not reset between VMs. Pass through all its functions together (allowing a bus reset), or reboot the host before giving it to another VM.",
        ToolstackErrorCause.UnknownCommand =>
            "This host's xapi lacks the command (the `xe pci-*` commands need xapi 24.14 or newer): use sysfs, `lspci` and xen-cmdline instead.",
        _ =>
            "Unrecognised toolstack error: read the original text, and /var/log/xensource.log on the host.",
    };

    [GeneratedRegex(@"(?<![0-9A-Fa-f:])[0-9A-Fa-f]{4}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-7](?![0-9A-Fa-f])", RegexOptions.CultureInvariant)]
    private static partial Regex FullFormAddress();
}

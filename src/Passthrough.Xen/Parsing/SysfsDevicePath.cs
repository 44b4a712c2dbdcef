using Passthrough.Contracts.Pci;

namespace Passthrough.Xen.Parsing;

/// <summary>The source of dom0's root filesystem as <c>findmnt -no SOURCE /</c> prints it.</summary>
/// <param name="Source">The device, e.g. <c>/dev/sda1</c>, <c>/dev/mapper/…</c>, <c>/dev/md127</c>; or a pseudo source such as <c>rootfs</c>.</param>
/// <param name="Subvolume">The bracketed part findmnt appends for btrfs subvolumes and bind mounts (<c>/dev/sda2[/@]</c> → <c>/@</c>); null when none.</param>
public sealed record RootSource(string Source, string? Subvolume)
{
    /// <summary>True when <see cref="Source"/> is a device node under <c>/dev/</c> (something <c>udevadm info --name=</c> can resolve).</summary>
    public bool IsDeviceNode => Source.StartsWith("/dev/", StringComparison.Ordinal);

    /// <summary>
    /// True for device-mapper and md devices (<c>/dev/mapper/…</c>, <c>/dev/dm-N</c>, <c>/dev/md…</c>): their sysfs path is
    /// virtual; the caller must resolve the underlying devices (<c>/sys/block/dm-N/slaves/</c>) and check each.
    /// </summary>
    public bool IsStacked =>
        Source.StartsWith("/dev/mapper/", StringComparison.Ordinal) ||
        Source.StartsWith("/dev/dm-", StringComparison.Ordinal) ||
        Source.StartsWith("/dev/md", StringComparison.Ordinal);
}

/// <summary>
/// Finds the PCI function behind a device, to refuse passing through dom0's root disk controller or management NIC:
/// <c>findmnt -no SOURCE /</c> → <c>udevadm info --query=path --name=/dev/sda1</c> →
/// <c>/devices/pci0000:00/0000:00:17.0/ata1/host0/…/block/sda/sda1</c> → <c>0000:00:17.0</c>; and
/// <c>readlink -f /sys/class/net/eth0/device</c> → <c>/sys/devices/pci0000:00/0000:00:19.0</c> → <c>0000:00:19.0</c>.
/// </summary>
public static class SysfsDevicePath
{
    /// <summary>Reads <c>findmnt -no SOURCE /</c>.</summary>
    /// <exception cref="XenParseException">Empty output, or several sources (mounts stacked on /): refused rather than guessed.</exception>
    public static RootSource ParseFindmntSource(string text)
    {
        const string subject = "findmnt -no SOURCE / output";
        var lines = OutputText.Lines(text).Where(l => l.Trim().Length > 0).ToList();
        if (lines.Count != 1)
        {
            throw new XenParseException(subject, lines.Count == 0 ? "no source printed" : $"expected one source, found {lines.Count}", lines.Count == 0 ? null : string.Join('\n', lines));
        }

        var source = lines[0].Trim();
        string? subvolume = null;
        var bracket = source.IndexOf('[', StringComparison.Ordinal);
        if (bracket > 0 && source.EndsWith(']'))
        {
            subvolume = source[(bracket + 1)..^1];
            source = source[..bracket];
        }

        return new RootSource(source, subvolume);
    }

    /// <summary>Reads <c>udevadm info --query=path --name=…</c> (a path under <c>/devices/</c>) and returns its PCI function.</summary>
    /// <returns>The function, or null when the device is not on PCI (virtual, device-mapper, Xen vbd…).</returns>
    /// <exception cref="XenParseException">The output is not a <c>/devices/…</c> path.</exception>
    public static PciAddress? ParseUdevadmPath(string text)
    {
        var path = OutputText.StripFinalNewline(text).Trim();
        return path.StartsWith("/devices/", StringComparison.Ordinal) && !path.Contains('\n', StringComparison.Ordinal)
            ? FindPciAddress(path)
            : throw new XenParseException("udevadm info --query=path output", "expected one path starting with /devices/", path);
    }

    /// <summary>
    /// The PCI function a sysfs device path hangs off: the last component of the PCI chain that starts the path
    /// (<c>/devices/pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/nvme0/nvme0n1/nvme0n1p2</c> → <c>0000:3d:00.0</c>, the
    /// device behind the bridge <c>0000:00:1d.0</c>). The chain ends at the first non-PCI component, so anything further
    /// down (USB, SCSI targets such as <c>0:0:0:0</c>, or a VMD sub-domain <c>pci10000:e0</c>, whose controller is then the
    /// answer) does not count. Accepts <c>/devices/…</c>, <c>/sys/devices/…</c> and surrounding whitespace.
    /// </summary>
    /// <returns>The function, or null when the path has no PCI component (virtual devices, <c>/devices/vbd-51712</c>…).</returns>
    public static PciAddress? FindPciAddress(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        PciAddress? last = null;
        foreach (var component in path.Trim().Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (PciAddress.IsFullForm(component))
            {
                last = PciAddress.Parse(component);
            }
            else if (last is not null)
            {
                break;
            }
        }

        return last;
    }
}

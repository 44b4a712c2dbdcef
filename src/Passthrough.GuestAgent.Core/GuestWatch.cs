using Passthrough.Contracts.Pci;
using Passthrough.Guest;

namespace Passthrough.GuestAgent;

/// <summary>A PCI function as the fault watch sees it.</summary>
/// <param name="Id">Vendor:device, when readable.</param>
/// <param name="Driver">The bound driver, or null.</param>
public readonly record struct WatchedDevice(PciDeviceId? Id, string? Driver);

/// <summary>The few facts the fault watch compares from one look to the next.</summary>
/// <param name="PcifrontDriver"><c>/sys/bus/xen/drivers/pcifront</c> exists.</param>
/// <param name="PcifrontDevice"><c>/sys/bus/xen/devices/pci-0</c> exists.</param>
/// <param name="Devices">Every PCI function visible now, by guest address.</param>
public sealed record GuestSnapshot(bool PcifrontDriver, bool PcifrontDevice, IReadOnlyDictionary<PciAddress, WatchedDevice> Devices)
{
    /// <summary>The frontend is up: driver registered and device <c>pci-0</c> present.</summary>
    public bool PcifrontActive => PcifrontDriver && PcifrontDevice;

    /// <summary>The snapshot of a full probe report.</summary>
    public static GuestSnapshot From(GuestReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var devices = new Dictionary<PciAddress, WatchedDevice>();
        foreach (var device in report.Devices)
        {
            devices[device.Address] = new WatchedDevice(device.Id, device.Driver);
        }

        return new GuestSnapshot(report.Pcifront.DriverRegistered, report.Pcifront.FrontendDevice, devices);
    }
}

/// <summary>
/// Looks cheaply at what can fault, several times a second: the pcifront driver and device, the PCI functions and their
/// drivers. A full <see cref="IGuestProbe"/> reads the modules files and the kernel log, too much to repeat every 250 ms.
/// </summary>
public interface IGuestWatch
{
    /// <summary>Looks now. Throws only when the guest cannot be looked at (the caller retries at the next tick).</summary>
    Task<GuestSnapshot> SnapshotAsync(CancellationToken cancellationToken);
}

/// <summary>
/// A watch that runs the full probe: for probes without a cheaper view (Windows PnP, where each look is a PowerShell
/// run). Looks closer together than <see cref="MinimumInterval"/> get the previous answer, so a fast fault watch does
/// not keep a probe process running all the time.
/// </summary>
public sealed class ProbeGuestWatch : IGuestWatch
{
    private readonly IGuestProbe _probe;
    private readonly TimeProvider _time;
    private GuestSnapshot? _last;
    private long _lastAt;

    /// <summary>Creates a watch over <paramref name="probe"/>.</summary>
    /// <param name="probe">The full probe.</param>
    /// <param name="minimumInterval">The shortest time between two probes; default zero (probe at every look).</param>
    /// <param name="timeProvider">The clock; default <see cref="TimeProvider.System"/>.</param>
    public ProbeGuestWatch(IGuestProbe probe, TimeSpan minimumInterval = default, TimeProvider? timeProvider = null)
    {
        _probe = probe ?? throw new ArgumentNullException(nameof(probe));
        MinimumInterval = minimumInterval;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The shortest time between two probes.</summary>
    public TimeSpan MinimumInterval { get; }

    /// <inheritdoc />
    public async Task<GuestSnapshot> SnapshotAsync(CancellationToken cancellationToken)
    {
        if (_last is { } last && _time.GetElapsedTime(_lastAt) < MinimumInterval)
        {
            return last;
        }

        var snapshot = GuestSnapshot.From(await _probe.ProbeAsync(cancellationToken).ConfigureAwait(false));
        _last = snapshot;
        _lastAt = _time.GetTimestamp();
        return snapshot;
    }
}

/// <summary>
/// The Linux watch over an <see cref="IGuestFileSystem"/>: per look, two existence checks, one listing of
/// <c>/sys/bus/pci/devices</c> and one <c>driver</c> link per function; vendor and device are read once per newly seen
/// function (sysfs ids of a function do not change while it exists).
/// </summary>
public sealed class LinuxGuestWatch(IGuestFileSystem fileSystem) : IGuestWatch
{
    private readonly IGuestFileSystem _fileSystem = fileSystem ?? throw new ArgumentNullException(nameof(fileSystem));
    private readonly Dictionary<PciAddress, PciDeviceId?> _ids = [];
    private readonly Lock _gate = new();

    /// <inheritdoc />
    public async Task<GuestSnapshot> SnapshotAsync(CancellationToken cancellationToken)
    {
        var fs = _fileSystem;
        var existing = await fs.ExistingAsync([GuestPaths.PcifrontDriver, GuestPaths.PcifrontDevice], cancellationToken).ConfigureAwait(false);
        var names = await fs.ListDirectoryAsync(GuestPaths.PciDevices, cancellationToken).ConfigureAwait(false) ?? [];
        var addresses = new List<PciAddress>(names.Count);
        foreach (var name in names)
        {
            if (PciAddress.IsFullForm(name) && PciAddress.TryParse(name, out var address, out _))
            {
                addresses.Add(address);
            }
        }

        var links = addresses.Count == 0
            ? new Dictionary<string, string?>()
            : await fs.ReadLinksAsync([.. addresses.Select(GuestPaths.PciDriverLink)], cancellationToken).ConfigureAwait(false);

        List<PciAddress> unknown;
        lock (_gate)
        {
            foreach (var gone in _ids.Keys.Where(a => !addresses.Contains(a)).ToList())
            {
                _ids.Remove(gone);
            }

            unknown = [.. addresses.Where(a => !_ids.ContainsKey(a))];
        }

        var learned = new Dictionary<PciAddress, PciDeviceId?>();
        if (unknown.Count > 0)
        {
            var paths = unknown.SelectMany(a => new[] { GuestPaths.PciAttribute(a, "vendor"), GuestPaths.PciAttribute(a, "device") }).ToList();
            var texts = await fs.ReadTextsAsync(paths, cancellationToken).ConfigureAwait(false);
            foreach (var address in unknown)
            {
                learned[address] = ReadId(texts.GetValueOrDefault(GuestPaths.PciAttribute(address, "vendor")), texts.GetValueOrDefault(GuestPaths.PciAttribute(address, "device")));
            }
        }

        var devices = new Dictionary<PciAddress, WatchedDevice>(addresses.Count);
        lock (_gate)
        {
            foreach (var (address, id) in learned)
            {
                // An id that could not be read now is read again at the next look.
                if (id is not null)
                {
                    _ids[address] = id;
                }
            }

            foreach (var address in addresses)
            {
                var id = _ids.GetValueOrDefault(address) ?? learned.GetValueOrDefault(address);
                devices[address] = new WatchedDevice(id, SysfsDriver.Name(links.GetValueOrDefault(GuestPaths.PciDriverLink(address))));
            }
        }

        return new GuestSnapshot(existing.Contains(GuestPaths.PcifrontDriver), existing.Contains(GuestPaths.PcifrontDevice), devices);
    }

    private static PciDeviceId? ReadId(string? vendor, string? device)
    {
        if (vendor is null || device is null)
        {
            return null;
        }

        try
        {
            return PciDeviceId.Create(PciDeviceId.ParseSysfsHex16(vendor), PciDeviceId.ParseSysfsHex16(device));
        }
        catch (FormatException)
        {
            return null;
        }
    }
}

/// <summary>The driver name in a sysfs <c>driver</c> link.</summary>
internal static class SysfsDriver
{
    // "../../../bus/pci/drivers/ehci-pci" → "ehci-pci"; a link that does not end in drivers/NAME is no driver. The same
    // rule as the probe's, so the watch and the probe never disagree on whether a function is bound.
    public static string? Name(string? linkTarget)
    {
        var path = linkTarget?.Trim().TrimEnd('/');
        if (string.IsNullOrEmpty(path))
        {
            return null;
        }

        var slash = path.LastIndexOf('/');
        var name = path[(slash + 1)..];
        var parent = slash < 0 ? string.Empty : path[..slash];
        return name.Length > 0 && name is not ("." or "..") && (parent.EndsWith("/drivers", StringComparison.Ordinal) || parent == "drivers")
            ? name
            : null;
    }
}

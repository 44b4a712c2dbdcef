using Passthrough.Contracts.GuestEvents;
using Passthrough.Contracts.Ids;

namespace Passthrough.GuestAgent;

/// <summary>Compares two looks at a guest and names what was lost between them.</summary>
public static class GuestFaults
{
    /// <summary>
    /// The faults between <paramref name="previous"/> and <paramref name="current"/>: the frontend was active and is not
    /// (<see cref="GuestFaultKind.PcifrontGone"/>); a function seen before is gone (<see cref="GuestFaultKind.DeviceVanished"/>);
    /// a function that had a driver has none (<see cref="GuestFaultKind.DriverUnbound"/>). A function that comes back, or
    /// a frontend that returns, is watched again from then on; gains are not faults.
    /// </summary>
    public static IReadOnlyList<GuestFaultDetected> Detect(GuestSnapshot previous, GuestSnapshot current, VmId vm, string bootId, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(previous);
        ArgumentNullException.ThrowIfNull(current);
        var faults = new List<GuestFaultDetected>();
        if (previous.PcifrontActive && !current.PcifrontActive)
        {
            var missing = (current.PcifrontDriver, current.PcifrontDevice) switch
            {
                (false, false) => "the pcifront driver (/sys/bus/xen/drivers/pcifront) and the frontend device pci-0 are gone",
                (false, true) => "the pcifront driver (/sys/bus/xen/drivers/pcifront) is gone",
                _ => "the PCI frontend device pci-0 (/sys/bus/xen/devices/pci-0) is gone",
            };
            faults.Add(new GuestFaultDetected(vm, bootId, GuestFaultKind.PcifrontGone, null, missing, at));
        }

        foreach (var (address, before) in previous.Devices.OrderBy(d => d.Key))
        {
            if (!current.Devices.TryGetValue(address, out var now))
            {
                faults.Add(new GuestFaultDetected(
                    vm, bootId, GuestFaultKind.DeviceVanished, before.Id,
                    $"PCI function {address} ({Describe(before)}) is no longer visible in the guest", at));
            }
            else if (now.Id is { } id && before.Id is { } was && id != was)
            {
                // Another function took the address (a frontend reset re-enumerated the bus): the one we had is gone.
                faults.Add(new GuestFaultDetected(
                    vm, bootId, GuestFaultKind.DeviceVanished, was,
                    $"PCI function {address} was {was} and is now {id}", at));
            }
            else if (before.Driver is not null && now.Driver is null)
            {
                faults.Add(new GuestFaultDetected(
                    vm, bootId, GuestFaultKind.DriverUnbound, now.Id ?? before.Id,
                    $"PCI function {address} ({Describe(now.Id is null ? before : now)}) lost its driver {before.Driver}", at));
            }
        }

        return faults.AsReadOnly();
    }

    private static string Describe(WatchedDevice device) => device.Id?.ToString() ?? "ids unreadable";
}

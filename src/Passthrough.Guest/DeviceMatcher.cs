using Passthrough.Contracts.Messaging;

namespace Passthrough.Guest;

/// <summary>How one expected device fared in a guest.</summary>
/// <param name="Expected">The expectation.</param>
/// <param name="Device">The guest function matched to it, or null when none matched.</param>
/// <param name="Present">A function with the expected ids (and subsystem, when given) is visible.</param>
/// <param name="Bound">That function has a driver bound.</param>
/// <param name="DriverOk">Present, and bound to the named driver when the expectation names one.</param>
public sealed record DeviceMatch(ExpectedDevice Expected, GuestPciDevice? Device, bool Present, bool Bound, bool DriverOk);

/// <summary>
/// Finds expected devices in a guest by vendor:device (and subsystem when the expectation gives one), never by address:
/// in vpci mode a PV guest sees its first passed-through function at <c>0000:00:00.0</c> whatever its host BDF, while
/// passthrough mode keeps the host BDF, and HVM guests put it on the emulated bus.
/// </summary>
public static class DeviceMatcher
{
    /// <summary>
    /// Matches each expectation, in order, to a distinct guest function: two expectations of the same ids need two such
    /// functions. Among candidates, one bound to the named driver is preferred, then any bound one, then the lowest address.
    /// </summary>
    public static IReadOnlyList<DeviceMatch> Match(GuestReport report, IReadOnlyList<ExpectedDevice> expected)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(expected);
        var taken = new HashSet<GuestPciDevice>(ReferenceEqualityComparer.Instance);
        var matches = new List<DeviceMatch>(expected.Count);
        foreach (var expectation in expected)
        {
            ArgumentNullException.ThrowIfNull(expectation);
            var device = report.Devices
                .Where(d => !taken.Contains(d) && d.Id == expectation.Id && (expectation.Subsystem is not { } subsystem || d.Subsystem == subsystem))
                .OrderByDescending(d => expectation.Driver is not null && SameDriver(d.Driver, expectation.Driver))
                .ThenByDescending(d => d.Driver is not null)
                .ThenBy(d => d.Address)
                .FirstOrDefault();
            if (device is not null)
            {
                taken.Add(device);
            }

            var bound = device?.Driver is not null;
            var driverOk = device is not null && (expectation.Driver is null || SameDriver(device.Driver, expectation.Driver));
            matches.Add(new DeviceMatch(expectation, device, device is not null, bound, driverOk));
        }

        return matches.AsReadOnly();
    }

    /// <summary>
    /// Driver names compare ordinally except that <c>-</c> and <c>_</c> are the same, as the kernel treats them in module
    /// names (<c>ehci-pci</c> / <c>ehci_pci</c>).
    /// </summary>
    public static bool SameDriver(string? bound, string expected)
    {
        ArgumentNullException.ThrowIfNull(expected);
        return bound is not null && string.Equals(bound.Replace('-', '_'), expected.Replace('-', '_'), StringComparison.Ordinal);
    }
}

using Passthrough.Contracts.GuestEvents;
using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Pci;

namespace Passthrough.GuestAgent.Tests;

public sealed class GuestFaultsTests
{
    private static readonly VmId Vm = VmId.Parse("740e9485-8e1a-da89-2561-d75bcede3fc9");
    private static readonly DateTimeOffset At = new(2026, 1, 5, 9, 0, 0, TimeSpan.Zero);
    private static readonly PciAddress A = PciAddress.Parse("0000:00:00.0");
    private static readonly PciAddress B = PciAddress.Parse("0000:00:00.1");
    private static readonly PciDeviceId Ehci = PciDeviceId.Parse("8086:1e2d");
    private static readonly PciDeviceId Xhci = PciDeviceId.Parse("8086:1e31");

    private static GuestSnapshot Snapshot(bool driver, bool device, params (PciAddress Address, PciDeviceId? Id, string? Driver)[] functions) =>
        new(driver, device, functions.ToDictionary(f => f.Address, f => new WatchedDevice(f.Id, f.Driver)));

    private static IReadOnlyList<GuestFaultDetected> Detect(GuestSnapshot before, GuestSnapshot after) => GuestFaults.Detect(before, after, Vm, "boot", At);

    [Fact]
    public void Nothing_lost_is_no_fault_and_gains_are_not_faults()
    {
        var before = Snapshot(false, false, (A, Ehci, null));
        var after = Snapshot(true, true, (A, Ehci, "ehci-pci"), (B, Xhci, "xhci_hcd"));

        Assert.Empty(Detect(before, after));
        Assert.Empty(Detect(after, after));
    }

    [Theory]
    [InlineData(false, true, "driver (/sys/bus/xen/drivers/pcifront) is gone")]
    [InlineData(true, false, "device pci-0")]
    [InlineData(false, false, "driver (/sys/bus/xen/drivers/pcifront) and the frontend device pci-0 are gone")]
    public void Pcifront_gone_names_what_went(bool driver, bool device, string detail)
    {
        var fault = Assert.Single(Detect(Snapshot(true, true), Snapshot(driver, device)));

        Assert.Equal(new GuestFaultDetected(Vm, "boot", GuestFaultKind.PcifrontGone, null, fault.Detail, At), fault);
        Assert.Contains(detail, fault.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Pcifront_that_was_never_active_cannot_be_lost()
    {
        Assert.Empty(Detect(Snapshot(true, false), Snapshot(false, false)));
    }

    [Fact]
    public void A_vanished_function_and_a_lost_driver_are_reported_with_their_ids()
    {
        var before = Snapshot(true, true, (A, Ehci, "ehci-pci"), (B, Xhci, "xhci_hcd"));
        var after = Snapshot(true, true, (B, Xhci, null));

        var faults = Detect(before, after);

        Assert.Equal([(GuestFaultKind.DeviceVanished, (PciDeviceId?)Ehci), (GuestFaultKind.DriverUnbound, Xhci)], faults.Select(f => (f.Kind, f.Device)));
        Assert.Contains("0000:00:00.0 (8086:1e2d) is no longer visible", faults[0].Detail, StringComparison.Ordinal);
        Assert.Contains("lost its driver xhci_hcd", faults[1].Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Another_function_at_the_same_address_means_the_first_vanished()
    {
        var fault = Assert.Single(Detect(Snapshot(true, true, (A, Ehci, "ehci-pci")), Snapshot(true, true, (A, Xhci, "xhci_hcd"))));

        Assert.Equal(GuestFaultKind.DeviceVanished, fault.Kind);
        Assert.Equal(Ehci, fault.Device);
    }

    [Fact]
    public void A_function_that_never_had_a_driver_cannot_lose_one()
    {
        Assert.Empty(Detect(Snapshot(true, true, (A, Ehci, null)), Snapshot(true, true, (A, Ehci, null))));
    }
}

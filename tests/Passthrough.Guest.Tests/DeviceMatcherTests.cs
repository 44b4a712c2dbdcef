using Passthrough.Contracts.Messaging;
using Passthrough.Contracts.Pci;

namespace Passthrough.Guest.Tests;

public sealed class DeviceMatcherTests
{
    private static readonly PciDeviceId Ehci = PciDeviceId.Parse("8086:293a");
    private static readonly PciDeviceId Uhci = PciDeviceId.Parse("8086:2934");
    private static readonly PciDeviceId Nic = PciDeviceId.Parse("8086:10d3");

    internal static GuestReport Report(GuestType type, PcifrontState pcifront, params GuestPciDevice[] devices) =>
        new(
            GuestOs.Linux,
            true,
            type,
            "3.2.0-4-amd64",
            null,
            new PcifrontReport(pcifront, PcifrontModule.Loaded, pcifront == PcifrontState.Active, pcifront == PcifrontState.Active),
            devices,
            [],
            []);

    internal static GuestPciDevice Device(string bdf, PciDeviceId id, string? driver = null, string? subsystem = null, string pciClass = "0c0320") =>
        new(PciAddress.Parse(bdf), id, subsystem is null ? null : PciDeviceId.Parse(subsystem), PciClass.Parse(pciClass), driver);

    [Fact]
    public void A_device_is_found_by_vendor_device_at_the_vpci_address_whatever_its_host_bdf()
    {
        var report = Report(GuestType.PV, PcifrontState.Active, Device("0000:00:00.2", Ehci, "ehci_hcd"));

        var match = Assert.Single(DeviceMatcher.Match(report, [new ExpectedDevice(Ehci)]));

        Assert.True(match.Present);
        Assert.True(match.Bound);
        Assert.True(match.DriverOk);
        Assert.Equal(PciAddress.Parse("0000:00:00.2"), match.Device!.Address);
    }

    [Fact]
    public void A_device_at_the_expected_host_bdf_with_other_ids_is_not_the_device()
    {
        // The host BDF of the EHCI controller was 0000:00:1d.7; whatever sits there in the guest is something else.
        var report = Report(GuestType.HVM, PcifrontState.NotApplicable, Device("0000:00:1d.7", Nic, "e1000e"));

        var match = Assert.Single(DeviceMatcher.Match(report, [new ExpectedDevice(Ehci)]));

        Assert.False(match.Present);
        Assert.Null(match.Device);
        Assert.False(match.DriverOk);
    }

    [Fact]
    public void The_subsystem_must_match_when_the_expectation_names_one()
    {
        var report = Report(GuestType.HVM, PcifrontState.NotApplicable, Device("0000:00:05.0", Ehci, "ehci-pci", "1462:7360"));

        var matches = DeviceMatcher.Match(report, [
            new ExpectedDevice(Ehci, PciDeviceId.Parse("1462:7360")),
            new ExpectedDevice(Ehci, PciDeviceId.Parse("103c:3005")),
        ]);

        Assert.True(matches[0].Present);
        Assert.False(matches[1].Present);
    }

    [Fact]
    public void Two_expectations_of_the_same_ids_need_two_devices()
    {
        var report = Report(GuestType.PV, PcifrontState.Active, Device("0000:00:00.0", Nic, "e1000e", pciClass: "020000"));

        var matches = DeviceMatcher.Match(report, [new ExpectedDevice(Nic), new ExpectedDevice(Nic)]);

        Assert.True(matches[0].Present);
        Assert.False(matches[1].Present);
    }

    [Fact]
    public void Among_identical_devices_the_one_bound_to_the_named_driver_is_chosen()
    {
        var report = Report(
            GuestType.PV,
            PcifrontState.Active,
            Device("0000:00:00.0", Nic, null, pciClass: "020000"),
            Device("0000:00:00.1", Nic, "e1000e", pciClass: "020000"));

        var match = Assert.Single(DeviceMatcher.Match(report, [new ExpectedDevice(Nic, Driver: "e1000e")]));

        Assert.Equal(PciAddress.Parse("0000:00:00.1"), match.Device!.Address);
        Assert.True(match.DriverOk);
    }

    [Fact]
    public void A_device_bound_to_another_driver_is_present_and_bound_but_not_driver_ok()
    {
        var report = Report(GuestType.PV, PcifrontState.Active, Device("0000:00:00.0", Uhci, "uhci_hcd", pciClass: "0c0300"));

        var match = Assert.Single(DeviceMatcher.Match(report, [new ExpectedDevice(Uhci, Driver: "ohci_hcd")]));

        Assert.True(match.Present);
        Assert.True(match.Bound);
        Assert.False(match.DriverOk);
    }

    [Theory]
    [InlineData("ehci-pci", "ehci_pci", true)]
    [InlineData("ehci_pci", "ehci-pci", true)]
    [InlineData("ehci-pci", "ehci-hcd", false)]
    [InlineData("EHCI-pci", "ehci-pci", false)]
    [InlineData(null, "ehci-pci", false)]
    public void Driver_names_treat_dash_and_underscore_alike(string? bound, string expected, bool same)
    {
        Assert.Equal(same, DeviceMatcher.SameDriver(bound, expected));
    }
}

using Passthrough.Contracts.Pci;

namespace Passthrough.Guest.Tests;

public sealed class PcifrontDmesgTests
{
    [Fact]
    public void Fixture_pv_guest_shows_the_frontend_installed_with_its_bus()
    {
        var evidence = PcifrontDmesg.Parse(Fixture.Text("guest-dmesg-pcifront-vpci.txt"));

        Assert.True(evidence.FrontendInstalled);
        Assert.Equal(["0000:00"], evidence.FrontendBuses);
    }

    [Fact]
    public void Fixture_vpci_guest_sees_its_own_addresses_not_the_host_bdfs()
    {
        var evidence = PcifrontDmesg.Parse(Fixture.Text("guest-dmesg-pcifront-vpci.txt"));

        Assert.Equal([PciAddress.Parse("0000:00:00.2"), PciAddress.Parse("0000:00:00.0")], evidence.EnabledDevices);
    }

    [Fact]
    public void A_guest_without_pcifront_shows_no_evidence()
    {
        var evidence = PcifrontDmesg.Parse("[    0.195606] PCI: setting up Xen PCI frontend stub\n[    0.198612] PCI: System does not support PCI\n");

        Assert.False(evidence.FrontendInstalled);
        Assert.Empty(evidence.FrontendBuses);
        Assert.Empty(evidence.EnabledDevices);
    }

    [Fact]
    public void Selecting_lines_keeps_the_frontend_and_enabling_lines_and_drops_the_drivers_own()
    {
        var lines = PcifrontDmesg.SelectLines(Fixture.Text("guest-dmesg-pcifront-vpci.txt"));

        Assert.Equal(
            [
                "[    0.195606] PCI: setting up Xen PCI frontend stub",
                "[    0.198612] PCI: System does not support PCI",
                "[    0.199048] pcifront pci-0: Installing PCI frontend",
                "[    0.199125] pcifront pci-0: Creating PCI Frontend Bus 0000:00",
                "[    1.877939] PCI: Enabling device 0000:00:00.2 (0000 -> 0002)",
                "[    1.991366] PCI: Enabling device 0000:00:00.0 (0000 -> 0001)",
            ],
            lines);
    }
}

using Passthrough.Contracts.Pci;
using Passthrough.Xen.Parsing;

namespace Passthrough.Xen.Tests;

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
}

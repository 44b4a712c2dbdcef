using Passthrough.Contracts.Pci;
using Passthrough.Xen.Parsing;

namespace Passthrough.Xen.Tests;

public sealed class SysfsPciTests
{
    [Fact]
    public void Id_files_read_as_a_vendor_device_pair()
    {
        Assert.Equal(PciDeviceId.Parse("10de:1188"), SysfsPci.ParseDeviceId("0x10de\n", "0x1188\n"));
        Assert.Equal(PciDeviceId.Parse("1028:06e4"), SysfsPci.ParseSubsystemId("0x1028\n", "0x06e4\n"));
    }

    [Fact]
    public void A_malformed_id_file_names_the_attribute_and_quotes_the_contents()
    {
        var ex = Assert.Throws<XenParseException>(() => SysfsPci.ParseId16("0x10de0\n", "subsystem_vendor"));

        Assert.Equal("sysfs subsystem_vendor", ex.Subject);
        Assert.Contains(@"'0x10de0\n'", ex.Message, StringComparison.Ordinal);
        Assert.IsType<FormatException>(ex.InnerException);
    }

    [Fact]
    public void The_class_file_keeps_the_programming_interface()
    {
        var pciClass = SysfsPci.ParseClass("0x0c0330\n");

        Assert.Equal(PciClass.Create(0x0c, 0x03, 0x30), pciClass);
        Assert.True(pciClass.IsUsbController);
    }

    [Theory]
    [InlineData("0x0c03\n")]
    [InlineData("usb\n")]
    [InlineData("")]
    public void A_class_file_without_six_digits_is_refused(string text)
    {
        Assert.Throws<XenParseException>(() => SysfsPci.ParseClass(text));
    }

    [Fact]
    public void The_revision_file_reads_as_a_byte()
    {
        Assert.Equal((byte)0xa1, SysfsPci.ParseRevision("0xa1\n"));
        Assert.Equal((byte)0x03, SysfsPci.ParseRevision("0x03\n"));
    }

    [Fact]
    public void A_revision_wider_than_a_byte_is_refused()
    {
        Assert.Throws<XenParseException>(() => SysfsPci.ParseRevision("0x1a1\n"));
    }

    [Theory]
    [InlineData("../../../bus/pci/drivers/ehci-pci\n", "ehci-pci")]
    [InlineData("../../../../bus/pci/drivers/pciback", "pciback")]
    [InlineData("/sys/bus/pci/drivers/xhci_hcd/", "xhci_hcd")]
    public void The_driver_is_the_last_component_of_the_link(string target, string expected)
    {
        Assert.Equal(expected, SysfsPci.DriverFromLink(target));
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n")]
    [InlineData("../../../devices/pci0000:00")]
    public void A_link_that_does_not_point_at_a_driver_is_refused(string target)
    {
        Assert.Throws<XenParseException>(() => SysfsPci.DriverFromLink(target));
    }

    [Fact]
    public void Detachment_is_proven_by_the_pciback_driver_name()
    {
        Assert.Equal(SysfsPci.PcibackDriver, SysfsPci.DriverFromLink("../../../bus/pci/drivers/pciback\n"));
    }
}

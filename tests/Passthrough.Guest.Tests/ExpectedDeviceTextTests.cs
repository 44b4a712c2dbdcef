using Passthrough.Contracts.Messaging;
using Passthrough.Contracts.Pci;

namespace Passthrough.Guest.Tests;

public sealed class ExpectedDeviceTextTests
{
    [Fact]
    public void Ids_alone_expect_any_subsystem_and_any_driver()
    {
        Assert.Equal(new ExpectedDevice(PciDeviceId.Parse("10de:1b81")), ExpectedDeviceText.Parse("10DE:1B81"));
    }

    [Fact]
    public void Subsystem_and_driver_are_optional_parts()
    {
        var device = ExpectedDeviceText.Parse("10de:1b81/1462:3301=nvidia");

        Assert.Equal(new ExpectedDevice(PciDeviceId.Parse("10de:1b81"), PciDeviceId.Parse("1462:3301"), "nvidia"), device);
        Assert.Equal("10de:1b81/1462:3301=nvidia", ExpectedDeviceText.Format(device));
        Assert.Equal("xhci_hcd", ExpectedDeviceText.Parse("1912:0014=xhci_hcd").Driver);
    }

    [Theory]
    [InlineData("10de")]
    [InlineData("10de:1b8")]
    [InlineData("0000:04:00.0")]
    [InlineData("10de:1b81=")]
    [InlineData("10de:1b81=nv idia")]
    [InlineData("10de:1b81=$(id)")]
    [InlineData("10de:1b81/1462")]
    public void Malformed_text_is_refused_with_the_form_in_the_message(string text)
    {
        var error = Assert.Throws<FormatException>(() => ExpectedDeviceText.Parse(text));

        Assert.Contains("VENDOR:DEVICE", error.Message, StringComparison.Ordinal);
    }
}

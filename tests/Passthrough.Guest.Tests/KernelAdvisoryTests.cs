using Passthrough.Contracts.Pci;

namespace Passthrough.Guest.Tests;

public sealed class KernelAdvisoryTests
{
    private static readonly PciClass Xhci = PciClass.Parse("0c0330");
    private static readonly PciClass Ethernet = PciClass.Parse("020000");

    [Theory]
    [InlineData("3.5", "3.5", true)]
    [InlineData("3.5", "3.5.7", true)]
    [InlineData("3.5", "3.5.0-17-generic", true)]
    [InlineData("3.5", "3.50.1", false)]
    [InlineData("3.5", "3.4.9", false)]
    [InlineData("3.5", "3", false)]
    [InlineData("3.5", "garbage", false)]
    [InlineData("3.5..3.6", "3.5.99", true)]
    [InlineData("3.5..3.6", "3.5", true)]
    [InlineData("3.5..3.6", "3.6.0", false)]
    [InlineData("3.5..3.6", "3.4.9", false)]
    [InlineData("2.6.32..3.3", "3.2.0-4-amd64", true)]
    public void Kernel_versions_match_by_whole_numeric_components(string spec, string release, bool matches)
    {
        var advisory = new KernelAdvisory(spec, "*", "text");

        Assert.Equal(matches, advisory.MatchesKernel(release));
    }

    [Theory]
    [InlineData("0c03", "0c0330", true)]
    [InlineData("0C03", "0c0320", true)]
    [InlineData("0x0c03", "0c0300", true)]
    [InlineData("0c03", "0c8000", false)]
    [InlineData("03", "030200", true)]
    [InlineData("0c0330", "0c0320", false)]
    [InlineData("*", "ff0000", true)]
    public void Class_hints_are_hex_prefixes_of_the_class_code(string hint, string pciClass, bool matches)
    {
        var advisory = new KernelAdvisory("3", hint, "text");

        Assert.Equal(matches, advisory.MatchesClass(PciClass.Parse(pciClass)));
    }

    [Fact]
    public void The_seeded_usb_advisory_applies_to_3_5_with_a_usb_controller_only()
    {
        Assert.Single(KernelAdvisories.Evaluate(KernelAdvisories.Default, "3.5.4", [Xhci]));
        Assert.Empty(KernelAdvisories.Evaluate(KernelAdvisories.Default, "3.5.4", [Ethernet]));
        Assert.Empty(KernelAdvisories.Evaluate(KernelAdvisories.Default, "3.5.4", []));
        Assert.Empty(KernelAdvisories.Evaluate(KernelAdvisories.Default, "3.4.9", [Xhci]));
        Assert.Empty(KernelAdvisories.Evaluate(KernelAdvisories.Default, "3.3.8", [Xhci]));
    }

    [Fact]
    public void A_class_independent_advisory_applies_without_devices()
    {
        var texts = KernelAdvisories.Evaluate([new KernelAdvisory("2.6", "", "Too old.")], "2.6.32-5-xen-amd64", []);

        Assert.Equal(["kernel 2.6.32-5-xen-amd64: Too old."], texts);
    }

    [Theory]
    [InlineData("3.x", "0c03")]
    [InlineData("", "0c03")]
    [InlineData("3.5..", "0c03")]
    [InlineData("3.5..3.6..3.7", "0c03")]
    [InlineData("3.5", "0c0")]
    [InlineData("3.5", "usb")]
    public void A_malformed_advisory_is_refused_when_configured(string version, string hint)
    {
        Assert.Throws<ArgumentException>(() => new KernelAdvisory(version, hint, "text"));
    }
}

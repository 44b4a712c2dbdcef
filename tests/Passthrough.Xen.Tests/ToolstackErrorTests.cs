using Passthrough.Contracts.Pci;
using Passthrough.Xen.Parsing;

namespace Passthrough.Xen.Tests;

public sealed class ToolstackErrorTests
{
    public static TheoryData<int, ToolstackErrorCause> FixtureLines => new()
    {
        { 0, ToolstackErrorCause.DeviceCannotBeAdded },
        { 1, ToolstackErrorCause.DeviceCannotBeAdded },
        { 2, ToolstackErrorCause.PcibackNotLoaded },
        { 3, ToolstackErrorCause.ToolstackInitialising },
        { 4, ToolstackErrorCause.ConnectionRefused },
    };

    [Theory]
    [MemberData(nameof(FixtureLines))]
    public void Every_fixture_message_is_recognised(int line, ToolstackErrorCause expected)
    {
        var text = Fixture.Lines("xe-errors.txt")[line];

        var error = ToolstackError.Classify(text);

        Assert.Equal(expected, error.Cause);
        Assert.Equal(text, error.OriginalText);
        Assert.Equal(ToolstackError.HintFor(expected), error.FixHint);
    }

    [Fact]
    public void The_fixture_covers_exactly_the_lines_tested()
    {
        Assert.Equal(FixtureLines.Count, Fixture.Lines("xe-errors.txt").Count);
    }

    [Fact]
    public void Cannot_add_alone_is_ambiguous_and_the_hint_says_where_to_look()
    {
        var error = ToolstackError.Classify(Fixture.Lines("xe-errors.txt")[1]);

        Assert.Equal(ToolstackErrorCause.DeviceCannotBeAdded, error.Cause);
        Assert.Contains("shared RMRR", error.FixHint, StringComparison.Ordinal);
        Assert.Contains("hypervisor.log", error.FixHint, StringComparison.Ordinal);
        Assert.Contains("I/O virtualisation", error.FixHint, StringComparison.Ordinal);
    }

    [Fact]
    public void Cannot_add_names_the_device()
    {
        var error = ToolstackError.Classify(Fixture.Lines("xe-errors.txt")[1]);

        Assert.Equal([PciAddress.Parse("0000:00:1d.0")], error.Devices);
    }

    [Fact]
    public void Cannot_add_with_the_hypervisor_rmrr_line_is_an_rmrr_refusal()
    {
        var text = Fixture.Lines("xe-errors.txt")[1] + "\n" + Fixture.Text("hypervisor-log-rmrr.txt");

        var error = ToolstackError.Classify(text);

        Assert.Equal(ToolstackErrorCause.Rmrr, error.Cause);
        Assert.Equal([PciAddress.Parse("0000:00:1d.0"), PciAddress.Parse("0000:08:00.0")], error.Devices);
    }

    [Fact]
    public void A_failure_without_a_device_lists_none()
    {
        Assert.Empty(ToolstackError.Classify(Fixture.Lines("xe-errors.txt")[4]).Devices);
    }

    [Theory]
    [InlineData("[VT-D] It's disallowed to assign 0000:08:00.0 with shared RMRR at 7ba77000 for Dom32753.", ToolstackErrorCause.Rmrr)]
    [InlineData("xenopsd internal error: IOMMU unavailable", ToolstackErrorCause.IommuOff)]
    [InlineData("(XEN) IOMMU requested but not available", ToolstackErrorCause.IommuOff)]
    [InlineData("xen_pciback: Error parsing pci_devs_to_hide at \"(04:01.0)\"", ToolstackErrorCause.MalformedHideList)]
    [InlineData("Failure(\"scanf: bad input at char number 6: looking for ':', found '.'\")", ToolstackErrorCause.MalformedHideList)]
    [InlineData("Internal error: pciback has not loaded", ToolstackErrorCause.PcibackNotLoaded)]
    [InlineData("libxl: error: libxl_pci.c:415:libxl_device_pci_assignable_list: Looks like pciback driver not loaded", ToolstackErrorCause.PcibackNotLoaded)]
    [InlineData("HOST_NOT_DISABLED", ToolstackErrorCause.HostNotDisabled)]
    [InlineData("This operation cannot be performed because the host is not disabled. Please disable the host and then try again.", ToolstackErrorCause.HostNotDisabled)]
    [InlineData("VM_HAS_PCI_ATTACHED", ToolstackErrorCause.VmHasPciAttached)]
    [InlineData("This operation could not be performed, because the VM has one or more PCI devices passed through.", ToolstackErrorCause.VmHasPciAttached)]
    [InlineData("HOST_IN_USE", ToolstackErrorCause.HostInUse)]
    [InlineData("This operation cannot be completed as the host is in use by (at least) the object of type and ref echoed below.", ToolstackErrorCause.HostInUse)]
    [InlineData("BOOT_DEVICE_PASSTHROUGH_DISALLOWED", ToolstackErrorCause.BootDevice)]
    [InlineData("Passing through a PCI device backing a boot disk is disallowed", ToolstackErrorCause.BootDevice)]
    [InlineData("VM_PCI_BUS_FULL", ToolstackErrorCause.VmPciBusFull)]
    [InlineData("The VM does not have any free PCI slots", ToolstackErrorCause.VmPciBusFull)]
    [InlineData("pciback 0000:0b:00.0: timed out waiting for pending transaction: performing function level reset anyway", ToolstackErrorCause.FlrTimeout)]
    [InlineData("The kernel doesn't support reset from sysfs for PCI device 0000:01:00.0", ToolstackErrorCause.NoFlr)]
    [InlineData("Unknown command: pci-disable-dom0-access", ToolstackErrorCause.UnknownCommand)]
    [InlineData("Unknown command 'pci-disable-dom0-access'", ToolstackErrorCause.UnknownCommand)]
    [InlineData("HOST_STILL_BOOTING", ToolstackErrorCause.ToolstackInitialising)]
    [InlineData("Error: Connection refused (calling connect )", ToolstackErrorCause.ConnectionRefused)]
    [InlineData("The VM could not start: not enough memory", ToolstackErrorCause.Unknown)]
    [InlineData("", ToolstackErrorCause.Unknown)]
    public void Verbatim_messages_from_the_domain_notes_are_recognised(string text, ToolstackErrorCause expected)
    {
        Assert.Equal(expected, ToolstackError.Classify(text).Cause);
    }

    [Fact]
    public void A_malformed_hide_list_is_the_root_cause_when_pciback_then_failed_to_load()
    {
        var text = "xen_pciback: Error parsing pci_devs_to_hide at \"(04:01.0)\"\nLooks like pciback driver not loaded";

        Assert.Equal(ToolstackErrorCause.MalformedHideList, ToolstackError.Classify(text).Cause);
    }

    [Fact]
    public void Iommu_unavailable_wins_over_cannot_add()
    {
        var text = "xenopsd internal error: Device.PCI.Cannot_add(0000:04:01.0, Failure(\"IOMMU unavailable\"))";

        var error = ToolstackError.Classify(text);

        Assert.Equal(ToolstackErrorCause.IommuOff, error.Cause);
        Assert.Equal(PciAddress.Parse("0000:04:01.0"), Assert.Single(error.Devices));
    }

    [Fact]
    public void The_iommu_hint_says_to_enable_it_in_the_bios_and_how_to_check()
    {
        var hint = ToolstackError.HintFor(ToolstackErrorCause.IommuOff);

        Assert.Contains("BIOS", hint, StringComparison.Ordinal);
        Assert.Contains("xl dmesg | grep 'I/O virtualisation'", hint, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_cause_has_its_own_hint()
    {
        var causes = Enum.GetValues<ToolstackErrorCause>();

        var hints = causes.Select(ToolstackError.HintFor).ToList();

        Assert.Equal(causes.Length, hints.Distinct(StringComparer.Ordinal).Count());
        Assert.All(hints, hint => Assert.False(string.IsNullOrWhiteSpace(hint)));
    }

    [Fact]
    public void Flr_messages_name_the_device()
    {
        var error = ToolstackError.Classify("The kernel doesn't support reset from sysfs for PCI device 0000:01:00.0");

        Assert.Equal(PciAddress.Parse("0000:01:00.0"), Assert.Single(error.Devices));
    }
}

using Passthrough.Contracts.Pci;
using Passthrough.Xen.Parsing;

namespace Passthrough.Xen.Tests;

public sealed class KernelCommandLineTests
{
    private const string Dom0CmdLine =
        "root=LABEL=root-xxyyzz ro hpet=disable console=hvc0 xen-pciback.hide=(0000:04:01.0)(0000:00:19.0) quiet vga=785 splash plymouth.ignore-serial-consoles\n";

    [Fact]
    public void Parameters_are_split_on_whitespace_and_keep_their_order()
    {
        var line = KernelCommandLine.Parse(Dom0CmdLine);

        Assert.Equal(
            ["root", "ro", "hpet", "console", "xen-pciback.hide", "quiet", "vga", "splash", "plymouth.ignore-serial-consoles"],
            line.Parameters.Select(p => p.Name));
        Assert.Equal("LABEL=root-xxyyzz", line.GetValue("root"));
        Assert.Null(line.GetValue("quiet"));
        Assert.True(line.Contains("quiet"));
        Assert.False(line.Contains("nomodeset"));
    }

    [Fact]
    public void The_booted_hide_list_is_extracted()
    {
        var hide = KernelCommandLine.Parse(Dom0CmdLine).GetHideList();

        Assert.Equal([PciAddress.Parse("0000:04:01.0"), PciAddress.Parse("0000:00:19.0")], hide.List.Entries);
        Assert.False(hide.NeedsNormalisation);
    }

    [Fact]
    public void No_hide_parameter_is_the_empty_list()
    {
        Assert.True(KernelCommandLine.Parse("root=/dev/sda1 ro\n").GetHideList().List.IsEmpty);
    }

    [Fact]
    public void A_short_form_booted_entry_is_reported_for_normalisation()
    {
        var hide = KernelCommandLine.Parse("xen-pciback.hide=(04:01.0)").GetHideList();

        Assert.True(hide.NeedsNormalisation);
        Assert.Equal(PciAddress.Parse("0000:04:01.0"), Assert.Single(hide.List.Entries));
    }

    [Fact]
    public void A_malformed_booted_hide_list_is_refused_with_the_value_quoted()
    {
        var ex = Assert.Throws<XenParseException>(() => KernelCommandLine.Parse("xen-pciback.hide=0000:04:01.0 quiet").GetHideList());

        Assert.Contains("'0000:04:01.0'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Double_quotes_group_spaces_and_are_removed_from_the_value()
    {
        var line = KernelCommandLine.Parse("a=\"one two\" \"b=three four\" c \"quoted flag\"");

        Assert.Equal(["a", "b", "c", "quoted flag"], line.Parameters.Select(p => p.Name));
        Assert.Equal("one two", line.GetValue("a"));
        Assert.Equal("three four", line.GetValue("b"));
    }

    [Fact]
    public void An_unterminated_quote_runs_to_the_end_as_in_the_kernel()
    {
        var line = KernelCommandLine.Parse("a=\"one two three");

        Assert.Equal("one two three", Assert.Single(line.Parameters).Value);
    }

    [Fact]
    public void Only_the_first_equals_sign_splits_name_from_value()
    {
        Assert.Equal("LABEL=root", KernelCommandLine.Parse("root=LABEL=root").GetValue("root"));
    }

    [Fact]
    public void Dashes_and_underscores_in_names_are_equivalent()
    {
        var line = KernelCommandLine.Parse("xen_pciback.hide=(0000:04:01.0)");

        Assert.Equal("(0000:04:01.0)", line.GetValue("xen-pciback.hide"));
        Assert.Single(line.GetHideList().List.Entries);
    }

    [Fact]
    public void The_last_occurrence_of_a_parameter_wins()
    {
        var line = KernelCommandLine.Parse("xen-pciback.hide=(0000:04:01.0) xen-pciback.hide=(0000:00:19.0)");

        Assert.Equal(PciAddress.Parse("0000:00:19.0"), Assert.Single(line.GetHideList().List.Entries));
    }

    [Fact]
    public void Empty_and_blank_lines_have_no_parameters()
    {
        Assert.Empty(KernelCommandLine.Parse(string.Empty).Parameters);
        Assert.Empty(KernelCommandLine.Parse("  \t \n").Parameters);
    }

    [Fact]
    public void An_empty_value_is_empty_not_absent()
    {
        var parameter = Assert.Single(KernelCommandLine.Parse("console=").Parameters);

        Assert.Equal(string.Empty, parameter.Value);
    }
}

using Passthrough.Contracts.Pci;
using Passthrough.Xen.Parsing;

namespace Passthrough.Xen.Tests;

public sealed class XenCmdlineTests
{
    [Fact]
    public void Fixture_first_answer_hides_two_functions()
    {
        var parse = XenCmdline.ParseHideList(Fixture.Lines("xen-cmdline-get-dom0.txt")[0] + "\n");

        Assert.Equal([PciAddress.Parse("0000:00:02.0"), PciAddress.Parse("0000:00:02.1")], parse.List.Entries);
        Assert.False(parse.NeedsNormalisation);
    }

    [Fact]
    public void Fixture_second_answer_is_an_empty_line_meaning_nothing_hidden()
    {
        var line = Fixture.Lines("xen-cmdline-get-dom0.txt")[1];

        var parse = XenCmdline.ParseHideList(line + "\n");

        Assert.Equal(string.Empty, line);
        Assert.True(parse.List.IsEmpty);
    }

    [Fact]
    public void A_malformed_answer_is_a_parse_error_quoting_it()
    {
        var ex = Assert.Throws<XenParseException>(() => XenCmdline.ParseHideList("xen-pciback.hide=(0000:04:01.0\n"));

        Assert.Equal("xen-cmdline --get-dom0 xen-pciback.hide output", ex.Subject);
        Assert.Contains("no closing ')'", ex.Message, StringComparison.Ordinal);
    }
}

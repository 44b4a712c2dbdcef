using Passthrough.Contracts.Pci;

namespace Passthrough.Contracts.Tests;

public sealed class Dom0HideListTests
{
    [Theory]
    [InlineData("xen-pciback.hide=(0000:04:01.0)(0000:00:19.0)")]
    [InlineData("xen-pciback.hide=(0000:00:02.0)(0000:00:02.1)")]
    [InlineData("xen-pciback.hide=(0001:82:1f.7)")]
    public void Canonical_text_round_trips_exactly(string text)
    {
        var parsed = Dom0HideList.Parse(text);

        Assert.False(parsed.NeedsNormalisation);
        Assert.Equal(text, parsed.List.ToString());
    }

    [Fact]
    public void Reads_the_xen_cmdline_answer_with_its_line_break_and_the_bare_value()
    {
        var parsed = Dom0HideList.Parse("xen-pciback.hide=(0000:00:02.0)(0000:00:02.1)\n");

        Assert.Equal(["0000:00:02.0", "0000:00:02.1"], parsed.List.Entries.Select(a => a.ToString()));
        Assert.Equal(parsed.List, Dom0HideList.Parse("(0000:00:02.0)(0000:00:02.1)").List);
        Assert.Equal("xen-pciback.hide=(0000:00:02.0)(0000:00:02.1)\n", parsed.Original);
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n")]
    public void An_empty_line_means_nothing_hidden(string text)
    {
        var parsed = Dom0HideList.Parse(text);

        Assert.True(parsed.List.IsEmpty);
        Assert.Equal(string.Empty, parsed.List.ToString());
    }

    [Fact]
    public void Short_upper_case_and_repeated_entries_are_read_and_reported_as_needing_normalisation()
    {
        var parsed = Dom0HideList.Parse("xen-pciback.hide=(04:01.0)(0000:00:1A.0)(0000:04:01.0)");

        Assert.True(parsed.NeedsNormalisation);
        Assert.Equal(3, parsed.Normalisations.Count);
        Assert.Contains(parsed.Normalisations, n => n.Contains("(04:01.0) should be written (0000:04:01.0)", StringComparison.Ordinal));
        Assert.Equal("xen-pciback.hide=(0000:04:01.0)(0000:00:1a.0)", parsed.List.ToString());
    }

    [Theory]
    [InlineData("xen-pciback.hide=(0000:82.0.0)", "entry (0000:82.0.0)")]
    [InlineData("xen-pciback.hide=0000:04:01.0", "expected '('")]
    [InlineData("xen-pciback.hide=(0000:04:01.0", "no closing ')'")]
    [InlineData("xen-pciback.hide=(0000:04:01.0) (0000:00:19.0)", "expected '('")]
    [InlineData("xen-pciback.hide=()", "entry ()")]
    [InlineData("xen-pciback.hide=(0000:04:01.0);reboot", "expected '('")]
    [InlineData("xen-pciback.hide=(0000:04:01.0)\n(0000:00:19.0)", "expected '('")]
    public void Malformed_lists_are_refused_naming_the_problem(string text, string reason)
    {
        var error = Assert.Throws<FormatException>(() => Dom0HideList.Parse(text));

        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Add_merges_without_duplicates_and_remove_keeps_the_rest_in_order()
    {
        var list = Dom0HideList.Parse("xen-pciback.hide=(0000:00:02.0)(0000:00:02.1)").List;

        var merged = list.Add([PciAddress.Parse("0000:00:02.1"), PciAddress.Parse("0000:04:01.0")]);
        var removed = merged.Remove([PciAddress.Parse("0000:00:02.0")]);

        Assert.Equal("xen-pciback.hide=(0000:00:02.0)(0000:00:02.1)(0000:04:01.0)", merged.ToString());
        Assert.Equal("xen-pciback.hide=(0000:00:02.1)(0000:04:01.0)", removed.ToString());
        Assert.Equal(string.Empty, removed.Remove(removed.Entries).ToString());
    }
}

public sealed class PciAssignmentListTests
{
    [Theory]
    [InlineData("0/0000:04:01.0,0/0000:00:19.0")]
    [InlineData("0/0000:04:01.0")]
    [InlineData("1/0000:04:00.0,2/0000:04:00.1")]
    public void Canonical_values_round_trip_exactly(string text) =>
        Assert.Equal(text, PciAssignmentList.Parse(text).ToString());

    [Fact]
    public void The_empty_value_is_the_empty_list() =>
        Assert.True(PciAssignmentList.Parse(string.Empty).IsEmpty);

    [Theory]
    [InlineData("0/04:01.0", "full form")]
    [InlineData("0000:04:01.0", "no plug order")]
    [InlineData("0/0000:04:01.0,", "entry 2 '' is malformed: it is empty")]
    [InlineData("0/0000:04:01.0, 0/0000:00:19.0", "entry 2")]
    [InlineData("x/0000:04:01.0", "plug order 'x' is not a number")]
    [InlineData("-1/0000:04:01.0", "is not a number")]
    [InlineData("0/0000:04:01.0,0/0000:04:01.0", "already listed")]
    [InlineData("0/0000:04:01.8", "function 8 is above 7")]
    [InlineData("0/0000:04:01.0;0/0000:00:19.0", "entry 1")]
    public void Malformed_entries_are_refused_instead_of_dropped(string text, string reason)
    {
        var error = Assert.Throws<FormatException>(() => PciAssignmentList.Parse(text));

        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
        Assert.Contains("silently drop", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Merge_keeps_existing_entries_and_appends_new_ones_with_order_zero()
    {
        var list = PciAssignmentList.Parse("1/0000:00:19.0");

        var merged = list.Merge([PciAddress.Parse("0000:04:01.0"), PciAddress.Parse("0000:00:19.0")]);

        Assert.Equal("1/0000:00:19.0,0/0000:04:01.0", merged.ToString());
        Assert.Equal("1/0000:00:19.0", merged.Remove([PciAddress.Parse("0000:04:01.0")]).ToString());
        Assert.True(merged.Contains(PciAddress.Parse("0000:04:01.0")));
    }

    [Fact]
    public void Create_refuses_a_function_listed_twice()
    {
        var address = PciAddress.Parse("0000:04:01.0");
        Assert.Throws<ArgumentException>(() => PciAssignmentList.Create([new(0, address), new(1, address)]));
    }
}

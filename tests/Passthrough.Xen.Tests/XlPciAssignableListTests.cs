using Passthrough.Contracts.Pci;
using Passthrough.Xen.Parsing;

namespace Passthrough.Xen.Tests;

public sealed class XlPciAssignableListTests
{
    [Fact]
    public void Lines_with_the_trailing_space_of_Xen_4_15_and_later_are_read()
    {
        var list = XlPciAssignableList.Parse("0000:04:01.0 \n0000:00:19.0 \n");

        Assert.Equal([PciAddress.Parse("0000:04:01.0"), PciAddress.Parse("0000:00:19.0")], list);
    }

    [Fact]
    public void Short_forms_from_older_tools_are_normalised_to_domain_0000()
    {
        var list = XlPciAssignableList.Parse("04:01.0\n");

        Assert.Equal("0000:04:01.0", Assert.Single(list).ToString());
    }

    [Fact]
    public void Empty_output_means_nothing_is_assignable()
    {
        Assert.Empty(XlPciAssignableList.Parse(string.Empty));
        Assert.Empty(XlPciAssignableList.Parse("\n"));
    }

    [Fact]
    public void A_function_listed_twice_is_reported_once()
    {
        Assert.Single(XlPciAssignableList.Parse("0000:04:01.0 \n0000:04:01.0\n"));
    }

    [Fact]
    public void A_line_that_is_not_an_address_is_refused_with_its_line_number()
    {
        var ex = Assert.Throws<XenParseException>(() => XlPciAssignableList.Parse("0000:04:01.0 \nlibxl: error: cannot open\n"));

        Assert.Equal(2, ex.LineNumber);
        Assert.Contains("'libxl: error: cannot open'", ex.Message, StringComparison.Ordinal);
    }
}

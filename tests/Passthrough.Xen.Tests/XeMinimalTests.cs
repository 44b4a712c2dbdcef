using Passthrough.Contracts.Ids;
using Passthrough.Xen.Parsing;

namespace Passthrough.Xen.Tests;

public sealed class XeMinimalTests
{
    [Fact]
    public void Values_are_comma_separated()
    {
        var uuids = XeMinimal.ParseUuids("740e9485-8e1a-da89-2561-d75bcede3fc9,17b62764-f979-7226-111c-deea6f9b530e\n");

        Assert.Equal(
            [XenUuid.Parse("740e9485-8e1a-da89-2561-d75bcede3fc9"), XenUuid.Parse("17b62764-f979-7226-111c-deea6f9b530e")],
            uuids);
    }

    [Fact]
    public void Empty_output_is_no_records()
    {
        Assert.Empty(XeMinimal.Parse(string.Empty));
        Assert.Empty(XeMinimal.Parse("\n"));
    }

    [Fact]
    public void Escaped_commas_and_backslashes_are_unescaped_as_xapi_escapes_them()
    {
        // escape_commas: ',' -> "\," and '\' -> "\\".
        var values = XeMinimal.Parse(@"web\, tier 1,C:\\vm,plain" + "\n");

        Assert.Equal(["web, tier 1", @"C:\vm", "plain"], values);
    }

    [Fact]
    public void Empty_values_between_commas_are_kept()
    {
        Assert.Equal(["a", string.Empty, "b"], XeMinimal.Parse("a,,b"));
    }

    [Fact]
    public void A_backslash_xapi_would_never_print_is_refused()
    {
        var ex = Assert.Throws<XenParseException>(() => XeMinimal.Parse(@"a\b"));

        Assert.Contains("character 2", ex.Message, StringComparison.Ordinal);
        Assert.Throws<XenParseException>(() => XeMinimal.Parse("trailing\\"));
    }

    [Fact]
    public void ParseUuids_refuses_a_value_that_is_not_a_uuid()
    {
        var ex = Assert.Throws<XenParseException>(() => XeMinimal.ParseUuids("740e9485-8e1a-da89-2561-d75bcede3fc9,Control domain"));

        Assert.Contains("'Control domain'", ex.Message, StringComparison.Ordinal);
    }
}

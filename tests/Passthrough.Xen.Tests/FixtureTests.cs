namespace Passthrough.Xen.Tests;

public sealed class FixtureTests
{
    // Each fixture and the test class that feeds it to a parser. A fixture added without a parser test fails here.
    private static readonly Dictionary<string, string> Coverage = new(StringComparer.Ordinal)
    {
        ["hypervisor-log-rmrr.txt"] = nameof(HypervisorLogTests),
        ["lspci-Dnn.txt"] = nameof(LspciParserTests),
        ["lspci-nn.txt"] = nameof(LspciParserTests),
        ["xe-errors.txt"] = nameof(ToolstackErrorTests),
        ["xe-pci-list.txt"] = nameof(XeRecordParserTests),
        ["xe-vm-list.txt"] = nameof(XeRecordParserTests),
        ["xe-vm-param-list-other-config.txt"] = nameof(XeParamValueTests),
        ["xen-cmdline-get-dom0.txt"] = nameof(XenCmdlineTests),
        ["xl-dmesg-iommu-disabled.txt"] = nameof(XlDmesgTests),
        ["xl-dmesg-iommu-enabled.txt"] = nameof(XlDmesgTests),
        ["xl-info-virt_caps.txt"] = nameof(XlInfoTests),
    };

    [Fact]
    public void Every_fixture_is_fed_to_a_parser_test()
    {
        Assert.Equal(Coverage.Keys.Order(StringComparer.Ordinal), Fixture.Names());
    }

    [Fact]
    public void Every_fixture_names_its_source_in_a_header_line()
    {
        foreach (var name in Fixture.Names())
        {
            Assert.StartsWith("# source: ", Fixture.Raw(name), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Stripping_removes_the_header_lines_and_keeps_meaningful_empty_lines()
    {
        var lines = Fixture.Lines("xen-cmdline-get-dom0.txt");

        Assert.Equal(["xen-pciback.hide=(0000:00:02.0)(0000:00:02.1)", string.Empty], lines);
        Assert.DoesNotContain(Fixture.Names().SelectMany(Fixture.Lines), line => line.StartsWith('#'));
    }
}

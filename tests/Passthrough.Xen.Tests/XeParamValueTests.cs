using Passthrough.Contracts.Pci;
using Passthrough.Xen.Parsing;

namespace Passthrough.Xen.Tests;

public sealed class XeParamValueTests
{
    [Fact]
    public void Fixture_other_config_with_a_device_yields_its_pci_key()
    {
        var record = XeRecordParser.ParseSingle(Fixture.Lines("xe-vm-param-list-other-config.txt")[0]);

        var otherConfig = record.GetMap("other-config");
        var assignments = XeParamValue.PciAssignmentsFromOtherConfig(otherConfig);

        Assert.Equal(XeFieldAccess.MapReadWrite, record.FindField("other-config")!.Access);
        Assert.Equal([new PciAssignment(0, PciAddress.Parse("0000:04:01.0"))], assignments.Entries);
        Assert.Equal(["pci", "base_template_name", "import_task", "mac_seed", "install-methods"], otherConfig.Keys);
        Assert.Equal("Other install media", otherConfig["base_template_name"]);
        Assert.Equal("OpaqueRef:46e1e0db-f7fa-4131-8539-0f82f0336d7c", otherConfig["import_task"]);
        Assert.Equal("ebd99219-9881-b965-610e-342087ec6606", otherConfig["mac_seed"]);
        Assert.Equal("cdrom", otherConfig["install-methods"]);
    }

    [Fact]
    public void Fixture_other_config_after_param_remove_has_no_assignment()
    {
        var record = XeRecordParser.ParseSingle(Fixture.Lines("xe-vm-param-list-other-config.txt")[1]);

        var otherConfig = record.GetMap("other-config");

        Assert.False(otherConfig.ContainsKey("pci"));
        Assert.Equal(4, otherConfig.Count);
        Assert.True(XeParamValue.PciAssignmentsFromOtherConfig(otherConfig).IsEmpty);
    }

    [Fact]
    public void Param_get_with_param_key_pci_is_the_bare_assignment_list()
    {
        var list = XeParamValue.ParsePciAssignments("0/0000:04:01.0,0/0000:00:19.0\n");

        Assert.Equal([PciAddress.Parse("0000:04:01.0"), PciAddress.Parse("0000:00:19.0")], list.Addresses);
    }

    [Fact]
    public void Param_get_of_a_malformed_pci_value_is_refused_because_xapi_would_drop_it_silently()
    {
        var ex = Assert.Throws<XenParseException>(() => XeParamValue.ParsePciAssignments("0/04:01.0\n"));

        Assert.Equal("other-config:pci", ex.Subject);
        Assert.Contains("'0/04:01.0'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Param_get_without_param_key_prints_the_whole_map()
    {
        var map = XeParamValue.ParseMap("pci: 0/0000:04:01.0; mac_seed: ebd99219-9881-b965-610e-342087ec6606\n");

        Assert.Equal("0/0000:04:01.0", map["pci"]);
        Assert.Equal(PciAddress.Parse("0000:04:01.0"), Assert.Single(XeParamValue.PciAssignmentsFromOtherConfig(map).Addresses));
    }

    [Fact]
    public void A_dangling_pci_value_is_refused()
    {
        var map = XeRecordParser.ParseMap("pci: <not in database>");

        Assert.Throws<XenParseException>(() => XeParamValue.PciAssignmentsFromOtherConfig(map));
    }

    [Fact]
    public void Plain_values_lose_only_the_final_line_break()
    {
        Assert.Equal("pv_in_pvh", XeParamValue.ParsePlain("pv_in_pvh\n"));
        Assert.Equal(string.Empty, XeParamValue.ParsePlain("\n"));
        Assert.Equal(" padded ", XeParamValue.ParsePlain(" padded \r\n"));
    }

    [Theory]
    [InlineData("true\n", true)]
    [InlineData("false\n", false)]
    public void Chipset_info_iommu_reads_as_a_boolean(string output, bool expected)
    {
        Assert.Equal(expected, XeParamValue.ParseBool(output));
    }

    [Fact]
    public void A_boolean_parameter_with_other_text_is_refused()
    {
        Assert.Throws<XenParseException>(() => XeParamValue.ParseBool("yes\n"));
    }
}

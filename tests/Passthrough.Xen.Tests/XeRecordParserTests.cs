using Passthrough.Contracts.Ids;
using Passthrough.Xen.Parsing;

namespace Passthrough.Xen.Tests;

public sealed class XeRecordParserTests
{
    // Two records as xapi prints them (cli_printer.ml): width 4 + longest label, first line left-aligned, the others
    // right-aligned, each record followed by two blank lines; empty values keep the space after the colon.
    private static readonly string PciListParamsAll = string.Join('\n',
        "uuid ( RO)               : 17b62764-f979-7226-111c-deea6f9b530e",
        "        vendor-name ( RO): Intel Corporation",
        "        device-name ( RO): TigerLake-H GT1 [UHD Graphics]",
        "        driver-name ( RO): i915",
        "          host-uuid ( RO): 3f2a1c9e-5b7d-4e1a-9c3b-2d8e6f0a1b2c",
        "    host-name-label ( RO): xcp-ng-lab",
        "             pci-id ( RO): 0000:00:02.0",
        "       dependencies (SRO): ",
        "       other-config (MRW): ",
        "",
        "",
        "uuid ( RO)               : a1b2c3d4-0000-4000-8000-000000000001",
        "        vendor-name ( RO): NVIDIA Corporation",
        "        device-name ( RO): GK104 [GeForce GTX 690]",
        "        driver-name ( RO): pciback",
        "          host-uuid ( RO): 3f2a1c9e-5b7d-4e1a-9c3b-2d8e6f0a1b2c",
        "    host-name-label ( RO): xcp-ng-lab",
        "             pci-id ( RO): 0000:04:00.0",
        "       dependencies (SRO): 0000:04:00.1; 0000:04:00.2",
        "       other-config (MRW): ",
        "",
        "",
        "");

    [Fact]
    public void Fixture_vm_list_reads_one_record_despite_the_lost_padding()
    {
        var records = XeRecordParser.ParseRecords(Fixture.Text("xe-vm-list.txt"));

        var record = Assert.Single(records);
        Assert.Equal(["uuid", "name-label", "power-state"], record.Fields.Select(f => f.Name));
        Assert.Equal(XenUuid.Parse("740e9485-8e1a-da89-2561-d75bcede3fc9"), record.GetUuid());
        Assert.Equal("VM with PCI Passthrough", record.Get("name-label"));
        Assert.Equal("halted", record.Get("power-state"));
    }

    [Fact]
    public void Fixture_vm_list_carries_the_access_tags()
    {
        var record = XeRecordParser.ParseSingle(Fixture.Text("xe-vm-list.txt"));

        Assert.Equal(XeFieldAccess.ReadOnly, record.FindField("uuid")!.Access);
        Assert.Equal(XeFieldAccess.ReadWrite, record.FindField("name-label")!.Access);
        Assert.True(record.FindField("name-label")!.IsWritable);
        Assert.False(record.FindField("power-state")!.IsWritable);
    }

    [Fact]
    public void Fixture_pci_list_keeps_brackets_inside_values()
    {
        var record = XeRecordParser.ParseSingle(Fixture.Text("xe-pci-list.txt"));

        Assert.Equal(XenUuid.Parse("17b62764-f979-7226-111c-deea6f9b530e"), record.GetUuid());
        Assert.Equal("Intel Corporation", record.Get("vendor-name"));
        Assert.Equal("TigerLake-H GT1 [UHD Graphics]", record.Get("device-name"));
        Assert.Equal("0000:00:02.0", record.Get("pci-id"));
    }

    [Fact]
    public void Records_are_separated_by_the_blank_lines_xe_prints()
    {
        var records = XeRecordParser.ParseRecords(PciListParamsAll);

        Assert.Equal(2, records.Count);
        Assert.Equal("i915", records[0].Get("driver-name"));
        Assert.Equal("pciback", records[1].Get("driver-name"));
        Assert.Equal(9, records[1].Fields.Count);
    }

    [Fact]
    public void Empty_values_are_empty_strings_and_empty_sets_and_maps()
    {
        var first = XeRecordParser.ParseRecords(PciListParamsAll)[0];

        Assert.Equal(string.Empty, first.Get("dependencies"));
        Assert.Empty(first.GetSet("dependencies"));
        Assert.Empty(first.GetMap("other-config"));
    }

    [Fact]
    public void Set_fields_split_on_semicolon_space()
    {
        var second = XeRecordParser.ParseRecords(PciListParamsAll)[1];

        Assert.Equal(XeFieldAccess.SetReadOnly, second.FindField("dependencies")!.Access);
        Assert.True(second.FindField("dependencies")!.IsSet);
        Assert.Equal(["0000:04:00.1", "0000:04:00.2"], second.GetSet("dependencies"));
    }

    [Fact]
    public void Empty_output_is_no_records()
    {
        Assert.Empty(XeRecordParser.ParseRecords(string.Empty));
        Assert.Empty(XeRecordParser.ParseRecords("\n\n"));
    }

    [Fact]
    public void An_empty_value_whose_trailing_space_was_trimmed_still_parses()
    {
        var record = XeRecordParser.ParseSingle("uuid ( RO): 740e9485-8e1a-da89-2561-d75bcede3fc9\n  other-config (MRW):\n");

        Assert.Equal(string.Empty, record.Get("other-config"));
    }

    [Fact]
    public void All_six_tags_and_the_deprecated_marker_are_read()
    {
        var text = string.Join('\n',
            "uuid ( RO)                              : 740e9485-8e1a-da89-2561-d75bcede3fc9",
            "                        name-label ( RW): vm",
            "                allowed-operations (SRO): start; export",
            "                              tags (SRW): lab",
            "                          platform (MRO): nx: true",
            "                      other-config (MRW): pci: 0/0000:04:01.0",
            "     PV-drivers-up-to-date ( RO) [DEPRECATED]: true",
            "");

        var fields = XeRecordParser.ParseSingle(text).Fields;

        Assert.Equal(
            [XeFieldAccess.ReadOnly, XeFieldAccess.ReadWrite, XeFieldAccess.SetReadOnly, XeFieldAccess.SetReadWrite, XeFieldAccess.MapReadOnly, XeFieldAccess.MapReadWrite, XeFieldAccess.ReadOnly],
            fields.Select(f => f.Access));
        Assert.Equal("PV-drivers-up-to-date", fields[6].Name);
        Assert.True(fields[6].IsDeprecated);
        Assert.False(fields[0].IsDeprecated);
        Assert.Equal("true", fields[6].Value);
        Assert.True(fields[4].IsMap);
        Assert.True(fields[5].IsWritable);
        Assert.False(fields[4].IsWritable);
    }

    [Fact]
    public void Not_in_database_is_a_dangling_reference_read_as_null()
    {
        var record = XeRecordParser.ParseSingle(
            "uuid ( RO)          : 740e9485-8e1a-da89-2561-d75bcede3fc9\n" +
            "    resident-on ( RO): <not in database>\n" +
            "           VBDs (SRO): 11111111-2222-3333-4444-555555555555; <not in database>\n" +
            "   blobs (MRO): a: <not in database>; b: 11111111-2222-3333-4444-555555555555\n");

        Assert.Null(record.Get("resident-on"));
        Assert.Equal(XeRecord.NotInDatabase, record.FindField("resident-on")!.RawValue);
        Assert.Equal(["11111111-2222-3333-4444-555555555555", null], record.GetSet("VBDs"));
        Assert.Null(record.GetMap("blobs")["a"]);
        Assert.Equal("11111111-2222-3333-4444-555555555555", record.GetMap("blobs")["b"]);
    }

    [Fact]
    public void Values_keep_colons_spaces_and_parentheses()
    {
        var record = XeRecordParser.ParseSingle("uuid ( RO)    : u\n  name-label ( RW): web (prod): tier 1 ( RO) \n");

        Assert.Equal("web (prod): tier 1 ( RO) ", record.Get("name-label"));
    }

    [Fact]
    public void A_multi_line_value_continues_the_previous_field_blank_lines_included()
    {
        var text = string.Join('\n',
            "uuid ( RO)                : 740e9485-8e1a-da89-2561-d75bcede3fc9",
            "     name-description ( RW): first line",
            "second line",
            "",
            "after a blank line",
            "          power-state ( RO): running",
            "",
            "");

        var record = XeRecordParser.ParseSingle(text);

        Assert.Equal("first line\nsecond line\n\nafter a blank line", record.Get("name-description"));
        Assert.Equal("running", record.Get("power-state"));
    }

    [Fact]
    public void Crlf_line_ends_are_tolerated()
    {
        var record = XeRecordParser.ParseSingle("uuid ( RO)    : 740e9485-8e1a-da89-2561-d75bcede3fc9\r\n  power-state ( RO): halted\r\n");

        Assert.Equal("halted", record.Get("power-state"));
    }

    [Fact]
    public void Output_that_does_not_start_with_a_field_line_is_refused_with_the_line_quoted()
    {
        var ex = Assert.Throws<XenParseException>(() => XeRecordParser.ParseRecords("Error: Connection refused (calling connect )\n"));

        Assert.Equal("xe record output", ex.Subject);
        Assert.Equal(1, ex.LineNumber);
        Assert.Contains("'Error: Connection refused (calling connect )'", ex.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<FormatException>(ex);
    }

    [Fact]
    public void A_field_repeated_within_one_record_is_refused()
    {
        // The fixture's two other-config lines come from two runs; pasted together they are not one record.
        var ex = Assert.Throws<XenParseException>(() => XeRecordParser.ParseRecords(Fixture.Text("xe-vm-param-list-other-config.txt")));

        Assert.Equal(2, ex.LineNumber);
        Assert.Contains("'other-config' appears twice", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_tag_is_not_a_field_line()
    {
        Assert.Throws<XenParseException>(() => XeRecordParser.ParseRecords("uuid (XRO): 740e9485-8e1a-da89-2561-d75bcede3fc9\n"));
    }

    [Fact]
    public void ParseSingle_refuses_zero_or_several_records()
    {
        Assert.Throws<XenParseException>(() => XeRecordParser.ParseSingle(string.Empty));
        var ex = Assert.Throws<XenParseException>(() => XeRecordParser.ParseSingle(PciListParamsAll));
        Assert.Contains("found 2", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Asking_for_a_missing_field_names_it_and_the_fields_present()
    {
        var record = XeRecordParser.ParseSingle(Fixture.Text("xe-vm-list.txt"));

        var ex = Assert.Throws<XenParseException>(() => record.Get("domain-type"));

        Assert.Contains("'domain-type'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("uuid, name-label, power-state", ex.Message, StringComparison.Ordinal);
        Assert.False(record.TryGet("domain-type", out _));
        Assert.True(record.TryGet("power-state", out var state));
        Assert.Equal("halted", state);
        Assert.False(record.Contains("domain-type"));
    }

    [Fact]
    public void The_raw_dictionary_keeps_dangling_markers_for_diagnostics()
    {
        var record = XeRecordParser.ParseSingle("uuid ( RO)    : u\n  resident-on ( RO): <not in database>\n");

        var raw = record.ToRawDictionary();

        Assert.Equal("u", raw["uuid"]);
        Assert.Equal(XeRecord.NotInDatabase, raw["resident-on"]);
    }

    [Fact]
    public void GetUuid_refuses_a_value_that_is_not_a_uuid()
    {
        var record = XeRecordParser.ParseSingle(Fixture.Text("xe-pci-list.txt"));

        var ex = Assert.Throws<XenParseException>(() => record.GetUuid("pci-id"));

        Assert.Contains("'0000:00:02.0'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Map_values_may_contain_colon_space_and_opaque_refs()
    {
        var map = XeRecordParser.ParseMap("pci: 0/0000:04:01.0; import_task: OpaqueRef:46e1e0db-f7fa-4131-8539-0f82f0336d7c; install-methods: cdrom; note: a: b");

        Assert.Equal(["pci", "import_task", "install-methods", "note"], map.Keys);
        Assert.Equal("OpaqueRef:46e1e0db-f7fa-4131-8539-0f82f0336d7c", map["import_task"]);
        Assert.Equal("a: b", map["note"]);
    }

    [Fact]
    public void Map_values_may_contain_semicolon_space_when_no_key_follows()
    {
        var map = XeRecordParser.ParseMap("base_template_name: Other install media; really; mac_seed: ebd99219-9881-b965-610e-342087ec6606");

        Assert.Equal("Other install media; really", map["base_template_name"]);
        Assert.Equal("ebd99219-9881-b965-610e-342087ec6606", map["mac_seed"]);
        Assert.Equal(2, map.Count);
    }

    [Fact]
    public void Map_keys_may_contain_colons_and_values_may_be_empty()
    {
        var map = XeRecordParser.ParseMap("xo:resource:xva:version: 1; empty: ; last:");

        Assert.Equal("1", map["xo:resource:xva:version"]);
        Assert.Equal(string.Empty, map["empty"]);
        Assert.Equal(string.Empty, map["last"]);
    }

    [Fact]
    public void Map_text_without_key_value_shape_is_refused()
    {
        var ex = Assert.Throws<XenParseException>(() => XeRecordParser.ParseMap("just text"));

        Assert.Contains("'just text'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Map_keys_printed_twice_are_refused()
    {
        Assert.Throws<XenParseException>(() => XeRecordParser.ParseMap("a: 1; a: 2"));
    }
}

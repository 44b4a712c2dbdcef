using System.Text.Json;
using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Pci;

namespace Passthrough.Contracts.Tests;

public sealed class PciDeviceIdTests
{
    [Theory]
    [InlineData("10de:1188", "10de:1188")]
    [InlineData("10DE:0E0A", "10de:0e0a")]
    [InlineData("197b:2363", "197b:2363")]
    public void Parses_vendor_and_device(string text, string canonical) =>
        Assert.Equal(canonical, PciDeviceId.Parse(text).ToString());

    [Theory]
    [InlineData("10de-1188")]
    [InlineData("10de:118")]
    [InlineData("0x10de:1188")]
    [InlineData("10de:1188 ")]
    [InlineData("")]
    [InlineData("zzzz:1188")]
    public void Refuses_anything_but_four_hex_digits_each(string text)
    {
        var error = Assert.Throws<FormatException>(() => PciDeviceId.Parse(text));
        Assert.Contains("vendor:device", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Reads_sysfs_id_files()
    {
        Assert.Equal(0x10de, PciDeviceId.ParseSysfsHex16("0x10de\n"));
        Assert.Equal(0x8086, PciDeviceId.ParseSysfsHex16("8086"));
        Assert.Throws<FormatException>(() => PciDeviceId.ParseSysfsHex16("0x12345"));
    }

    [Fact]
    public void Recognises_xen_platform_devices() =>
        Assert.True(PciDeviceId.Parse("5853:0001").IsXenPlatform);
}

public sealed class PciClassTests
{
    [Theory]
    [InlineData("0x0c0330", "0c0330", "USB controller")]
    [InlineData("0x030000\n", "030000", "VGA compatible controller")]
    [InlineData("0403", "040300", "Audio device")]
    [InlineData("010802", "010802", "Non-Volatile memory controller")]
    [InlineData("0x020000", "020000", "Ethernet controller")]
    public void Parses_sysfs_and_lspci_forms(string text, string canonical, string description)
    {
        var value = PciClass.Parse(text);

        Assert.Equal(canonical, value.ToString());
        Assert.Equal(description, value.Describe());
    }

    [Fact]
    public void Helpers_classify_the_device_kinds_passthrough_cares_about()
    {
        Assert.True(PciClass.Parse("0x0c0330").IsUsbController);
        Assert.False(PciClass.Parse("0x0c0500").IsUsbController);
        Assert.True(PciClass.Parse("0x030200").IsDisplay);
        Assert.True(PciClass.Parse("0x010601").IsStorage);
        Assert.True(PciClass.Parse("0x020000").IsNetwork);
        Assert.True(PciClass.Parse("0x040300").IsMultimedia);
        Assert.True(PciClass.Parse("0x060400").IsBridge);
        Assert.False(PciClass.Parse("0x020000").IsDisplay);
    }

    [Theory]
    [InlineData("0c033")]
    [InlineData("network")]
    [InlineData("")]
    public void Refuses_malformed_codes(string text) =>
        Assert.Throws<FormatException>(() => PciClass.Parse(text));
}

public sealed class IdTests
{
    [Fact]
    public void Parses_a_xapi_uuid_and_writes_it_lower_case()
    {
        var uuid = XenUuid.Parse("740E9485-8E1A-DA89-2561-D75BCEDE3FC9");

        Assert.Equal("740e9485-8e1a-da89-2561-d75bcede3fc9", uuid.ToString());
    }

    [Theory]
    [InlineData("740e9485-8e1a-da89-2561-d75bcede3fc")]
    [InlineData("{740e9485-8e1a-da89-2561-d75bcede3fc9}")]
    [InlineData("740e94858e1ada892561d75bcede3fc9")]
    [InlineData("740e9485-8e1a-da89-2561-d75bcede3fcg")]
    [InlineData("OpaqueRef:46e1e0db-f7fa-4131-8539-0f82f0336d7c")]
    [InlineData("740e9485-8e1a-da89-2561-d75bcede3fc9 ")]
    [InlineData("")]
    public void Refuses_anything_but_the_dashed_form(string text)
    {
        var error = Assert.Throws<FormatException>(() => XenUuid.Parse(text));
        Assert.Contains("XAPI uuid", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Host_and_vm_ids_say_what_they_were_meant_to_be()
    {
        Assert.StartsWith("Host id:", Assert.Throws<FormatException>(() => HostId.Parse("nope")).Message, StringComparison.Ordinal);
        Assert.StartsWith("VM id:", Assert.Throws<FormatException>(() => VmId.Parse("nope")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Ids_travel_as_json_strings()
    {
        var vm = VmId.Parse("740e9485-8e1a-da89-2561-d75bcede3fc9");

        var json = JsonSerializer.Serialize(vm);

        Assert.Equal("\"740e9485-8e1a-da89-2561-d75bcede3fc9\"", json);
        Assert.Equal(vm, JsonSerializer.Deserialize<VmId>(json));
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<HostId>("\"not-a-uuid\""));
    }
}

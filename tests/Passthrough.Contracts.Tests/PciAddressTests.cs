using System.Text.Json;
using Passthrough.Contracts.Pci;

namespace Passthrough.Contracts.Tests;

public sealed class PciAddressTests
{
    [Theory]
    [InlineData("02:03.0", "0000:02:03.0")]
    [InlineData("0000:02:03.0", "0000:02:03.0")]
    [InlineData("0000:0B:1F.7", "0000:0b:1f.7")]
    [InlineData("0b:00.1", "0000:0b:00.1")]
    [InlineData("FFFF:FF:1F.7", "ffff:ff:1f.7")]
    [InlineData("0001:82:00.0", "0001:82:00.0")]
    public void Parses_short_and_full_forms_in_any_case_to_the_canonical_full_form(string text, string canonical)
    {
        var address = PciAddress.Parse(text);

        Assert.Equal(canonical, address.ToString());
        Assert.Equal(address, PciAddress.Parse(canonical));
    }

    [Fact]
    public void Exposes_each_field()
    {
        var address = PciAddress.Parse("0001:82:1d.6");

        Assert.Equal(0x0001, address.Domain);
        Assert.Equal(0x82, address.Bus);
        Assert.Equal(0x1d, address.Device);
        Assert.Equal(6, address.Function);
        Assert.Equal("82:1d.6", address.ToShortString());
    }

    [Theory]
    [InlineData("0000:82.0.0", "exactly one '.'")]
    [InlineData("0b::00.1", "domain must have 4 hex digits")]
    [InlineData("2:3.0", "bus must have 2 hex digits")]
    [InlineData(" 02:03.0", "whitespace")]
    [InlineData("02:03.0 ", "whitespace")]
    [InlineData("0000:02:03.8", "function 8 is above 7")]
    [InlineData("0000:02:20.0", "device 20 is above 1f")]
    [InlineData("0000:02:03.0;reboot", "';' is not allowed")]
    [InlineData("$(reboot)", "'$' is not allowed")]
    [InlineData("0000:02:03.0\n", "line break")]
    [InlineData("", "empty")]
    [InlineData("0000:002:03.0", "13 characters long")]
    [InlineData("000:02:03.0", "domain must have 4 hex digits")]
    [InlineData("0000:02:3.0", "device must have 2 hex digits")]
    [InlineData("0000:02:03", "exactly one '.'")]
    [InlineData("0000:02:03.", "function must be 1 digit")]
    [InlineData("00:00:02:03.0", "the full form has 12")]
    [InlineData("0000:0g:03.0", "'g' is not allowed")]
    public void Refuses_malformed_text_quoting_it_and_saying_what_is_wrong(string text, string reason)
    {
        var error = Assert.Throws<FormatException>(() => PciAddress.Parse(text));

        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
        Assert.StartsWith("'", error.Message, StringComparison.Ordinal);
        Assert.False(PciAddress.TryParse(text, out _, out var message));
        Assert.Equal(error.Message, message);
    }

    [Fact]
    public void Refuses_a_ten_kilobyte_string_without_repeating_it()
    {
        var text = new string('0', 10 * 1024);

        var error = Assert.Throws<FormatException>(() => PciAddress.Parse(text));

        Assert.Contains("10240 characters", error.Message, StringComparison.Ordinal);
        Assert.True(error.Message.Length < 300, error.Message);
    }

    [Fact]
    public void Escapes_control_characters_in_the_error()
    {
        var error = Assert.Throws<FormatException>(() => PciAddress.Parse("02:03.0\nrm -rf /"));

        Assert.DoesNotContain("\n", error.Message, StringComparison.Ordinal);
        Assert.Contains("\\n", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Refuses_null_with_a_message()
    {
        Assert.False(PciAddress.TryParse(null, out _, out var error));
        Assert.Contains("required", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0x10000, 0, 0, 0)]
    [InlineData(0, 0x100, 0, 0)]
    [InlineData(0, 0, 0x20, 0)]
    [InlineData(0, 0, 0, 8)]
    [InlineData(-1, 0, 0, 0)]
    public void Create_refuses_fields_out_of_range(int domain, int bus, int device, int function) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => PciAddress.Create(domain, bus, device, function));

    [Fact]
    public void Orders_by_domain_bus_device_function()
    {
        var sorted = new[] { "0001:00:00.0", "0000:00:1f.7", "0000:01:00.0", "0000:00:02.1", "0000:00:02.0" }
            .Select(PciAddress.Parse).Order().Select(a => a.ToString());

        Assert.Equal(["0000:00:02.0", "0000:00:02.1", "0000:00:1f.7", "0000:01:00.0", "0001:00:00.0"], sorted);
    }

    [Fact]
    public void Knows_its_sibling_functions()
    {
        var gpu = PciAddress.Parse("0000:04:00.0");

        Assert.True(gpu.IsSiblingOf(PciAddress.Parse("0000:04:00.1")));
        Assert.False(gpu.IsSiblingOf(gpu));
        Assert.False(gpu.IsSiblingOf(PciAddress.Parse("0000:05:00.1")));
        Assert.Equal("0000:04:00.1", gpu.WithFunction(1).ToString());
    }

    [Fact]
    public void Travels_as_a_json_string_and_refuses_a_malformed_one()
    {
        var address = PciAddress.Parse("0000:04:01.0");

        var json = JsonSerializer.Serialize(address);

        Assert.Equal("\"0000:04:01.0\"", json);
        Assert.Equal(address, JsonSerializer.Deserialize<PciAddress>(json));
        var error = Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<PciAddress>("\"0000:04:01.9\""));
        Assert.Contains("function 9 is above 7", error.Message, StringComparison.Ordinal);
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<PciAddress>("42"));
    }

    [Fact]
    public void Full_form_check_rejects_short_forms()
    {
        Assert.True(PciAddress.IsFullForm("0000:04:01.0"));
        Assert.False(PciAddress.IsFullForm("04:01.0"));
        Assert.False(PciAddress.IsFullForm("0000:04:01.8"));
    }
}

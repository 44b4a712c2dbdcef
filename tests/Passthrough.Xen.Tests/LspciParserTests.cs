using Passthrough.Contracts.Pci;
using Passthrough.Xen.Parsing;

namespace Passthrough.Xen.Tests;

public sealed class LspciParserTests
{
    [Fact]
    public void Fixture_Dnn_reads_both_sata_controllers()
    {
        var listing = LspciParser.Parse(Fixture.Text("lspci-Dnn.txt"));

        Assert.Empty(listing.Skipped);
        Assert.Equal([PciAddress.Parse("0000:00:17.0"), PciAddress.Parse("0000:05:00.0")], listing.Devices.Select(d => d.Address));
        var jmicron = listing.Devices[1];
        Assert.Equal("SATA controller", jmicron.ClassName);
        Assert.Equal(PciClass.Create(0x01, 0x06), jmicron.Class);
        Assert.True(jmicron.Class.IsStorage);
        Assert.Equal("JMicron Technology Corp. JMB363 SATA/IDE Controller", jmicron.VendorDeviceName);
        Assert.Equal(PciDeviceId.Parse("197b:2363"), jmicron.Id);
        Assert.Equal((byte)0x03, jmicron.Revision);
    }

    [Fact]
    public void Fixture_Dnn_reads_an_unnamed_device()
    {
        var intel = LspciParser.Parse(Fixture.Text("lspci-Dnn.txt")).Devices[0];

        Assert.Equal("Intel Corporation Device", intel.VendorDeviceName);
        Assert.Equal(PciDeviceId.Parse("8086:7a62"), intel.Id);
        Assert.Equal((byte)0x11, intel.Revision);
    }

    [Fact]
    public void Fixture_nn_without_domain_reads_as_domain_0000()
    {
        var devices = LspciParser.Parse(Fixture.Text("lspci-nn.txt")).Devices;

        Assert.Equal(
            ["0000:04:00.0", "0000:04:00.1", "0000:05:00.0", "0000:05:00.1"],
            devices.Select(d => d.Address.ToString()));
    }

    [Fact]
    public void Fixture_nn_takes_the_ids_from_the_last_brackets_when_the_name_has_its_own()
    {
        var devices = LspciParser.Parse(Fixture.Text("lspci-nn.txt")).Devices;

        var gpu = devices[0];
        Assert.Equal("VGA compatible controller", gpu.ClassName);
        Assert.Equal(PciClass.Create(0x03, 0x00), gpu.Class);
        Assert.Equal("NVIDIA Corporation GK104 [GeForce GTX 690]", gpu.VendorDeviceName);
        Assert.Equal(PciDeviceId.Parse("10de:1188"), gpu.Id);
        Assert.Equal((byte)0xa1, gpu.Revision);

        Assert.Equal(PciClass.Create(0x03, 0x02), devices[2].Class);
        Assert.Equal("3D controller", devices[2].ClassName);
        Assert.Equal(PciDeviceId.Parse("10de:1188"), devices[2].Id);
    }

    [Fact]
    public void Fixture_nn_reads_the_hdmi_audio_functions()
    {
        var audio = LspciParser.Parse(Fixture.Text("lspci-nn.txt")).Devices[1];

        Assert.Equal("Audio device", audio.ClassName);
        Assert.True(audio.Class.IsMultimedia);
        Assert.Equal("NVIDIA Corporation GK104 HDMI Audio Controller", audio.VendorDeviceName);
        Assert.Equal(PciDeviceId.Parse("10de:0e0a"), audio.Id);
    }

    [Fact]
    public void Revision_is_optional_because_lspci_omits_revision_0()
    {
        var device = LspciParser.ParseLine("00:1f.3 SMBus [0c05]: Intel Corporation Device [8086:7a23]");

        Assert.Null(device.Revision);
        Assert.Equal(PciClass.Create(0x0c, 0x05), device.Class);
    }

    [Fact]
    public void Verbose_first_lines_carry_the_programming_interface_and_detail_lines_are_skipped()
    {
        var text = string.Join('\n',
            "00:14.0 USB controller [0c03]: Intel Corporation 100 Series/C230 Series Chipset Family USB 3.0 xHCI Controller [8086:a12f] (rev 31) (prog-if 30 [XHCI])",
            "\tSubsystem: Dell Device [1028:06e4]",
            "\tFlags: bus master, medium devsel, latency 0, IRQ 124",
            "",
            "00:1f.6 Ethernet controller [0200]: Intel Corporation Ethernet Connection (2) I219-LM [8086:15b7] (rev 31)",
            "\tKernel driver in use: e1000e",
            "");

        var devices = LspciParser.Parse(text).Devices;

        Assert.Equal(2, devices.Count);
        Assert.Equal(PciClass.Create(0x0c, 0x03, 0x30), devices[0].Class);
        Assert.True(devices[0].Class.IsUsbController);
        Assert.Equal("XHCI", devices[0].ProgrammingInterfaceName);
        Assert.Equal((byte)0x31, devices[0].Revision);
        Assert.Null(devices[1].ProgrammingInterfaceName);
        Assert.Equal("Intel Corporation Ethernet Connection (2) I219-LM", devices[1].VendorDeviceName);
    }

    [Fact]
    public void An_unknown_class_prints_as_Class_and_still_parses()
    {
        var device = LspciParser.ParseLine("0000:00:04.0 Class [ff00]: Xen Platform Device [5853:0001] (rev 01)");

        Assert.Equal("Class", device.ClassName);
        Assert.Equal((byte)0xff, device.Class.BaseClass);
        Assert.True(device.Id.IsXenPlatform);
    }

    [Fact]
    public void Vmd_domains_above_ffff_are_set_aside_not_dropped()
    {
        var text = "0000:00:0e.0 RAID bus controller [0104]: Intel Corporation Volume Management Device NVMe RAID Controller [8086:467f]\n" +
                   "10000:e1:00.0 Non-Volatile memory controller [0108]: Samsung Electronics Co Ltd NVMe SSD Controller [144d:a80a]\n";

        var listing = LspciParser.Parse(text);

        Assert.Equal(PciAddress.Parse("0000:00:0e.0"), Assert.Single(listing.Devices).Address);
        var skipped = Assert.Single(listing.Skipped);
        Assert.StartsWith("10000:e1:00.0", skipped.Line, StringComparison.Ordinal);
        Assert.Contains("10000", skipped.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_line_without_ids_is_refused_with_its_line_number()
    {
        var text = Fixture.Text("lspci-nn.txt") + "06:00.0 VGA compatible controller: NVIDIA Corporation GK104\n";

        var ex = Assert.Throws<XenParseException>(() => LspciParser.Parse(text));

        Assert.Equal(5, ex.LineNumber);
        Assert.Equal("lspci -nn output", ex.Subject);
        Assert.Contains("'06:00.0 VGA compatible controller: NVIDIA Corporation GK104'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_malformed_address_is_refused()
    {
        var ex = Assert.Throws<XenParseException>(() => LspciParser.ParseLine("04:20.0 VGA compatible controller [0300]: NVIDIA Corporation GK104 [10de:1188]"));

        Assert.Contains("device 20 is above 1f", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_output_is_an_empty_listing()
    {
        var listing = LspciParser.Parse(string.Empty);

        Assert.Empty(listing.Devices);
        Assert.Empty(listing.Skipped);
    }
}

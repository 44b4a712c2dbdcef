using Passthrough.Contracts.Pci;
using Passthrough.Xen.Parsing;

namespace Passthrough.Xen.Tests;

public sealed class SysfsDevicePathTests
{
    [Fact]
    public void A_sata_disk_resolves_to_its_ahci_controller()
    {
        var address = SysfsDevicePath.ParseUdevadmPath("/devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda/sda1\n");

        Assert.Equal(PciAddress.Parse("0000:00:17.0"), address);
    }

    [Fact]
    public void An_nvme_disk_behind_a_bridge_resolves_to_the_nvme_function_not_the_bridge()
    {
        var address = SysfsDevicePath.ParseUdevadmPath("/devices/pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/nvme0/nvme0n1/nvme0n1p2\n");

        Assert.Equal(PciAddress.Parse("0000:3d:00.0"), address);
    }

    [Fact]
    public void A_nic_device_link_resolves_to_its_function()
    {
        Assert.Equal(PciAddress.Parse("0000:00:19.0"), SysfsDevicePath.FindPciAddress("/sys/devices/pci0000:00/0000:00:19.0\n"));
    }

    [Fact]
    public void A_usb_disk_resolves_to_its_usb_controller()
    {
        var address = SysfsDevicePath.FindPciAddress("/devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0/block/sdb/sdb1");

        Assert.Equal(PciAddress.Parse("0000:00:14.0"), address);
    }

    [Fact]
    public void A_disk_behind_vmd_resolves_to_the_vmd_controller()
    {
        var address = SysfsDevicePath.FindPciAddress("/devices/pci0000:00/0000:00:0e.0/pci10000:e0/10000:e0:1d.0/10000:e1:00.0/nvme/nvme0/nvme0n1");

        Assert.Equal(PciAddress.Parse("0000:00:0e.0"), address);
    }

    [Theory]
    [InlineData("/devices/virtual/block/dm-0")]
    [InlineData("/devices/virtual/block/md127")]
    [InlineData("/devices/vbd-51712/block/xvda/xvda1")]
    [InlineData("")]
    public void Devices_not_on_pci_have_no_address(string path)
    {
        Assert.Null(SysfsDevicePath.FindPciAddress(path));
    }

    [Fact]
    public void Udevadm_output_that_is_not_a_devices_path_is_refused()
    {
        var ex = Assert.Throws<XenParseException>(() => SysfsDevicePath.ParseUdevadmPath("Unknown device \"/dev/sdz1\": No such device\n"));

        Assert.Contains("No such device", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Findmnt_prints_the_root_device()
    {
        var source = SysfsDevicePath.ParseFindmntSource("/dev/sda1\n");

        Assert.Equal("/dev/sda1", source.Source);
        Assert.Null(source.Subvolume);
        Assert.True(source.IsDeviceNode);
        Assert.False(source.IsStacked);
    }

    [Fact]
    public void Findmnt_btrfs_subvolumes_are_split_off()
    {
        var source = SysfsDevicePath.ParseFindmntSource("/dev/nvme0n1p2[/@]\n");

        Assert.Equal("/dev/nvme0n1p2", source.Source);
        Assert.Equal("/@", source.Subvolume);
    }

    [Theory]
    [InlineData("/dev/mapper/XSLocalEXT--root")]
    [InlineData("/dev/dm-0")]
    [InlineData("/dev/md127")]
    public void Device_mapper_and_md_roots_are_flagged_for_the_caller_to_resolve(string device)
    {
        Assert.True(SysfsDevicePath.ParseFindmntSource(device + "\n").IsStacked);
    }

    [Fact]
    public void A_pseudo_root_is_not_a_device_node()
    {
        Assert.False(SysfsDevicePath.ParseFindmntSource("rootfs\n").IsDeviceNode);
    }

    [Fact]
    public void Findmnt_output_with_no_or_several_sources_is_refused()
    {
        Assert.Throws<XenParseException>(() => SysfsDevicePath.ParseFindmntSource("\n"));
        var ex = Assert.Throws<XenParseException>(() => SysfsDevicePath.ParseFindmntSource("/dev/sda1\noverlay\n"));
        Assert.Contains("found 2", ex.Message, StringComparison.Ordinal);
    }
}

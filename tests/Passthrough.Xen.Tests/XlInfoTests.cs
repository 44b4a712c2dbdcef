using Passthrough.Xen.Parsing;

namespace Passthrough.Xen.Tests;

public sealed class XlInfoTests
{
    [Fact]
    public void Fixture_Xen_4_13_hvm_only_host_has_an_iommu_for_hvm()
    {
        var info = XlInfo.Parse(Fixture.Lines("xl-info-virt_caps.txt")[0]);

        Assert.Equal(["hvm", "hvm_directio"], info.VirtCaps!.Order(StringComparer.Ordinal));
        Assert.True(info.Iommu);
    }

    [Fact]
    public void Fixture_pv_and_hvm_host_lists_both_directio_flags()
    {
        var info = XlInfo.Parse(Fixture.Lines("xl-info-virt_caps.txt")[1]);

        Assert.Equal(6, info.VirtCaps!.Count);
        Assert.Contains(XlInfo.PvDirectIo, info.VirtCaps);
        Assert.Contains(XlInfo.HvmDirectIo, info.VirtCaps);
        Assert.True(info.Iommu);
    }

    [Fact]
    public void Fixture_Xen_4_19_flags_with_dashes_are_kept_whole()
    {
        var info = XlInfo.Parse(Fixture.Lines("xl-info-virt_caps.txt")[2]);

        Assert.Contains("gnttab-v2", info.VirtCaps!);
        Assert.Contains("iommu_hap_pt_share", info.VirtCaps!);
        Assert.Equal(10, info.VirtCaps!.Count);
        Assert.True(XlInfo.IommuFromVirtCaps(info.VirtCaps!));
    }

    [Fact]
    public void Fixture_lines_are_three_hosts_so_together_they_repeat_a_key()
    {
        var ex = Assert.Throws<XenParseException>(() => XlInfo.Parse(Fixture.Text("xl-info-virt_caps.txt")));

        Assert.Equal(2, ex.LineNumber);
        Assert.Contains("'virt_caps' appears twice", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "hvm", "hvm_directio" }, true)]
    [InlineData(new[] { "pv", "pv_directio" }, true)]
    [InlineData(new[] { "pv", "hvm", "hap", "shadow" }, false)]
    public void IommuFromVirtCaps_needs_a_directio_flag(string[] caps, bool expected)
    {
        Assert.Equal(expected, XlInfo.IommuFromVirtCaps(caps));
    }

    [Fact]
    public void IommuFromVirtCaps_of_no_flags_is_false()
    {
        Assert.False(XlInfo.IommuFromVirtCaps([]));
    }

    [Fact]
    public void Without_directio_flags_on_Xen_4_17_the_iommu_is_off()
    {
        var info = XlInfo.Parse(string.Join('\n',
            "host                   : xcp-ng-lab",
            "virt_caps              : pv hvm hap shadow",
            "xen_major              : 4",
            "xen_minor              : 17",
            "xen_extra              : .3-pre",
            "xen_version            : 4.17.3-pre",
            "xen_commandline        : dom0_mem=4304M,max:4304M watchdog ucode=scan",
            ""));

        Assert.False(info.Iommu);
        Assert.Equal(new Version(4, 17), info.XenVersion);
        Assert.Equal("4.17.3-pre", info.XenVersionText);
        Assert.Equal("dom0_mem=4304M,max:4304M watchdog ucode=scan", info.Get("xen_commandline"));
        Assert.Equal("xcp-ng-lab", info.Get("host"));
    }

    [Fact]
    public void The_version_is_composed_from_major_minor_extra_when_xen_version_is_absent()
    {
        var info = XlInfo.Parse("xen_major              : 4\nxen_minor              : 4\nxen_extra              : .1-xs90192\n");

        Assert.Equal("4.4.1-xs90192", info.XenVersionText);
        Assert.Equal(new Version(4, 4), info.XenVersion);
    }

    [Fact]
    public void On_an_old_Xen_a_host_without_hvm_cannot_tell_the_iommu_state()
    {
        var info = XlInfo.Parse("virt_caps              : \nxen_major              : 4\nxen_minor              : 4\n");

        Assert.Empty(info.VirtCaps!);
        Assert.Null(info.Iommu);
    }

    [Fact]
    public void On_an_old_Xen_hvm_without_hvm_directio_means_no_iommu()
    {
        var info = XlInfo.Parse("virt_caps              : hvm\nxen_major              : 4\nxen_minor              : 4\n");

        Assert.False(info.Iommu);
    }

    [Fact]
    public void Output_without_virt_caps_cannot_tell()
    {
        var info = XlInfo.Parse("xen_version            : 4.17.3-pre\n");

        Assert.Null(info.VirtCaps);
        Assert.Null(info.Iommu);
        Assert.Equal(new Version(4, 17), info.XenVersion);
        Assert.Null(info.Get("virt_caps"));
    }

    [Fact]
    public void A_line_without_key_value_shape_is_refused()
    {
        var ex = Assert.Throws<XenParseException>(() => XlInfo.Parse("virt_caps : hvm\nlibxl warning\n"));

        Assert.Equal(2, ex.LineNumber);
        Assert.Equal("xl info output", ex.Subject);
    }
}

using Passthrough.Xen.Parsing;

namespace Passthrough.Xen.Tests;

public sealed class XlDmesgTests
{
    [Fact]
    public void Fixture_with_timestamps_reports_the_iommu_disabled()
    {
        Assert.False(XlDmesg.ParseIommuState(Fixture.Text("xl-dmesg-iommu-disabled.txt")));
    }

    [Fact]
    public void Fixture_without_timestamps_reports_the_iommu_enabled()
    {
        Assert.True(XlDmesg.ParseIommuState(Fixture.Text("xl-dmesg-iommu-enabled.txt")));
    }

    [Fact]
    public void Other_enabled_lines_do_not_count_as_the_iommu_state()
    {
        // "Interrupt remapping enabled" is in the enabled fixture; alone it says nothing about I/O virtualisation.
        Assert.Null(XlDmesg.ParseIommuState("(XEN) Intel VT-d Interrupt Remapping enabled.\n(XEN) Interrupt remapping enabled\n"));
    }

    [Fact]
    public void A_log_without_the_line_cannot_tell()
    {
        Assert.Null(XlDmesg.ParseIommuState(string.Empty));
        // A real log that never mentions I/O virtualisation (the RMRR excerpt from hypervisor.log).
        Assert.Null(XlDmesg.ParseIommuState(Fixture.Text("hypervisor-log-rmrr.txt")));
    }

    [Fact]
    public void The_last_report_wins()
    {
        Assert.True(XlDmesg.ParseIommuState("(XEN) I/O virtualisation disabled\n(XEN) I/O virtualisation enabled\n"));
    }
}

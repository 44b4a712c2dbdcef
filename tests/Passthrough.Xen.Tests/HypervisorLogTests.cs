using Passthrough.Contracts.Pci;
using Passthrough.Xen.Parsing;

namespace Passthrough.Xen.Tests;

public sealed class HypervisorLogTests
{
    [Fact]
    public void Fixture_rmrr_refusal_yields_device_region_and_domain()
    {
        var conflict = Assert.Single(HypervisorLog.FindRmrrConflicts(Fixture.Text("hypervisor-log-rmrr.txt")));

        Assert.Equal(PciAddress.Parse("0000:08:00.0"), conflict.Device);
        Assert.Equal(0x7ba77000UL, conflict.RmrrAddress);
        Assert.Equal("Dom32753", conflict.Domain);
        Assert.StartsWith("[2020-08-22 10:09:03] (XEN)", conflict.Line, StringComparison.Ordinal);
    }

    [Fact]
    public void Fixture_assign_failure_yields_device_and_code()
    {
        var failure = Assert.Single(HypervisorLog.FindAssignFailures(Fixture.Text("hypervisor-log-rmrr.txt")));

        Assert.Equal(PciAddress.Parse("0000:08:00.0"), failure.Device);
        Assert.Equal(-1, failure.ErrorCode);
    }

    [Fact]
    public void The_newer_pd_domain_format_is_read()
    {
        var conflict = Assert.Single(HypervisorLog.FindRmrrConflicts(
            "(XEN) [VT-D] It's disallowed to assign 0000:00:14.0 with shared RMRR at 0x3e2e0000 for d[IO].\n"));

        Assert.Equal("d[IO]", conflict.Domain);
        Assert.Equal(0x3e2e0000UL, conflict.RmrrAddress);
        Assert.Equal(PciAddress.Parse("0000:00:14.0"), conflict.Device);
    }

    [Fact]
    public void The_older_assign_failure_format_is_read()
    {
        var failure = Assert.Single(HypervisorLog.FindAssignFailures("(XEN) assign 0000:00:1d.0 to dom3 failed (-22)\n"));

        Assert.Equal(-22, failure.ErrorCode);
    }

    [Fact]
    public void Unrelated_log_lines_are_not_errors()
    {
        var log = Fixture.Text("xl-dmesg-iommu-enabled.txt");

        Assert.Empty(HypervisorLog.FindRmrrConflicts(log));
        Assert.Empty(HypervisorLog.FindAssignFailures(log));
    }
}

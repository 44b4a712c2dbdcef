using System.Text.Json;
using Passthrough.Contracts.Messaging;

namespace Passthrough.Guest.Tests;

public sealed class GuestJsonContextTests
{
    [Fact]
    public async Task A_report_round_trips_through_the_source_generated_context_with_readable_values()
    {
        using var tree = LinuxGuestProbeTests.PvWithPcifrontActive();
        var report = await Probe.TreeAsync(tree);

        var json = JsonSerializer.Serialize(report, GuestJsonContext.Default.GuestReport);
        var back = JsonSerializer.Deserialize(json, GuestJsonContext.Default.GuestReport)!;

        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        Assert.Equal("PV", root.GetProperty("guestType").GetString());
        Assert.Equal("Active", root.GetProperty("pcifront").GetProperty("state").GetString());
        Assert.Equal("Loaded", root.GetProperty("pcifront").GetProperty("module").GetString());
        var first = root.GetProperty("devices")[0];
        Assert.Equal("0000:00:00.0", first.GetProperty("address").GetString());
        Assert.Equal("8086:2934", first.GetProperty("id").GetString());
        Assert.Equal("0c0300", first.GetProperty("class").GetString());
        Assert.Equal(report.Devices, back.Devices);
        Assert.Equal(report.Pcifront, back.Pcifront);
        Assert.Equal(report.GuestTypeSource, back.GuestTypeSource);
        Assert.Equal(report.KernelLog, back.KernelLog);
    }

    [Fact]
    public void A_verdict_serialises_its_failures_with_cause_names()
    {
        var verdict = GuestVerification.Build(DeviceMatcherTests.Report(GuestType.PV, PcifrontState.Absent), []);

        var json = JsonSerializer.Serialize(verdict, GuestJsonContext.Default.GuestVerdict);

        using var document = JsonDocument.Parse(json);
        Assert.False(document.RootElement.GetProperty("verified").GetBoolean());
        var problem = document.RootElement.GetProperty("problems")[0];
        Assert.Equal("GuestLacksPcifront", problem.GetProperty("cause").GetString());
        Assert.Equal("guest kernel lacks xen-pcifront", problem.GetProperty("message").GetString());
    }
}

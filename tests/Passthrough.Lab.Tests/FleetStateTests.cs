using Passthrough.Simulation;
using Passthrough.Xen;

namespace Passthrough.Lab.Tests;

public sealed class FleetStateTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Two_captures_of_an_untouched_fleet_do_not_differ()
    {
        await using var fleet = SimulatedFleet.Create(new FleetSpec { Hosts = 3 });

        var before = FleetState.Capture(fleet);
        var after = FleetState.Capture(fleet);

        Assert.Empty(FleetState.Compare(before, after));
        Assert.Equal(fleet.Hosts.Select(h => h.HostId), before.Hosts.Select(h => h.Key));
    }

    [Fact]
    public async Task A_change_on_one_host_is_listed_for_that_host_only_with_its_facts()
    {
        await using var fleet = SimulatedFleet.Create(new FleetSpec { Hosts = 3 });
        var host = fleet.Hosts[1];
        var (vm, started) = (host.Vms[0], host.Vms[1]);
        var before = FleetState.Capture(fleet);

        var driver = new Dom0Driver(host.Runner);
        await driver.MergePciKeyAsync(vm.VmId, [DefaultDevices.UsbController], Ct);
        await driver.StartVmAsync(started.VmId, Ct);
        var after = FleetState.Capture(fleet);

        var difference = Assert.Single(FleetState.Compare(before, after));
        Assert.Equal(host.HostId, difference.Host);
        Assert.Contains($"- vm {started.VmId} ({started.Name}) power-state: halted", difference.Lines);
        Assert.Contains($"+ vm {started.VmId} ({started.Name}) power-state: running", difference.Lines);
        Assert.Contains(difference.Lines, l => l.StartsWith($"+ vm {vm.VmId} ({vm.Name}) other-config:", StringComparison.Ordinal) && l.Contains("pci: 0/0000:00:14.0", StringComparison.Ordinal));
        Assert.Equal(before[fleet.Hosts[0].HostId], after[fleet.Hosts[0].HostId]);
    }
}

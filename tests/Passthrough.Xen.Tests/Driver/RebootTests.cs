using Passthrough.Contracts.Messaging;
using Passthrough.Simulation;
using Passthrough.Simulation.Model;
using static Passthrough.Xen.Tests.Driver.SimHost;

namespace Passthrough.Xen.Tests.Driver;

/// <summary>RebootHostAsync: disable, evacuate, reboot, wait for a new boot id and a ready xapi, enable.</summary>
public sealed class RebootTests
{
    private static readonly TimeSpan LiveDeadline = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(5);

    [Theory]
    [MemberData(nameof(AllProducts), MemberType = typeof(SimHost))]
    public async Task A_reboot_makes_a_persisted_hide_list_effective_and_leaves_the_host_enabled(string product)
    {
        var sim = Create(product);
        var previousBoot = sim.Host.BootId.ToString();
        await sim.Driver.PersistHideAsync([DefaultDevices.PassthroughNic], Ct);
        var log = sim.Watch();

        var result = await sim.Drive(() => sim.Driver.RebootHostAsync(LiveDeadline, Ct), Step);

        Assert.Equal(previousBoot, result.PreviousBootId);
        Assert.Equal(sim.Host.BootId.ToString(), result.BootId);
        Assert.NotEqual(previousBoot, result.BootId);
        Assert.InRange(result.Downtime, sim.Host.Timings.RebootDowntime + sim.Host.Timings.XapiInitialising, LiveDeadline);
        Assert.True(sim.Host.Enabled);
        Assert.Equal("pciback", sim.DriverOf(DefaultDevices.PassthroughNic));
        Assert.Contains("xen-pciback.hide=(0000:03:00.0)", sim.Host.BootedDom0Cmdline, StringComparison.Ordinal);
        Assert.Equal(result.BootId, (await sim.Driver.DetectAsync(cancellationToken: Ct)).BootId);
        string[] order = ["xe host-disable", "xe host-evacuate", "xe host-reboot", "xe host-enable"];
        var steps = log.Requests.Where(r => r.Program == "xe" && r.Arguments[0] is "host-disable" or "host-evacuate" or "host-reboot" or "host-enable")
            .Select(r => "xe " + r.Arguments[0]);
        Assert.Equal(order, steps);
    }

    [Fact]
    public async Task On_8_3_a_disabled_dom0_access_becomes_disabled_after_the_reboot()
    {
        var sim = Create(ProductProfile.XcpNg83);
        var nic = sim.Pci(DefaultDevices.PassthroughNic);
        await sim.Driver.DisableDom0AccessAsync(nic, Ct);

        await sim.Drive(() => sim.Driver.RebootHostAsync(LiveDeadline, Ct), Step);

        Assert.Equal(Dom0Access.Disabled, await sim.Driver.ReadDom0AccessAsync(nic, Ct));
        Assert.Equal("pciback", sim.DriverOf(DefaultDevices.PassthroughNic));
    }

    [Fact]
    public async Task A_host_that_never_returns_is_HostDidNotReturn_after_the_deadline()
    {
        var sim = Create(ProductProfile.XcpNg82);
        sim.Faults.NeverReturnFromReboot();

        var error = await Assert.ThrowsAsync<Dom0Exception>(() => sim.Drive(() => sim.Driver.RebootHostAsync(LiveDeadline, Ct), Step));

        Assert.Equal(FailureCause.HostDidNotReturn, error.Cause);
        Assert.True(sim.Time.GetUtcNow() - Start >= LiveDeadline, "gave up before the deadline");
        Assert.Contains("did not come back", error.Failure.Message, StringComparison.Ordinal);
        Assert.NotNull(error.Failure.FixHint);
    }

    [Fact]
    public async Task A_toolstack_that_never_finishes_starting_is_HostDidNotReturn_with_xapis_text()
    {
        // A short-form hide list: the kernel accepts it, xapi's scan does not and stays "still initialising".
        var sim = Create(ProductProfile.XenServer71);
        sim.SetNextBootHide("xen-pciback.hide=(03:00.0)");

        var error = await Assert.ThrowsAsync<Dom0Exception>(() => sim.Drive(() => sim.Driver.RebootHostAsync(LiveDeadline, Ct), Step));

        Assert.Equal(FailureCause.HostDidNotReturn, error.Cause);
        Assert.Contains("The host toolstack is still initialising", error.Failure.OriginalText, StringComparison.Ordinal);
        Assert.Contains("xen-pciback.hide", error.Failure.FixHint, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_running_VM_with_a_device_stops_the_evacuation_and_the_host_is_enabled_again()
    {
        var sim = Create(ProductProfile.XcpNg83, b => b.WithVm("pinned", GuestType.PV, VmPowerState.Running, new KeyValuePair<string, string>("pci", "0/0000:03:00.0")));
        var before = sim.Capture();
        var log = sim.Watch();

        var error = await Assert.ThrowsAsync<Dom0Exception>(() => sim.Drive(() => sim.Driver.RebootHostAsync(LiveDeadline, Ct), Step));

        Assert.Equal(FailureCause.VmHasPciAttached, error.Cause);
        Assert.Contains(sim.Vm("pinned").ToString(), error.Failure.OriginalText, StringComparison.Ordinal);
        Assert.False(log.Ran("xe host-reboot"));
        Assert.True(sim.Host.Enabled);
        Assert.Equal(before, sim.Capture());
    }

    [Fact]
    public async Task HOST_IN_USE_from_the_reboot_is_classified_and_the_host_is_enabled_again()
    {
        var sim = Create(ProductProfile.CitrixHypervisor82);
        var before = sim.Capture();
        var hostRef = $"{sim.Host.Uuid} ({sim.Host.Name})";
        var vmRef = $"{sim.Vm(DefaultDevices.PvVmName)} ({DefaultDevices.PvVmName})";
        sim.Faults.FailCommand("xe host-reboot",
            $"This operation cannot be completed as the host is in use by (at least) the object of type and ref echoed below.\nhost: {hostRef}\ntype: vm\nref: {vmRef}");

        var error = await Assert.ThrowsAsync<Dom0Exception>(() => sim.Drive(() => sim.Driver.RebootHostAsync(LiveDeadline, Ct), Step));

        Assert.Equal(FailureCause.HostInUse, error.Cause);
        Assert.Contains($"ref: {vmRef}", error.Failure.OriginalText, StringComparison.Ordinal);
        Assert.StartsWith("reboot the host failed", error.Failure.Message, StringComparison.Ordinal);
        Assert.True(sim.Host.Enabled);
        Assert.Equal(before, sim.Capture());
    }

    [Fact]
    public async Task A_reboot_command_that_hangs_and_a_host_that_stays_up_is_reported_and_enabled_again()
    {
        var sim = Create(ProductProfile.XcpNg82);
        sim.Faults.HangCommand("xe host-reboot");
        var before = sim.Capture();

        var error = await Assert.ThrowsAsync<Dom0Exception>(() => sim.Drive(() => sim.Driver.RebootHostAsync(LiveDeadline, Ct), Step));

        Assert.Equal(FailureCause.HostDidNotReturn, error.Cause);
        Assert.Contains("did not reboot", error.Failure.Message, StringComparison.Ordinal);
        Assert.True(sim.Host.Enabled);
        Assert.Equal(before, sim.Capture());
    }

    [Fact]
    public async Task A_reboot_whose_connection_drops_watches_the_boot_id_and_reports_a_host_that_never_went_down()
    {
        var sim = Create(ProductProfile.XenServer65);
        sim.Faults.DropConnection("xe host-reboot");
        var previousBoot = sim.Host.BootId.ToString();

        // A dropped connection may mean the host is going down, so it is no failure by itself; here the command never
        // ran, so the boot id stays the old one until the deadline.
        var error = await Assert.ThrowsAsync<Dom0Exception>(() => sim.Drive(() => sim.Driver.RebootHostAsync(LiveDeadline, Ct), Step));

        Assert.Equal(FailureCause.HostDidNotReturn, error.Cause);
        Assert.Equal(previousBoot, error.Failure.OriginalText);
        Assert.True(sim.Host.Enabled);
    }
}

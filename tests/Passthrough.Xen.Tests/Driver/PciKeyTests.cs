using Passthrough.Contracts.Messaging;
using Passthrough.Simulation;
using Passthrough.Simulation.Model;
using static Passthrough.Xen.Tests.Driver.SimHost;

namespace Passthrough.Xen.Tests.Driver;

/// <summary>other-config:pci: merged, removed, and restored to exactly what it was (absent included).</summary>
public sealed class PciKeyTests
{
    private static KeyValuePair<string, string> Pci(string value) => new("pci", value);

    [Theory]
    [MemberData(nameof(AllProducts), MemberType = typeof(SimHost))]
    public async Task Merging_into_an_absent_key_creates_it_and_restoring_removes_it_again(string product)
    {
        var sim = Create(product);
        var vm = sim.Vm(DefaultDevices.PvVmName);
        var before = sim.Capture();

        var change = await sim.Driver.MergePciKeyAsync(vm, [DefaultDevices.Gpu, DefaultDevices.GpuAudio], Ct);

        Assert.Equal(new PciKeyChange(vm, null, "0/0000:01:00.0,0/0000:01:00.1"), change);
        Assert.Equal("0/0000:01:00.0,0/0000:01:00.1", sim.Host.Vm(DefaultDevices.PvVmName).OtherConfig["pci"]);
        Assert.Equal("0/0000:01:00.0,0/0000:01:00.1", await sim.Driver.ReadPciKeyAsync(vm, Ct));

        await sim.Driver.RestorePciKeyAsync(vm, change.Previous, Ct);

        Assert.Null(await sim.Driver.ReadPciKeyAsync(vm, Ct));
        Assert.Equal(before, sim.Capture());
    }

    [Fact]
    public async Task Merging_keeps_the_entries_already_there_and_restoring_brings_back_the_exact_value()
    {
        var sim = Create(ProductProfile.XcpNg82, b => b.WithVm("vm", GuestType.HVM, VmPowerState.Halted, Pci("3/0000:00:14.0")));
        var vm = sim.Vm("vm");
        var before = sim.Capture();

        var change = await sim.Driver.MergePciKeyAsync(vm, [DefaultDevices.PassthroughNic, DefaultDevices.UsbController], Ct);

        Assert.Equal("3/0000:00:14.0", change.Previous);
        Assert.Equal("3/0000:00:14.0,0/0000:03:00.0", change.Current);
        Assert.Equal("3/0000:00:14.0,0/0000:03:00.0", await sim.Driver.ReadPciKeyAsync(vm, Ct));

        await sim.Driver.RestorePciKeyAsync(vm, change.Previous, Ct);

        Assert.Equal(before, sim.Capture());
    }

    [Fact]
    public async Task Merging_what_is_there_already_writes_nothing()
    {
        var sim = Create(ProductProfile.XenServer65, b => b.WithVm("vm", GuestType.PV, VmPowerState.Halted, Pci("0/0000:03:00.0")));
        var vm = sim.Vm("vm");
        var before = sim.Capture();
        var log = sim.Watch();

        var change = await sim.Driver.MergePciKeyAsync(vm, [DefaultDevices.PassthroughNic], Ct);
        await sim.Driver.RestorePciKeyAsync(vm, change.Previous, Ct);

        Assert.False(change.Changed);
        Assert.False(log.Ran("xe vm-param-set"));
        Assert.False(log.Ran("xe vm-param-remove"));
        Assert.Equal(before, sim.Capture());
    }

    [Theory]
    [InlineData("0/03:00.0")]
    [InlineData("0000:03:00.0")]
    [InlineData("0/0000:03:00.0,")]
    public async Task A_malformed_existing_value_is_refused_and_left_untouched(string existing)
    {
        var sim = Create(ProductProfile.XcpNg83, b => b.WithVm("vm", GuestType.HVM, VmPowerState.Halted, Pci(existing)));
        var vm = sim.Vm("vm");
        var before = sim.Capture();

        var merge = await Assert.ThrowsAsync<Dom0Exception>(() => sim.Driver.MergePciKeyAsync(vm, [DefaultDevices.Gpu], Ct));
        var remove = await Assert.ThrowsAsync<Dom0Exception>(() => sim.Driver.RemoveFromPciKeyAsync(vm, [DefaultDevices.Gpu], Ct));

        Assert.Equal(FailureCause.InvalidInput, merge.Cause);
        Assert.Equal(existing, merge.Failure.OriginalText);
        Assert.Contains("left as it is", merge.Failure.Message, StringComparison.Ordinal);
        Assert.Equal(FailureCause.InvalidInput, remove.Cause);
        Assert.Equal(before, sim.Capture());
    }

    [Fact]
    public async Task Removing_keeps_the_other_entries_and_removing_the_last_removes_the_key()
    {
        var sim = Create(ProductProfile.CitrixHypervisor82, b => b.WithVm("vm", GuestType.HVM, VmPowerState.Halted, Pci("0/0000:01:00.0,0/0000:01:00.1")));
        var vm = sim.Vm("vm");
        var before = sim.Capture();

        var first = await sim.Driver.RemoveFromPciKeyAsync(vm, [DefaultDevices.GpuAudio], Ct);
        Assert.Equal("0/0000:01:00.0", await sim.Driver.ReadPciKeyAsync(vm, Ct));
        var second = await sim.Driver.RemoveFromPciKeyAsync(vm, [DefaultDevices.Gpu], Ct);
        Assert.Null(await sim.Driver.ReadPciKeyAsync(vm, Ct));
        Assert.False(sim.Host.Vm("vm").OtherConfig.ContainsKey("pci"));
        var log = sim.Watch();
        var third = await sim.Driver.RemoveFromPciKeyAsync(vm, [DefaultDevices.Gpu], Ct);
        Assert.False(third.Changed);
        Assert.False(log.Ran("xe vm-param-set") || log.Ran("xe vm-param-remove"));

        await sim.Driver.RestorePciKeyAsync(vm, second.Previous, Ct);
        await sim.Driver.RestorePciKeyAsync(vm, first.Previous, Ct);

        Assert.Equal(before, sim.Capture());
    }

    [Fact]
    public async Task Removing_a_device_that_is_not_listed_leaves_a_non_canonical_value_as_written()
    {
        var sim = Create(ProductProfile.XcpNg82, b => b.WithVm("vm", GuestType.HVM, VmPowerState.Halted, Pci("00/0000:01:00.0")));
        var vm = sim.Vm("vm");
        var log = sim.Watch();

        var change = await sim.Driver.RemoveFromPciKeyAsync(vm, [DefaultDevices.PassthroughNic], Ct);

        Assert.False(change.Changed);
        Assert.False(log.Ran("xe vm-param-set"));
        Assert.Equal("00/0000:01:00.0", sim.Host.Vm("vm").OtherConfig["pci"]);
    }

    [Fact]
    public async Task Restoring_an_absent_key_that_is_already_absent_does_not_ask_xe_to_remove_it()
    {
        var sim = Create(ProductProfile.XenServer65);
        var vm = sim.Vm(DefaultDevices.HvmVmName);
        var log = sim.Watch();

        var change = await sim.Driver.RestorePciKeyAsync(vm, null, Ct);

        Assert.False(change.Changed);
        Assert.False(log.Ran("xe vm-param-remove"));
    }

    [Fact]
    public async Task An_empty_value_is_restored_as_an_empty_value_not_as_absent()
    {
        var sim = Create(ProductProfile.XcpNg83, b => b.WithVm("vm", GuestType.HVM, VmPowerState.Halted, Pci(string.Empty)));
        var vm = sim.Vm("vm");
        var before = sim.Capture();

        var change = await sim.Driver.MergePciKeyAsync(vm, [DefaultDevices.Nvme], Ct);
        Assert.Equal(string.Empty, change.Previous);
        await sim.Driver.RestorePciKeyAsync(vm, change.Previous, Ct);

        Assert.Equal(string.Empty, sim.Host.Vm("vm").OtherConfig["pci"]);
        Assert.Equal(before, sim.Capture());
    }
}

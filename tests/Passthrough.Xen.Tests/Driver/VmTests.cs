using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Messaging;
using Passthrough.Simulation;
using Passthrough.Simulation.Model;
using static Passthrough.Xen.Tests.Driver.SimHost;

namespace Passthrough.Xen.Tests.Driver;

/// <summary>Finding VMs by uuid or name, and reading their type and state on every product.</summary>
public sealed class VmTests
{
    [Theory]
    [MemberData(nameof(AllProducts), MemberType = typeof(SimHost))]
    public async Task A_VM_is_found_by_uuid_and_by_name_with_its_domain_type(string product)
    {
        var sim = Create(product);
        var pvUuid = sim.Vm(DefaultDevices.PvVmName);

        var byUuid = await sim.Driver.FindVmAsync(pvUuid.ToString(), Ct);
        var byName = await sim.Driver.FindVmAsync(DefaultDevices.HvmVmName, Ct);

        Assert.Equal(pvUuid, byUuid.Uuid);
        Assert.Equal(DefaultDevices.PvVmName, byUuid.NameLabel);
        Assert.Equal(GuestType.PV, byUuid.DomainType);
        Assert.Equal(sim.Vm(DefaultDevices.HvmVmName), byName.Uuid);
        Assert.Equal(GuestType.HVM, byName.DomainType);
        Assert.Equal(VmPowerState.Halted, byName.PowerState);
        Assert.Null(byName.DomId);
        Assert.Null(byName.ResidentOn);
    }

    [Theory]
    [InlineData("XenServer 6.5")]
    [InlineData("XenServer 7.1")]
    public async Task Before_7_5_the_domain_type_comes_from_HVM_boot_policy(string product)
    {
        var sim = Create(product);

        var vms = await sim.Driver.ListVmsAsync(Ct);

        var listing = Assert.Single(sim.Runner.History, r => IsXe(r.Request, "vm-list"));
        Assert.DoesNotContain("domain-type", listing.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("HVM-boot-policy", listing.StandardOutput, StringComparison.Ordinal);
        Assert.Equal([GuestType.PV, GuestType.HVM], vms.Select(v => v.DomainType));
    }

    [Fact]
    public async Task From_7_5_the_domain_type_field_is_read()
    {
        var sim = Create(ProductProfile.CitrixHypervisor82);

        var vms = await sim.Driver.ListVmsAsync(Ct);

        var listing = Assert.Single(sim.Runner.History, r => IsXe(r.Request, "vm-list"));
        Assert.Contains("domain-type ( RW): pv", listing.StandardOutput, StringComparison.Ordinal);
        Assert.Equal([GuestType.PV, GuestType.HVM], vms.Select(v => v.DomainType));
    }

    [Fact]
    public async Task A_running_VM_has_its_domain_id_and_host()
    {
        var sim = Create(ProductProfile.XcpNg82, b => b.WithVm("runner", GuestType.PV, VmPowerState.Running));

        var vm = await sim.Driver.FindVmAsync("runner", Ct);

        Assert.Equal(VmPowerState.Running, vm.PowerState);
        Assert.Equal(sim.Host.Vm("runner").DomId, vm.DomId);
        Assert.Equal(sim.Host.Uuid, vm.ResidentOn);
    }

    [Fact]
    public async Task A_name_several_VMs_share_is_refused_with_their_uuids()
    {
        var sim = Create(configure: b => b.WithVm("twin", GuestType.HVM).WithVm("twin", GuestType.PV));
        var twins = sim.Host.Vms.Where(v => v.NameLabel == "twin").Select(v => v.Uuid.ToString()).ToList();

        var error = await Assert.ThrowsAsync<Dom0Exception>(() => sim.Driver.FindVmAsync("twin", Ct));

        Assert.Equal(FailureCause.InvalidInput, error.Cause);
        Assert.Equal(2, twins.Count);
        Assert.All(twins, uuid => Assert.Contains(uuid, error.Failure.Message, StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_unknown_name_or_uuid_is_VmNotFound()
    {
        var sim = Create();

        var byName = await Assert.ThrowsAsync<Dom0Exception>(() => sim.Driver.FindVmAsync("no such vm", Ct));
        var byUuid = await Assert.ThrowsAsync<Dom0Exception>(() => sim.Driver.FindVmAsync(XenUuid.NewUuid().ToString(), Ct));

        Assert.Equal(FailureCause.VmNotFound, byName.Cause);
        Assert.Contains("no such vm", byName.Failure.Message, StringComparison.Ordinal);
        Assert.Equal(FailureCause.VmNotFound, byUuid.Cause);
    }

    [Fact]
    public async Task Dom0_and_snapshots_are_not_VMs()
    {
        var sim = Create();
        var pv = sim.Vm(DefaultDevices.PvVmName);
        await sim.Driver.SnapshotVmAsync(pv, "before", Ct);

        var vms = await sim.Driver.ListVmsAsync(Ct);
        var dom0 = await Assert.ThrowsAsync<Dom0Exception>(() => sim.Driver.FindVmAsync(sim.Host.ControlDomain.Uuid.ToString(), Ct));

        Assert.Equal([DefaultDevices.PvVmName, DefaultDevices.HvmVmName], vms.Select(v => v.NameLabel));
        Assert.Equal(FailureCause.VmNotFound, dom0.Cause);
    }
}

using Passthrough.Contracts.Messaging;
using Passthrough.Simulation;
using Passthrough.Simulation.Model;
using static Passthrough.Xen.Tests.Driver.SimHost;

namespace Passthrough.Xen.Tests.Driver;

/// <summary>VM shutdown, start and snapshots.</summary>
public sealed class PowerTests
{
    private static readonly TimeSpan CleanDeadline = TimeSpan.FromSeconds(120);

    private static SimHost WithRunningVm(ProductProfile product) =>
        Create(product, b => b.WithVm("busy", GuestType.HVM, VmPowerState.Running));

    [Theory]
    [MemberData(nameof(AllProducts), MemberType = typeof(SimHost))]
    public async Task A_running_VM_shuts_down_cleanly(string product)
    {
        var sim = WithRunningVm(Product(product));
        var vm = sim.Vm("busy");
        var log = sim.Watch();

        var result = await sim.Driver.ShutdownVmAsync(vm, CleanDeadline, allowForce: false, Ct);

        Assert.Equal(new ShutdownResult(true, false), result);
        Assert.Equal(VmPowerState.Halted, sim.Host.Vm("busy").PowerState);
        Assert.Equal(1, log.Count("xe vm-shutdown"));
        Assert.DoesNotContain(log.Requests, r => r.Arguments.Contains("--force"));
    }

    [Fact]
    public async Task Shutting_down_a_halted_VM_does_nothing()
    {
        var sim = Create(ProductProfile.XcpNg82);
        var before = sim.Capture();
        var log = sim.Watch();

        var result = await sim.Driver.ShutdownVmAsync(sim.Vm(DefaultDevices.PvVmName), CleanDeadline, allowForce: true, Ct);

        Assert.Equal(new ShutdownResult(false, false), result);
        Assert.False(log.Ran("xe vm-shutdown"));
        Assert.Equal(before, sim.Capture());
    }

    [Fact]
    public async Task A_VM_that_hangs_in_shutdown_is_forced_off_after_the_deadline_when_allowed()
    {
        var sim = WithRunningVm(ProductProfile.XcpNg83);
        var vm = sim.Vm("busy");
        sim.Faults.HangCommand("xe vm-shutdown");
        var log = sim.Watch();

        var result = await sim.Drive(() => sim.Driver.ShutdownVmAsync(vm, CleanDeadline, allowForce: true, Ct), TimeSpan.FromSeconds(5));

        Assert.Equal(new ShutdownResult(true, true), result);
        Assert.Equal(VmPowerState.Halted, sim.Host.Vm("busy").PowerState);
        Assert.True(sim.Time.GetUtcNow() - Start >= CleanDeadline, "forced before the clean deadline");
        var forced = Assert.Single(log.Requests, r => r.Arguments.Contains("--force"));
        Assert.Equal(["vm-shutdown", $"uuid={vm}", "--force"], forced.Arguments);
    }

    [Fact]
    public async Task A_VM_that_hangs_in_shutdown_is_not_forced_when_forcing_is_not_allowed()
    {
        var sim = WithRunningVm(ProductProfile.XenServer71);
        var vm = sim.Vm("busy");
        sim.Faults.HangCommand("xe vm-shutdown");
        var log = sim.Watch();

        var error = await Assert.ThrowsAsync<Dom0Exception>(() => sim.Drive(() => sim.Driver.ShutdownVmAsync(vm, CleanDeadline, allowForce: false, Ct), TimeSpan.FromSeconds(5)));

        Assert.Equal(FailureCause.Timeout, error.Cause);
        Assert.Contains(vm.ToString(), error.Failure.Message, StringComparison.Ordinal);
        Assert.NotNull(error.Failure.FixHint);
        Assert.Equal(VmPowerState.Running, sim.Host.Vm("busy").PowerState);
        Assert.DoesNotContain(log.Requests, r => r.Arguments.Contains("--force"));
    }

    [Theory]
    [MemberData(nameof(AllProducts), MemberType = typeof(SimHost))]
    public async Task A_VM_starts_with_its_device_when_the_device_is_on_pciback_and_the_IOMMU_is_on(string product)
    {
        var sim = Create(product);
        var vm = sim.Vm(DefaultDevices.PvVmName);
        await sim.Driver.BindToPcibackAsync(DefaultDevices.PassthroughNic, Ct);
        await sim.Driver.MergePciKeyAsync(vm, [DefaultDevices.PassthroughNic], Ct);

        var result = await sim.Driver.StartVmAsync(vm, Ct);

        Assert.True(result.WasHalted);
        Assert.NotNull(result.DomId);
        Assert.Equal(sim.Host.Vm(DefaultDevices.PvVmName).DomId, result.DomId);
        Assert.Equal([DefaultDevices.PassthroughNic], await sim.Driver.GetDomainPciAsync(result.DomId.Value, Ct));
        var again = await sim.Driver.StartVmAsync(vm, Ct);
        Assert.Equal(new StartResult(false, result.DomId), again);
    }

    [Theory]
    [MemberData(nameof(ProductsNeedingIommu), MemberType = typeof(SimHost))]
    public async Task From_Xen_4_13_a_start_without_IOMMU_fails_as_IommuOff_with_xapis_own_text_and_a_hint(string product)
    {
        var sim = Create(product, b => b.WithIommu(false));
        var vm = sim.Vm(DefaultDevices.PvVmName);
        await sim.Driver.BindToPcibackAsync(DefaultDevices.PassthroughNic, Ct);
        await sim.Driver.MergePciKeyAsync(vm, [DefaultDevices.PassthroughNic], Ct);

        var error = await Assert.ThrowsAsync<Dom0Exception>(() => sim.Driver.StartVmAsync(vm, Ct));

        var start = Assert.Single(sim.Runner.History, r => IsXe(r.Request, "vm-start"));
        Assert.Equal(FailureCause.IommuOff, error.Cause);
        Assert.Equal(start.StandardError.Trim(), error.Failure.OriginalText);
        Assert.Contains("Invalid_argument(\"IOMMU unavailable\")", error.Failure.OriginalText, StringComparison.Ordinal);
        Assert.StartsWith("start the VM failed", error.Failure.Message, StringComparison.Ordinal);
        Assert.Contains("VT-d", error.Failure.FixHint, StringComparison.Ordinal);
        Assert.Equal(VmPowerState.Halted, sim.Host.Vm(DefaultDevices.PvVmName).PowerState);
    }

    [Fact]
    public async Task Before_Xen_4_13_an_HVM_start_without_IOMMU_fails_as_DeviceCannotBeAdded_while_PV_still_starts()
    {
        var sim = Create(ProductProfile.XenServer65, b => b.WithIommu(false));
        var hvm = sim.Vm(DefaultDevices.HvmVmName);
        var pv = sim.Vm(DefaultDevices.PvVmName);
        await sim.Driver.BindToPcibackAsync(DefaultDevices.PassthroughNic, Ct);
        await sim.Driver.BindToPcibackAsync(DefaultDevices.UsbController, Ct);
        await sim.Driver.MergePciKeyAsync(hvm, [DefaultDevices.PassthroughNic], Ct);
        await sim.Driver.MergePciKeyAsync(pv, [DefaultDevices.UsbController], Ct);

        var error = await Assert.ThrowsAsync<Dom0Exception>(() => sim.Driver.StartVmAsync(hvm, Ct));
        var started = await sim.Driver.StartVmAsync(pv, Ct);

        Assert.Equal(FailureCause.DeviceCannotBeAdded, error.Cause);
        Assert.Contains("Device.PCI.Cannot_add(0000:03:00.0", error.Failure.OriginalText, StringComparison.Ordinal);
        Assert.NotNull(error.Failure.FixHint);
        Assert.True(started.WasHalted);
    }

    [Fact]
    public async Task A_start_with_a_device_still_on_its_dom0_driver_fails_with_xenopsds_text()
    {
        var sim = Create(ProductProfile.XcpNg82);
        var vm = sim.Vm(DefaultDevices.HvmVmName);
        await sim.Driver.MergePciKeyAsync(vm, [DefaultDevices.PassthroughNic], Ct);

        var error = await Assert.ThrowsAsync<Dom0Exception>(() => sim.Driver.StartVmAsync(vm, Ct));

        Assert.Equal(FailureCause.DeviceCannotBeAdded, error.Cause);
        Assert.Contains("Device or resource busy", error.Failure.OriginalText, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(AllProducts), MemberType = typeof(SimHost))]
    public async Task A_snapshot_revert_restores_the_pci_key_and_destroying_the_snapshot_twice_is_fine(string product)
    {
        var sim = Create(product);
        var vm = sim.Vm(DefaultDevices.HvmVmName);
        var before = sim.Capture();

        var snapshot = await sim.Driver.SnapshotVmAsync(vm, "before passthrough", Ct);
        Assert.Equal(snapshot, Assert.Single(sim.Host.Vm(DefaultDevices.HvmVmName).Snapshots).Uuid);
        await sim.Driver.MergePciKeyAsync(vm, [DefaultDevices.Gpu, DefaultDevices.GpuAudio], Ct);

        await sim.Driver.RevertSnapshotAsync(snapshot, Ct);
        Assert.Null(await sim.Driver.ReadPciKeyAsync(vm, Ct));

        await sim.Driver.DestroySnapshotAsync(snapshot, Ct);
        await sim.Driver.DestroySnapshotAsync(snapshot, Ct);

        Assert.Empty(sim.Host.Vm(DefaultDevices.HvmVmName).Snapshots);
        Assert.Equal(before, sim.Capture());
    }

    [Theory]
    [MemberData(nameof(AllProducts), MemberType = typeof(SimHost))]
    public async Task Listing_snapshots_names_each_one_of_that_vm_only(string product)
    {
        var sim = Create(product);
        var vm = sim.Vm(DefaultDevices.HvmVmName);
        Assert.Empty(await sim.Driver.ListSnapshotsAsync(vm, Ct));
        var first = await sim.Driver.SnapshotVmAsync(vm, "before passthrough [1]", Ct);
        var second = await sim.Driver.SnapshotVmAsync(vm, "nightly", Ct);
        await sim.Driver.SnapshotVmAsync(sim.Vm(DefaultDevices.PvVmName), "other vm", Ct);

        var listed = await sim.Driver.ListSnapshotsAsync(vm, Ct);

        Assert.Equal(
            new HashSet<SnapshotInfo> { new(first, "before passthrough [1]"), new(second, "nightly") },
            listed.ToHashSet());
    }

    [Fact]
    public async Task A_snapshot_command_gets_the_snapshot_timeout_not_the_ordinary_one()
    {
        var sim = Create(ProductProfile.XcpNg83, options: new Dom0DriverOptions { CommandTimeout = TimeSpan.FromSeconds(5), SnapshotTimeout = TimeSpan.FromMinutes(7) });
        var vm = sim.Vm(DefaultDevices.PvVmName);

        var snapshot = await sim.Driver.SnapshotVmAsync(vm, "slow", Ct);
        await sim.Driver.RevertSnapshotAsync(snapshot, Ct);
        await sim.Driver.DestroySnapshotAsync(snapshot, Ct);

        var snapshotCommands = sim.Runner.History.Where(r => r.Request.Arguments is ["vm-snapshot", ..] or ["snapshot-revert", ..] or ["snapshot-uninstall", ..]).ToList();
        Assert.Equal(3, snapshotCommands.Count);
        Assert.All(snapshotCommands, r => Assert.Equal(TimeSpan.FromMinutes(7), r.Request.Timeout));
    }

    [Fact]
    public async Task A_revert_brings_back_a_pci_key_set_before_the_snapshot()
    {
        var sim = Create(ProductProfile.XcpNg83);
        var vm = sim.Vm(DefaultDevices.PvVmName);
        await sim.Driver.MergePciKeyAsync(vm, [DefaultDevices.PassthroughNic], Ct);
        var snapshot = await sim.Driver.SnapshotVmAsync(vm, "with nic", Ct);
        await sim.Driver.RemoveFromPciKeyAsync(vm, [DefaultDevices.PassthroughNic], Ct);

        await sim.Driver.RevertSnapshotAsync(snapshot, Ct);

        Assert.Equal("0/0000:03:00.0", await sim.Driver.ReadPciKeyAsync(vm, Ct));
    }
}

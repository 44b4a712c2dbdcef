using Passthrough.Contracts.HostCommands;
using Passthrough.Contracts.HostEvents;
using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Messaging;
using Passthrough.Contracts.Pci;
using Passthrough.HostAgent.Preflight;
using Passthrough.Simulation;
using Passthrough.Simulation.Model;
using Passthrough.Xen;

namespace Passthrough.HostAgent.Tests;

/// <summary>
/// <see cref="PreflightCheck"/> as a pure function. Inventories are read once by the real driver and parsers from
/// simulated hosts of each product (whose outputs follow the real fixtures), then varied in memory: no I/O in the check.
/// </summary>
public sealed class PreflightCheckTests
{
    private static readonly Guid Saga = Guid.NewGuid();

    private static async Task<(HostInventory Inventory, string HideList, SimHost Sim)> ReadAsync(ProductProfile product, Func<SimulatedHostBuilder, SimulatedHostBuilder>? configure = null)
    {
        var sim = new SimHost(product, configure);
        var driver = new Dom0Driver(sim.Runner);
        return (await driver.GetInventoryAsync(AgentHost.Ct), await driver.ReadNextBootHideListTextAsync(AgentHost.Ct), sim);
    }

    private static RunPreflight Request(SimHost sim, VmId vm, PreflightOptions? options = null, params PciAddress[] devices) =>
        new(Saga, SagaStep.Preflight, 1, Guid.NewGuid(), sim.Id, vm, devices, options ?? new PreflightOptions(HideMode.Dynamic, false, false));

    private static PreflightRefused Refused(ISagaReply reply) =>
        reply as PreflightRefused ?? throw new Xunit.Sdk.XunitException($"expected a refusal, got {reply}");

    private static PreflightPassed Passed(ISagaReply reply) =>
        reply as PreflightPassed ?? throw new Xunit.Sdk.XunitException($"expected a pass, got {string.Join("; ", ((PreflightRefused)reply).Reasons.Select(r => r.Message))}");

    [Fact]
    public async Task A_sound_request_passes_with_the_before_state_facts()
    {
        var (inventory, hide, sim) = await ReadAsync(ProductProfile.XcpNg83, b => b.HiddenAtBoot("(0000:02:00.0)"));
        var vm = sim.Vm(DefaultDevices.PvVmName);

        var passed = Passed(PreflightCheck.Run(Request(sim, vm, null, DefaultDevices.PassthroughNic), inventory, hide));

        Assert.Equal(vm, passed.Vm);
        Assert.Equal(DefaultDevices.PvVmName, passed.VmName);
        Assert.Equal(VmPowerState.Halted, passed.PowerState);
        Assert.Equal(GuestType.PV, passed.DomainType);
        Assert.Null(passed.VmPciKey);
        Assert.Equal("xen-pciback.hide=(0000:02:00.0)", passed.NextBootHideList);
        Assert.Equal(inventory.Facts.BootId, passed.HostBootId);
        Assert.True(passed.IommuEnabled);
        Assert.True(passed.Dom0AccessApi);
        Assert.Equal("igb", Assert.Single(passed.Devices).Driver);
    }

    [Fact]
    public async Task An_absent_hide_list_is_reported_as_null()
    {
        var (inventory, hide, sim) = await ReadAsync(ProductProfile.XcpNg82);
        var passed = Passed(PreflightCheck.Run(Request(sim, sim.Vm(DefaultDevices.PvVmName), null, DefaultDevices.PassthroughNic), inventory, hide));
        Assert.Equal("", hide);
        Assert.Null(passed.NextBootHideList);
    }

    [Fact]
    public async Task Malformed_input_is_refused()
    {
        var (inventory, hide, sim) = await ReadAsync(ProductProfile.XcpNg83);
        var vm = sim.Vm(DefaultDevices.PvVmName);

        var none = Refused(PreflightCheck.Run(Request(sim, vm), inventory, hide));
        Assert.Contains(none.Reasons, r => r.Cause == FailureCause.InvalidInput && r.Message.Contains("no device", StringComparison.Ordinal));

        var twice = Refused(PreflightCheck.Run(Request(sim, vm, null, DefaultDevices.PassthroughNic, DefaultDevices.PassthroughNic), inventory, hide));
        Assert.Contains(twice.Reasons, r => r.Cause == FailureCause.InvalidInput && r.Message.Contains("more than once", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_vm_that_does_not_exist_or_runs_elsewhere_is_refused_and_a_halted_one_without_residence_passes()
    {
        var (inventory, hide, sim) = await ReadAsync(ProductProfile.XcpNg83);
        var missing = Refused(PreflightCheck.Run(Request(sim, VmId.Parse("99999999-9999-4999-8999-999999999999"), null, DefaultDevices.PassthroughNic), inventory, hide));
        Assert.Equal(FailureCause.VmNotFound, Assert.Single(missing.Reasons).Cause);

        var vm = sim.Vm(DefaultDevices.HvmVmName);
        var elsewhere = inventory with
        {
            Vms = [.. inventory.Vms.Select(v => v.Uuid == vm ? v with { PowerState = VmPowerState.Running, ResidentOn = XenUuid.Parse("77777777-7777-4777-8777-777777777777") } : v)],
        };
        var refused = Refused(PreflightCheck.Run(Request(sim, vm, null, DefaultDevices.PassthroughNic), elsewhere, hide));
        Assert.Equal(FailureCause.VmNotOnHost, Assert.Single(refused.Reasons).Cause);

        Passed(PreflightCheck.Run(Request(sim, vm, null, DefaultDevices.PassthroughNic), inventory, hide));
    }

    [Fact]
    public async Task A_device_the_host_lacks_is_refused_naming_it()
    {
        var (inventory, hide, sim) = await ReadAsync(ProductProfile.XcpNg83);
        var refused = Refused(PreflightCheck.Run(Request(sim, sim.Vm(DefaultDevices.PvVmName), null, PciAddress.Parse("0000:42:00.0")), inventory, hide));
        var reason = Assert.Single(refused.Reasons);
        Assert.Equal(FailureCause.DeviceNotFound, reason.Cause);
        Assert.Contains("0000:42:00.0", reason.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_an_iommu_hvm_is_refused_and_pv_only_on_old_xen_when_allowed()
    {
        var (modern, modernHide, modernSim) = await ReadAsync(ProductProfile.XcpNg82, b => b.WithIommu(false));
        var allow = new PreflightOptions(HideMode.Dynamic, AllowPvWithoutIommu: true, AllowHostReboot: false);
        Assert.Equal(FailureCause.IommuOff, Assert.Single(Refused(PreflightCheck.Run(Request(modernSim, modernSim.Vm(DefaultDevices.HvmVmName), allow, DefaultDevices.PassthroughNic), modern, modernHide)).Reasons).Cause);
        // Xen 4.13+: even an allowed PV request needs the IOMMU.
        Assert.Equal(FailureCause.IommuOff, Assert.Single(Refused(PreflightCheck.Run(Request(modernSim, modernSim.Vm(DefaultDevices.PvVmName), allow, DefaultDevices.PassthroughNic), modern, modernHide)).Reasons).Cause);

        var (old, oldHide, oldSim) = await ReadAsync(ProductProfile.XenServer65, b => b.WithIommu(false));
        Assert.False(old.Facts.IommuMandatoryForPv);
        Assert.Equal(FailureCause.IommuOff, Assert.Single(Refused(PreflightCheck.Run(Request(oldSim, oldSim.Vm(DefaultDevices.PvVmName), null, DefaultDevices.PassthroughNic), old, oldHide)).Reasons).Cause);
        Passed(PreflightCheck.Run(Request(oldSim, oldSim.Vm(DefaultDevices.PvVmName), allow, DefaultDevices.PassthroughNic), old, oldHide));
        Assert.Equal(FailureCause.IommuOff, Assert.Single(Refused(PreflightCheck.Run(Request(oldSim, oldSim.Vm(DefaultDevices.HvmVmName), allow, DefaultDevices.PassthroughNic), old, oldHide)).Reasons).Cause);
    }

    [Fact]
    public async Task A_gpu_is_refused_on_citrix_hypervisor_pointing_to_xencenter_and_accepted_on_xcp_ng()
    {
        var (citrix, citrixHide, citrixSim) = await ReadAsync(ProductProfile.CitrixHypervisor82);
        var refused = Refused(PreflightCheck.Run(Request(citrixSim, citrixSim.Vm(DefaultDevices.HvmVmName), null, DefaultDevices.Gpu, DefaultDevices.GpuAudio), citrix, citrixHide));
        var reason = Assert.Single(refused.Reasons);
        Assert.Equal(FailureCause.DisplayDeviceOnXenServer, reason.Cause);
        Assert.Contains("XenCenter", reason.FixHint, StringComparison.Ordinal);

        var (xcp, xcpHide, xcpSim) = await ReadAsync(ProductProfile.XcpNg83);
        Passed(PreflightCheck.Run(Request(xcpSim, xcpSim.Vm(DefaultDevices.HvmVmName), null, DefaultDevices.Gpu, DefaultDevices.GpuAudio), xcp, xcpHide));
    }

    [Fact]
    public async Task The_boot_device_and_the_management_nic_are_refused()
    {
        var (inventory, hide, sim) = await ReadAsync(ProductProfile.XcpNg83);
        var refused = Refused(PreflightCheck.Run(Request(sim, sim.Vm(DefaultDevices.PvVmName), null, DefaultDevices.SataController, DefaultDevices.ManagementNic), inventory, hide));
        Assert.Contains(refused.Reasons, r => r.Cause == FailureCause.BootDevice && r.Message.Contains("0000:00:17.0", StringComparison.Ordinal));
        Assert.Contains(refused.Reasons, r => r.Cause == FailureCause.ManagementNic && r.Message.Contains("0000:00:1f.6", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_device_in_another_vms_pci_key_is_refused()
    {
        var (inventory, hide, sim) = await ReadAsync(ProductProfile.XcpNg83, b => b.WithVm("owner", GuestType.HVM, VmPowerState.Halted, new KeyValuePair<string, string>("pci", "0/0000:03:00.0")));
        var refused = Refused(PreflightCheck.Run(Request(sim, sim.Vm(DefaultDevices.PvVmName), null, DefaultDevices.PassthroughNic), inventory, hide));
        var reason = Assert.Single(refused.Reasons);
        Assert.Equal(FailureCause.DeviceOwnedByAnotherVm, reason.Cause);
        Assert.Contains(sim.Vm("owner").ToString(), reason.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_siblings_are_refused_with_suggestions_or_added_when_allowed()
    {
        var (inventory, hide, sim) = await ReadAsync(ProductProfile.XcpNg83);
        var vm = sim.Vm(DefaultDevices.HvmVmName);
        var refused = Refused(PreflightCheck.Run(Request(sim, vm, null, DefaultDevices.Gpu), inventory, hide));
        Assert.Equal(FailureCause.SiblingFunctionsMissing, Assert.Single(refused.Reasons).Cause);
        Assert.Equal([DefaultDevices.GpuAudio], refused.SuggestedSiblings);

        var passed = Passed(PreflightCheck.Run(Request(sim, vm, new PreflightOptions(HideMode.Dynamic, false, false, IncludeSiblings: true), DefaultDevices.Gpu), inventory, hide));
        Assert.Equal([DefaultDevices.Gpu, DefaultDevices.GpuAudio], passed.Devices.Select(d => d.Address));
    }

    [Fact]
    public async Task A_mode_that_needs_a_reboot_is_refused_when_rebooting_is_not_allowed()
    {
        var (inventory, hide, sim) = await ReadAsync(ProductProfile.XcpNg83);
        var vm = sim.Vm(DefaultDevices.PvVmName);
        foreach (var mode in new[] { HideMode.PersistWithReboot, HideMode.Dom0AccessApi })
        {
            var refused = Refused(PreflightCheck.Run(Request(sim, vm, new PreflightOptions(mode, false, AllowHostReboot: false), DefaultDevices.PassthroughNic), inventory, hide));
            Assert.Contains("reboot", Assert.Single(refused.Reasons).Message, StringComparison.Ordinal);
            Passed(PreflightCheck.Run(Request(sim, vm, new PreflightOptions(mode, false, AllowHostReboot: true), DefaultDevices.PassthroughNic), inventory, hide));
        }
    }

    [Fact]
    public async Task Every_reason_is_reported_at_once()
    {
        var (inventory, hide, sim) = await ReadAsync(ProductProfile.CitrixHypervisor82, b => b.WithIommu(false));
        var refused = Refused(PreflightCheck.Run(
            Request(sim, sim.Vm(DefaultDevices.HvmVmName), new PreflightOptions(HideMode.PersistWithReboot, false, false), DefaultDevices.Gpu, DefaultDevices.SataController),
            inventory, hide));

        Assert.Equal(
            [FailureCause.SiblingFunctionsMissing, FailureCause.DisplayDeviceOnXenServer, FailureCause.BootDevice, FailureCause.IommuOff, FailureCause.InvalidInput],
            refused.Reasons.Select(r => r.Cause));
    }

    [Fact]
    public async Task A_passthrough_already_in_place_passes_with_a_warning()
    {
        var (inventory, hide, sim) = await ReadAsync(ProductProfile.XcpNg82, b => b
            .HiddenAtBoot("(0000:03:00.0)")
            .WithVm("done", GuestType.PV, VmPowerState.Halted, new KeyValuePair<string, string>("pci", "0/0000:03:00.0")));
        Assert.Equal("pciback", inventory.Devices.Single(d => d.Address == DefaultDevices.PassthroughNic).Driver);

        var passed = Passed(PreflightCheck.Run(Request(sim, sim.Vm("done"), null, DefaultDevices.PassthroughNic), inventory, hide));

        Assert.Contains(passed.Warnings, w => w.Contains("already", StringComparison.Ordinal));
    }
}

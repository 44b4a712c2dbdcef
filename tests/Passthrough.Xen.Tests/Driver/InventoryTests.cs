using Passthrough.Contracts.Messaging;
using Passthrough.Contracts.Pci;
using Passthrough.Simulation;
using Passthrough.Simulation.Model;
using static Passthrough.Xen.Tests.Driver.SimHost;

namespace Passthrough.Xen.Tests.Driver;

/// <summary>GetInventoryAsync: sysfs, lspci and XAPI joined, dom0 access, owners, boot device, management NIC, warnings.</summary>
public sealed class InventoryTests
{
    [Theory]
    [MemberData(nameof(AllProducts), MemberType = typeof(SimHost))]
    public async Task Every_function_is_listed_with_its_ids_class_driver_and_name(string product)
    {
        var sim = Create(product);

        var inventory = await sim.Driver.GetInventoryAsync(Ct);

        Assert.Equal(sim.Host.PciFunctions.Select(f => f.Address), inventory.Devices.Select(d => d.Address));
        foreach (var function in sim.Host.PciFunctions)
        {
            var device = inventory.Devices.Single(d => d.Address == function.Address);
            Assert.Equal(PciDeviceId.Create(function.VendorId, function.DeviceId), device.Id);
            Assert.Equal(function.Class, device.Class);
            Assert.Equal(function.BoundDriver, device.Driver);
            Assert.Equal(Dom0Access.Enabled, device.Dom0Access);
            Assert.NotNull(device.DeviceName);
            Assert.Contains(function.DeviceName, device.DeviceName, StringComparison.Ordinal);
        }

        var usb = inventory.Devices.Single(d => d.Address == DefaultDevices.UsbController);
        Assert.Equal("8086:a36d", usb.Id.ToString());
        Assert.Equal("0c0330", usb.Class.ToString());
        Assert.Equal("xhci_hcd", usb.Driver);
        Assert.Null(usb.XapiUuid);
    }

    [Fact]
    public async Task On_8_3_XAPI_objects_give_uuids_and_names_and_the_GPU_and_its_audio_are_siblings()
    {
        var sim = Create(ProductProfile.XcpNg83);

        var inventory = await sim.Driver.GetInventoryAsync(Ct);

        var gpu = inventory.Devices.Single(d => d.Address == DefaultDevices.Gpu);
        var audio = inventory.Devices.Single(d => d.Address == DefaultDevices.GpuAudio);
        Assert.Equal(sim.Pci(DefaultDevices.Gpu), gpu.XapiUuid);
        Assert.Equal(sim.Pci(DefaultDevices.GpuAudio), audio.XapiUuid);
        Assert.Equal([DefaultDevices.GpuAudio], gpu.Siblings);
        Assert.Equal([DefaultDevices.Gpu], audio.Siblings);
        Assert.Equal("NVIDIA Corporation", gpu.VendorName);
        Assert.Equal("GK104 [GeForce GTX 690]", gpu.DeviceName);
        Assert.Null(gpu.Driver);
        Assert.Equal("snd_hda_intel", audio.Driver);
        Assert.Null(inventory.Devices.Single(d => d.Address == DefaultDevices.UsbController).XapiUuid);
        Assert.All(inventory.Devices.Where(d => d.XapiUuid is null), d => Assert.Null(d.VendorName));
    }

    [Theory]
    [MemberData(nameof(ProductsWithoutPciCommands), MemberType = typeof(SimHost))]
    public async Task Without_the_pci_commands_no_XAPI_object_is_asked_for_and_names_come_from_lspci(string product)
    {
        var sim = Create(product);
        var log = sim.Watch();

        var inventory = await sim.Driver.GetInventoryAsync(Ct);

        Assert.False(log.Ran("xe pci-list"));
        Assert.False(log.Ran("xe pci-get-dom0-access-status"));
        Assert.All(inventory.Devices, d => Assert.Null(d.XapiUuid));
        var gpu = inventory.Devices.Single(d => d.Address == DefaultDevices.Gpu);
        Assert.Equal("NVIDIA Corporation GK104 [GeForce GTX 690]", gpu.DeviceName);
        Assert.Equal([DefaultDevices.GpuAudio], gpu.Siblings);
    }

    [Theory]
    [MemberData(nameof(AllProducts), MemberType = typeof(SimHost))]
    public async Task The_boot_device_and_the_management_NIC_are_flagged_and_nothing_else(string product)
    {
        var sim = Create(product);

        var inventory = await sim.Driver.GetInventoryAsync(Ct);

        Assert.Equal(DefaultDevices.SataController, inventory.BootDevice);
        Assert.Equal(DefaultDevices.ManagementNic, inventory.ManagementNic);
        Assert.Equal([DefaultDevices.SataController], inventory.Devices.Where(d => d.IsBootDevice).Select(d => d.Address));
        Assert.Equal([DefaultDevices.ManagementNic], inventory.Devices.Where(d => d.IsManagementNic).Select(d => d.Address));
    }

    [Theory]
    [InlineData("XenServer 6.5")]
    [InlineData("XenServer 7.1")]
    [InlineData("XCP-ng 8.2")]
    [InlineData("XCP-ng 8.3")]
    public async Task Dom0_access_compares_the_booted_and_next_boot_hide_lists_and_8_3_reads_it_from_xapi(string product)
    {
        // Booted with the NIC and the NVMe drive hidden; since then the NVMe drive was dropped and the GPU added for the next boot.
        var sim = Create(product, b => b.HiddenAtBoot("(0000:03:00.0)(0000:02:00.0)"));
        sim.SetNextBootHide("xen-pciback.hide=(0000:03:00.0)(0000:01:00.0)");
        var log = sim.Watch();

        var inventory = await sim.Driver.GetInventoryAsync(Ct);

        Dom0Access Access(PciAddress address) => inventory.Devices.Single(d => d.Address == address).Dom0Access;
        Assert.Equal(Dom0Access.Disabled, Access(DefaultDevices.PassthroughNic));
        Assert.Equal(Dom0Access.EnableOnReboot, Access(DefaultDevices.Nvme));
        Assert.Equal(Dom0Access.DisableOnReboot, Access(DefaultDevices.Gpu));
        Assert.Equal(Dom0Access.Enabled, Access(DefaultDevices.UsbController));
        Assert.Equal("pciback", inventory.Devices.Single(d => d.Address == DefaultDevices.PassthroughNic).Driver);
        Assert.Equal("xen-pciback.hide=(0000:03:00.0)(0000:02:00.0)", inventory.CurrentHideList);
        Assert.Equal("xen-pciback.hide=(0000:03:00.0)(0000:01:00.0)", inventory.NextBootHideList);
        var fromApi = Product(product).HasPciCommands;
        Assert.Equal(fromApi ? sim.Host.PciFunctions.Count(f => f.XapiUuid is not null) : 0, log.Count("xe pci-get-dom0-access-status"));
    }

    [Fact]
    public async Task A_device_bound_to_pciback_only_dynamically_keeps_dom0_access_enabled_as_xapi_defines_it()
    {
        foreach (var product in new[] { ProductProfile.XenServer71, ProductProfile.XcpNg83 })
        {
            var sim = Create(product);
            await sim.Driver.BindToPcibackAsync(DefaultDevices.PassthroughNic, Ct);

            var nic = (await sim.Driver.GetInventoryAsync(Ct)).Devices.Single(d => d.Address == DefaultDevices.PassthroughNic);

            Assert.Equal("pciback", nic.Driver);
            Assert.Equal(Dom0Access.Enabled, nic.Dom0Access);
        }
    }

    [Theory]
    [MemberData(nameof(AllProducts), MemberType = typeof(SimHost))]
    public async Task The_owner_VM_comes_from_other_config_pci_and_a_malformed_key_is_a_warning(string product)
    {
        var sim = Create(product, b => b
            .WithVm("gpu-vm", GuestType.HVM, VmPowerState.Halted, new KeyValuePair<string, string>("pci", "0/0000:01:00.0,0/0000:01:00.1"))
            .WithVm("broken-vm", GuestType.PV, VmPowerState.Halted, new KeyValuePair<string, string>("pci", "0/03:00.0")));

        var inventory = await sim.Driver.GetInventoryAsync(Ct);

        var owner = sim.Vm("gpu-vm");
        Assert.Equal(owner, inventory.Devices.Single(d => d.Address == DefaultDevices.Gpu).OwnerVm);
        Assert.Equal(owner, inventory.Devices.Single(d => d.Address == DefaultDevices.GpuAudio).OwnerVm);
        Assert.Null(inventory.Devices.Single(d => d.Address == DefaultDevices.PassthroughNic).OwnerVm);
        var warning = Assert.Single(inventory.Warnings, w => w.Contains(sim.Vm("broken-vm").ToString(), StringComparison.Ordinal));
        Assert.Contains("broken-vm", warning, StringComparison.Ordinal);
        Assert.Contains("0/03:00.0", warning, StringComparison.Ordinal);
        Assert.Equal([DefaultDevices.PvVmName, DefaultDevices.HvmVmName, "gpu-vm", "broken-vm"], inventory.Vms.Select(v => v.NameLabel));
    }

    [Theory]
    [MemberData(nameof(AllProducts), MemberType = typeof(SimHost))]
    public async Task A_malformed_next_boot_hide_list_is_a_warning_and_the_rest_of_the_inventory_still_comes(string product)
    {
        var sim = Create(product);
        sim.SetNextBootHide("xen-pciback.hide=(0000:03:00.0)(garbage)");

        var inventory = await sim.Driver.GetInventoryAsync(Ct);

        Assert.Contains(inventory.Warnings, w => w.StartsWith("next-boot hide list is malformed", StringComparison.Ordinal) && w.Contains("(garbage)", StringComparison.Ordinal));
        Assert.Null(inventory.NextBootHideList);
        Assert.Equal(sim.Host.PciFunctions.Count, inventory.Devices.Count);
        Assert.All(inventory.Devices, d => Assert.Equal(Dom0Access.Enabled, d.Dom0Access));
    }

    [Fact]
    public async Task A_short_form_hide_list_is_reported_as_needing_the_full_form()
    {
        var sim = Create(ProductProfile.XenServer71);
        sim.SetNextBootHide("xen-pciback.hide=(03:00.0)");

        var inventory = await sim.Driver.GetInventoryAsync(Ct);

        Assert.Contains("next-boot hide list: (03:00.0) should be written (0000:03:00.0)", inventory.Warnings);
        Assert.Equal(Dom0Access.DisableOnReboot, inventory.Devices.Single(d => d.Address == DefaultDevices.PassthroughNic).Dom0Access);
    }

    [Theory]
    [InlineData("XenServer 6.5")]
    [InlineData("XCP-ng 8.3")]
    public async Task Without_lspci_every_function_is_still_listed_from_sysfs(string product)
    {
        var sim = Create(product, b => b.WithoutLspci());

        var inventory = await sim.Driver.GetInventoryAsync(Ct);

        Assert.Equal(sim.Host.PciFunctions.Select(f => f.Address), inventory.Devices.Select(d => d.Address));
        Assert.Contains(inventory.Warnings, w => w.Contains("lspci is not available", StringComparison.Ordinal));
        var usb = inventory.Devices.Single(d => d.Address == DefaultDevices.UsbController);
        Assert.Equal("8086:a36d", usb.Id.ToString());
        Assert.Equal("xhci_hcd", usb.Driver);
        Assert.Null(usb.DeviceName);
        var gpu = inventory.Devices.Single(d => d.Address == DefaultDevices.Gpu);
        Assert.Equal(Product(product).HasPciCommands ? "GK104 [GeForce GTX 690]" : null, gpu.DeviceName);
    }

    [Fact]
    public async Task The_inventory_lists_guest_VMs_only()
    {
        var sim = Create(ProductProfile.XcpNg82);

        var inventory = await sim.Driver.GetInventoryAsync(Ct);

        Assert.Equal([DefaultDevices.PvVmName, DefaultDevices.HvmVmName], inventory.Vms.Select(v => v.NameLabel));
    }
}

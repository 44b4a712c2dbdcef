using Passthrough.Contracts.Messaging;
using Passthrough.Simulation;
using Passthrough.Simulation.Guest;
using Passthrough.Simulation.Model;
using Passthrough.Xen;

namespace Passthrough.Lab.Tests;

public sealed class SimulatedFleetTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string Describe(SimulatedFleet fleet) => string.Join(Environment.NewLine, fleet.Hosts.Select(h =>
        $"{h.HostId} {h.Name} {h.Profile.Name} [{string.Join(' ', h.Devices.Select(d => $"{d.Address}={d.Kind}"))}] " +
        string.Join(' ', h.Vms.Select(v => $"{v.VmId}:{v.Name}:{v.GuestType}"))));

    private static string Describe(AssignmentPlan plan) =>
        string.Join(Environment.NewLine, plan.Assignments.Select(a => $"{a.Host} {a.Vm} {a.Kind} {string.Join(',', a.Devices)}"));

    [Fact]
    public async Task The_same_seed_builds_the_same_fleet_and_plan_and_another_seed_another_fleet()
    {
        var spec = new FleetSpec { Hosts = 3, VmsPerHost = 3, Seed = 7 };
        await using var first = SimulatedFleet.Create(spec);
        await using var second = SimulatedFleet.Create(spec);
        await using var other = SimulatedFleet.Create(spec with { Seed = 8 });

        Assert.Equal(Describe(first), Describe(second));
        Assert.Equal(Describe(first.PlanAssignments()), Describe(second.PlanAssignments()));
        Assert.Empty(first.Hosts.Select(h => h.HostId).Intersect(other.Hosts.Select(h => h.HostId)));
        Assert.Empty(first.Vms.Select(v => v.VmId).Intersect(other.Vms.Select(v => v.VmId)));
        Assert.Equal(9, first.Vms.Select(v => v.VmId).Distinct().Count());
        Assert.NotEqual(first.WorkingDirectory, second.WorkingDirectory);
    }

    [Fact]
    public async Task Hosts_rotate_through_the_products_and_vms_alternate_pv_and_hvm()
    {
        await using var fleet = SimulatedFleet.Create(new FleetSpec { Hosts = 4, VmsPerHost = 3 });

        Assert.Equal(
            [ProductProfile.XcpNg83, ProductProfile.CitrixHypervisor82, ProductProfile.XenServer71, ProductProfile.XcpNg83],
            fleet.Hosts.Select(h => h.Profile));
        Assert.All(fleet.Hosts, h => Assert.Equal([GuestType.PV, GuestType.HVM, GuestType.PV], h.Vms.Select(v => v.GuestType)));
        Assert.Equal(["lab-001-vm01-pv", "lab-001-vm02-hvm", "lab-001-vm03-pv"], fleet.Hosts[0].Vms.Select(v => v.Name));
        Assert.All(fleet.Vms, v => Assert.Equal(VmPowerState.Halted, v.Host.Host.Vm(v.Name).PowerState));
    }

    [Fact]
    public async Task A_layout_gives_each_host_the_promised_devices_as_dom0_lists_them()
    {
        await using var fleet = SimulatedFleet.Create(new FleetSpec { Hosts = 2, Devices = new HostDeviceLayout(UsbControllers: 3, Nics: 2, NvmeDrives: 2) });

        foreach (var host in fleet.Hosts)
        {
            var kinds = host.Devices.GroupBy(d => d.Kind).ToDictionary(g => g.Key, g => g.Count());
            Assert.Equal(3, kinds[FleetDeviceKind.UsbController]);
            Assert.Equal(2, kinds[FleetDeviceKind.Nic]);
            Assert.Equal(2, kinds[FleetDeviceKind.Nvme]);
            Assert.Equal(1, kinds[FleetDeviceKind.Gpu]);
            Assert.Equal(1, kinds[FleetDeviceKind.GpuAudio]);

            // The simulated dom0 really has them, with the promised ids and drivers, and the candidates exclude what dom0 needs.
            var inventory = await new Dom0Driver(host.Runner).GetInventoryAsync(Ct);
            foreach (var device in host.Devices)
            {
                var listed = Assert.Single(inventory.Devices, d => d.Address == device.Address);
                Assert.Equal(device.Id, listed.Id);
                Assert.Equal(device.Driver, listed.Driver);
                Assert.False(listed.IsBootDevice || listed.IsManagementNic, $"{device.Address} is a boot device or the management NIC");
            }

            Assert.Equal(DefaultDevices.SataController, inventory.BootDevice);
            Assert.Equal(DefaultDevices.ManagementNic, inventory.ManagementNic);
            var gpu = Assert.Single(inventory.Devices, d => d.Class.BaseClass == 0x03);
            Assert.Contains(DefaultDevices.GpuAudio, gpu.Siblings);
            Assert.Equal(3, inventory.Devices.Count(d => d.Class.BaseClass == 0x02)); // two candidates + the management NIC
        }
    }

    [Fact]
    public async Task The_plan_gives_each_device_to_one_vm_each_vm_one_group_and_never_a_device_dom0_needs()
    {
        await using var fleet = SimulatedFleet.Create(new FleetSpec { Hosts = 3, VmsPerHost = 4, Seed = 3 });

        var plan = fleet.PlanAssignments();

        Assert.Equal(plan.Assignments.Count, plan.Assignments.Select(a => a.Vm).Distinct().Count());
        var devices = plan.Assignments.SelectMany(a => a.Devices.Select(d => (a.Host, d))).ToList();
        Assert.Equal(devices.Count, devices.Distinct().Count());
        Assert.DoesNotContain(devices, d => d.d == DefaultDevices.SataController || d.d == DefaultDevices.ManagementNic);
        foreach (var host in fleet.Hosts)
        {
            var mine = plan.ForHost(host.HostId).ToList();
            Assert.All(mine, a => Assert.Contains(a.Vm, host.Vms.Select(v => v.VmId)));
            Assert.Equal(4, mine.Count); // four VMs, more candidates than VMs: every VM gets a group
            var gpu = mine.SingleOrDefault(a => a.Kind == FleetDeviceKind.Gpu);
            if (host.Profile.Brand == "XCP-ng")
            {
                Assert.NotNull(gpu);
                Assert.Equal([DefaultDevices.Gpu, DefaultDevices.GpuAudio], gpu.Devices);
                Assert.Equal(GuestType.HVM, gpu.GuestType);
            }
            else
            {
                // XenServer passes display devices through the pGPU path, not these sagas' plain PCI path.
                Assert.Null(gpu);
            }

            Assert.DoesNotContain(mine, a => a.Kind == FleetDeviceKind.GpuAudio);
        }
    }

    [Fact]
    public async Task Devices_left_over_when_vms_run_out_stay_with_dom0()
    {
        await using var fleet = SimulatedFleet.Create(new FleetSpec { VmsPerHost = 1 });

        var assignment = Assert.Single(fleet.PlanAssignments().Assignments);

        // The only VM is PV, so the GPU (HVM first) is not planned; the first other candidate by address is.
        Assert.Equal(FleetDeviceKind.UsbController, assignment.Kind);
        Assert.Equal([DefaultDevices.UsbController], assignment.Devices);
    }

    [Fact]
    public void An_invalid_spec_is_refused_with_the_property_named()
    {
        var error = Assert.Throws<ArgumentException>(() => SimulatedFleet.Create(new FleetSpec { Hosts = 0, Devices = new HostDeviceLayout(Nics: 9), TimeScale = -1 }));

        Assert.Contains("Hosts must be at least 1, not 0", error.Message, StringComparison.Ordinal);
        Assert.Contains("Devices.Nics must be between 1 and 4, not 9", error.Message, StringComparison.Ordinal);
        Assert.Contains("TimeScale must be 0 or more, not -1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Guest_trees_live_under_the_working_directory_which_dispose_deletes()
    {
        var parent = Directory.CreateTempSubdirectory("lab-tests-").FullName;
        try
        {
            var fleet = SimulatedFleet.Create(new FleetSpec
            {
                WorkingDirectory = parent,
                InitialPowerState = VmPowerState.Running,
                GuestProfiles = slot => slot.VmIndex == 0 ? new SimulatedGuestProfile(Pcifront: SimulatedPcifront.Absent) : new SimulatedGuestProfile(),
            });
            var pv = fleet.Vms[0];

            Assert.StartsWith(parent, fleet.WorkingDirectory, StringComparison.Ordinal);
            Assert.StartsWith(fleet.WorkingDirectory, pv.Guest.Root, StringComparison.Ordinal);
            Assert.True(File.Exists(Path.Combine(pv.Guest.Root, "proc/sys/kernel/random/boot_id")), "a running VM's tree is rendered");
            Assert.Equal(SimulatedPcifront.Absent, pv.Guest.Profile.Pcifront);
            Assert.Equal(SimulatedPcifront.ModuleLoadedAtBoot, fleet.Vms[1].Guest.Profile.Pcifront);

            await fleet.DisposeAsync();

            Assert.False(Directory.Exists(fleet.WorkingDirectory));
        }
        finally
        {
            Directory.Delete(parent, recursive: true);
        }
    }

    [Fact]
    public async Task The_time_scale_shrinks_latencies_and_reboot_phases()
    {
        await using var fleet = SimulatedFleet.Create(new FleetSpec { Latency = SimulatedLatency.Realistic, TimeScale = 0.01 });
        var host = fleet.Hosts[0];

        Assert.Equal(TimeSpan.FromMilliseconds(60), host.Runner.Latency.For(new Passthrough.Shell.CommandRequest("xe", ["vm-start"])));
        Assert.Equal(TimeSpan.FromSeconds(0.9), host.Host.Timings.RebootDowntime);
    }
}

using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Messaging;
using Passthrough.Contracts.Pci;

namespace Passthrough.Lab;

/// <summary>A device group meant for a VM: one passthrough saga's worth.</summary>
/// <param name="Host">The host of both.</param>
/// <param name="Vm">The VM that should get the devices.</param>
/// <param name="VmName">The VM's name-label.</param>
/// <param name="GuestType">The VM's guest type.</param>
/// <param name="Kind">What the group is (a GPU group holds the GPU and its audio function).</param>
/// <param name="Devices">The functions, siblings included, in address order.</param>
public sealed record PlannedAssignment(HostId Host, VmId Vm, string VmName, GuestType GuestType, FleetDeviceKind Kind, IReadOnlyList<PciAddress> Devices);

/// <summary>
/// Which devices are meant for which VM in a <see cref="SimulatedFleet"/>: each device goes to at most one VM, each VM
/// gets at most one group (so a fleet rollout can run one saga per VM, since the coordinator allows one active saga per
/// VM), sibling functions travel together, and neither the boot disk controller nor the management NIC is ever planned
/// (they are not candidates, see <see cref="FleetHost.Devices"/>).
/// </summary>
/// <remarks>
/// Per host: the GPU group goes first, to the first HVM VM, and only on XCP-ng: XenServer / Citrix Hypervisor pass
/// display-class devices through the pGPU path, not the plain PCI path these sagas use. The other devices follow in
/// address order, one per remaining VM in VM order. Devices left over when VMs run out stay with dom0. Deterministic.
/// </remarks>
public sealed class AssignmentPlan
{
    private AssignmentPlan(IReadOnlyList<PlannedAssignment> assignments) => Assignments = assignments;

    /// <summary>The planned assignments, host by host.</summary>
    public IReadOnlyList<PlannedAssignment> Assignments { get; }

    /// <summary>The assignments of one host.</summary>
    public IEnumerable<PlannedAssignment> ForHost(HostId host) => Assignments.Where(a => a.Host == host);

    /// <summary>The assignment meant for <paramref name="vm"/>, or null.</summary>
    public PlannedAssignment? ForVm(VmId vm) => Assignments.FirstOrDefault(a => a.Vm == vm);

    /// <summary>Plans <paramref name="fleet"/>.</summary>
    public static AssignmentPlan For(SimulatedFleet fleet)
    {
        ArgumentNullException.ThrowIfNull(fleet);
        var assignments = new List<PlannedAssignment>();
        foreach (var host in fleet.Hosts)
        {
            var free = host.Vms.ToList();
            void Plan(FleetVm vm, FleetDeviceKind kind, IEnumerable<PciAddress> devices)
            {
                free.Remove(vm);
                assignments.Add(new PlannedAssignment(host.HostId, vm.VmId, vm.Name, vm.GuestType, kind, [.. devices.Order()]));
            }

            var gpu = host.Devices.Single(d => d.Kind == FleetDeviceKind.Gpu);
            var plainPathForDisplay = string.Equals(host.Profile.Brand, "XCP-ng", StringComparison.Ordinal);
            if (plainPathForDisplay && free.FirstOrDefault(v => v.GuestType == GuestType.HVM) is { } hvm)
            {
                Plan(hvm, FleetDeviceKind.Gpu, gpu.Siblings.Prepend(gpu.Address));
            }

            // GPU and audio are one group; the audio function alone is never planned.
            var rest = host.Devices.Where(d => d.Kind is not (FleetDeviceKind.Gpu or FleetDeviceKind.GpuAudio));
            foreach (var (device, vm) in rest.Zip(free.ToList()))
            {
                Plan(vm, device.Kind, device.Siblings.Prepend(device.Address));
            }
        }

        return new AssignmentPlan(assignments);
    }
}

using Passthrough.Contracts.CoordinatorEvents;
using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Pci;
using Passthrough.Simulation.Model;

namespace Passthrough.Lab.Runs;

/// <summary>Where a device stands on its host, read from the simulated host itself (never from what a saga claims).</summary>
internal enum DevicePlacement
{
    /// <summary>Wholly with its VM: bound to pciback, hidden for the next boot, in the VM's pci key, attached to its running domain.</summary>
    WithVm,

    /// <summary>Wholly with dom0 as at the start: its original driver, hidden only if it was, in no VM's pci key, attached nowhere.</summary>
    WithDom0,

    /// <summary>Neither: some facts say VM, others dom0.</summary>
    HalfAssigned,
}

/// <summary>
/// The checks a lab run ends with, made on the simulated hosts: every saga ended; no device is half-assigned; each device
/// is where the outcome of the last saga on it says; every rolled-back saga left its VM and devices as they were before it
/// (the whole host, when every saga on the host rolled back).
/// </summary>
public static class LabInvariants
{
    /// <summary>Every saga has an outcome.</summary>
    public const string SagasEnded = "every-saga-ended";

    /// <summary>Every device a saga touched is wholly with its VM or wholly with dom0.</summary>
    public const string NoDeviceHalfAssigned = "no-device-half-assigned";

    /// <summary>Every device is where the outcome of the last saga on it says.</summary>
    public const string OutcomesMatchHosts = "outcomes-match-hosts";

    /// <summary>Every rolled-back saga left its VM and devices (and a host whose sagas all rolled back, the whole host) as before.</summary>
    public const string RollbacksExact = "rolled-back-hosts-equal-their-start";

    /// <summary>Checks that every saga ended; names the stuck ones with their state and step.</summary>
    public static LabInvariant CheckEnded(IReadOnlyList<LabSagaReport> sagas)
    {
        ArgumentNullException.ThrowIfNull(sagas);
        var stuck = sagas.Where(s => s.Outcome is null)
            .Select(s => $"saga {s.Id:D} ({s.Kind} {s.VmName}) did not end: state {s.State}, step {(s.Steps.Count == 0 ? "none" : s.Steps[^1].Step.ToString())}")
            .ToList();
        return new LabInvariant(
            SagasEnded,
            "Every saga reached an outcome (Completed, RolledBack or RollbackFailed) within the run's timeout.",
            stuck.Count == 0,
            stuck.Count == 0 ? [$"{sagas.Count} of {sagas.Count} sagas ended"] : stuck);
    }

    /// <summary>
    /// Checks every device the sagas touched on the fleet's hosts as they are now: whether it is wholly with the VM of
    /// the last saga on it or wholly back with dom0 (<see cref="NoDeviceHalfAssigned"/>), and whether that is what the
    /// saga's outcome says (<see cref="OutcomesMatchHosts"/>).
    /// </summary>
    /// <param name="fleet">The fleet, read now.</param>
    /// <param name="start">The fleet before any saga: each device's original driver and hide state.</param>
    /// <param name="sagas">Every saga, in submission order (the last one on a device decides where it belongs).</param>
    public static IReadOnlyList<LabInvariant> CheckDevices(SimulatedFleet fleet, FleetStateCapture start, IReadOnlyList<LabSagaReport> sagas)
    {
        ArgumentNullException.ThrowIfNull(fleet);
        ArgumentNullException.ThrowIfNull(start);
        ArgumentNullException.ThrowIfNull(sagas);
        var halfAssigned = new List<string>();
        var mismatched = new List<string>();
        var placements = new Dictionary<DevicePlacement, int>();
        var expected = 0;
        var lastSagaOf = new Dictionary<(string Host, string Device), LabSagaReport>();
        foreach (var saga in sagas)
        {
            foreach (var device in saga.Devices)
            {
                lastSagaOf[(saga.Host, device)] = saga;
            }
        }

        foreach (var ((hostText, deviceText), saga) in lastSagaOf)
        {
            var host = fleet.Host(HostId.Parse(hostText));
            var device = PciAddress.Parse(deviceText);
            var vm = VmId.Parse(saga.Vm);
            // The runner's capture moves the host's boot cycle to now before the model is read.
            host.Runner.Capture();
            var (placement, facts) = Place(host.Host, start[host.HostId], vm, device);
            placements[placement] = placements.GetValueOrDefault(placement) + 1;
            var where = $"{device} on {host.Name} (VM {saga.VmName})";
            if (placement == DevicePlacement.HalfAssigned)
            {
                halfAssigned.Add($"{where} is half-assigned: {facts}");
            }

            DevicePlacement? wanted = (saga.Kind, saga.Outcome) switch
            {
                (SagaKind.Passthrough, SagaOutcome.Completed) or (SagaKind.Release, SagaOutcome.RolledBack) => DevicePlacement.WithVm,
                (SagaKind.Passthrough, SagaOutcome.RolledBack) or (SagaKind.Release, SagaOutcome.Completed) => DevicePlacement.WithDom0,
                _ => null, // RollbackFailed or unfinished: nothing is promised, only that the device is not half-assigned.
            };
            if (wanted is { } want)
            {
                expected++;
                if (placement != want)
                {
                    mismatched.Add($"{where}: saga {saga.Id:D} ({saga.Kind} {saga.Outcome}) says {Describe(want)}, the host has it {Describe(placement)}: {facts}");
                }
            }
        }

        var summary = $"{lastSagaOf.Count} devices checked: {placements.GetValueOrDefault(DevicePlacement.WithVm)} with their VM, " +
                      $"{placements.GetValueOrDefault(DevicePlacement.WithDom0)} with dom0, {placements.GetValueOrDefault(DevicePlacement.HalfAssigned)} half-assigned";
        return
        [
            new LabInvariant(
                NoDeviceHalfAssigned,
                "Every device a saga touched is wholly with its VM (pciback, hidden for the next boot, in the VM's other-config:pci, attached to the running domain) " +
                "or wholly with dom0 as at the start (original driver, hidden only if it was, in no pci key, attached nowhere).",
                halfAssigned.Count == 0,
                halfAssigned.Count == 0 ? [summary] : halfAssigned),
            new LabInvariant(
                OutcomesMatchHosts,
                "Each device is where the outcome of the last saga on it says: with the VM after a completed passthrough, with dom0 after a rolled-back one or a completed release.",
                mismatched.Count == 0,
                mismatched.Count == 0 ? [$"{expected} devices where their saga's outcome says"] : mismatched),
        ];
    }

    /// <summary>
    /// Checks the rolled-back sagas of one phase against the fleet as it was before the phase: each one's VM (power
    /// state, other-config, snapshots) and devices (driver, hide) equal, and the whole host equal when every saga of the
    /// phase on that host rolled back.
    /// </summary>
    /// <param name="phases">Each phase's sagas with the fleet captured before and after it.</param>
    public static LabInvariant CheckRollbacks(IReadOnlyList<(IReadOnlyList<LabSagaReport> Sagas, FleetStateCapture Before, FleetStateCapture After)> phases)
    {
        ArgumentNullException.ThrowIfNull(phases);
        var violations = new List<string>();
        var sagasChecked = 0;
        var hostsChecked = 0;
        foreach (var (sagas, before, after) in phases)
        {
            foreach (var saga in sagas.Where(s => s.Outcome == SagaOutcome.RolledBack))
            {
                sagasChecked++;
                var host = HostId.Parse(saga.Host);
                var (then, now) = (before[host], after[host]);
                var vm = VmId.Parse(saga.Vm).Uuid;
                var vmThen = then.Vms.FirstOrDefault(v => v.Uuid == vm);
                var vmNow = now.Vms.FirstOrDefault(v => v.Uuid == vm);
                if (vmThen != vmNow)
                {
                    violations.Add($"saga {saga.Id:D} rolled back but VM {saga.VmName} differs: before {Show(vmThen)}; after {Show(vmNow)}");
                }

                var hideThen = HideList(then.NextBootHideRaw);
                var hideNow = HideList(now.NextBootHideRaw);
                foreach (var device in saga.Devices.Select(PciAddress.Parse))
                {
                    var driverThen = then.Functions.FirstOrDefault(f => f.Address == device)?.Driver;
                    var driverNow = now.Functions.FirstOrDefault(f => f.Address == device)?.Driver;
                    if (driverThen != driverNow || hideThen.Contains(device) != hideNow.Contains(device))
                    {
                        violations.Add($"saga {saga.Id:D} rolled back but {device} on {saga.HostName} differs: driver {driverThen ?? "(unbound)"} → {driverNow ?? "(unbound)"}, " +
                                       $"hidden {hideThen.Contains(device)} → {hideNow.Contains(device)}");
                    }
                }
            }

            foreach (var group in sagas.GroupBy(s => s.Host).Where(g => g.All(s => s.Outcome == SagaOutcome.RolledBack)))
            {
                hostsChecked++;
                var host = HostId.Parse(group.Key);
                var lines = before[host].DiffAgainst(after[host]);
                if (lines.Count > 0)
                {
                    violations.Add($"every saga on {group.First().HostName} rolled back but the host differs from its start: {string.Join("; ", lines)}");
                }
            }
        }

        return new LabInvariant(
            RollbacksExact,
            "Every rolled-back saga left its VM and devices exactly as before it; a host whose sagas all rolled back is equal to its start state as a whole.",
            violations.Count == 0,
            violations.Count == 0 ? [$"{sagasChecked} rolled-back sagas and {hostsChecked} wholly rolled-back hosts equal their start"] : violations);
    }

    internal static (DevicePlacement Placement, string Facts) Place(SimulatedHost host, HostStateSnapshot start, VmId vmId, PciAddress device) => host.Read(h =>
    {
        var function = h.Function(device);
        var vm = h.FindVm(vmId.Uuid) ?? throw new InvalidOperationException($"Host {h.Name} has no VM {vmId}.");
        var others = h.Vms.Where(v => !v.IsControlDomain && v.Uuid != vm.Uuid).ToList();
        var hidden = HideList(h.NextBootHideRaw).Contains(device);
        var startDriver = start.Functions.FirstOrDefault(f => f.Address == device)?.Driver;
        var hiddenAtStart = HideList(start.NextBootHideRaw).Contains(device);
        var inKey = PciKey(vm).Contains(device);
        var inOtherKey = others.Any(v => PciKey(v).Contains(device));
        var attached = vm.HasDomain && vm.AttachedPcis.Contains(device);
        var attachedElsewhere = others.Any(v => v.HasDomain && v.AttachedPcis.Contains(device));
        var facts = $"driver {function.BoundDriver ?? "(unbound)"} (at start {startDriver ?? "(unbound)"}), hidden for next boot {Yes(hidden)}, " +
                    $"in the VM's pci key {Yes(inKey)}, attached to its running domain {Yes(attached)}, in another VM's pci key {Yes(inOtherKey)}, " +
                    $"attached to another domain {Yes(attachedElsewhere)}";
        if (inOtherKey || attachedElsewhere)
        {
            return (DevicePlacement.HalfAssigned, facts);
        }

        if (function.BoundDriver == "pciback" && hidden && inKey && attached)
        {
            return (DevicePlacement.WithVm, facts);
        }

        return function.BoundDriver == startDriver && hidden == hiddenAtStart && !inKey && !attached
            ? (DevicePlacement.WithDom0, facts)
            : (DevicePlacement.HalfAssigned, facts);
    });

    private static PciAssignmentList PciKey(SimulatedVm vm) =>
        vm.OtherConfig.TryGetValue(PciAssignmentList.Key, out var text) && PciAssignmentList.TryParse(text, out var list, out _) ? list : PciAssignmentList.Empty;

    // A hide list the parser refuses counts as hiding nothing: xapi and pciback would not honour it either.
    private static Dom0HideList HideList(string? raw) =>
        raw is not null && Dom0HideList.TryParse(raw, out var parsed, out _) ? parsed.List : Dom0HideList.Empty;

    private static string Yes(bool value) => value ? "yes" : "no";

    private static string Describe(DevicePlacement placement) => placement switch
    {
        DevicePlacement.WithVm => "with its VM",
        DevicePlacement.WithDom0 => "with dom0",
        _ => "half-assigned",
    };

    private static string Show(VmStateSnapshot? vm) =>
        vm is null ? "(absent)" : $"{vm.PowerState}, other-config {{{string.Join("; ", vm.OtherConfig.Select(p => $"{p.Key}: {p.Value}"))}}}, {vm.Snapshots.Count} snapshots";
}

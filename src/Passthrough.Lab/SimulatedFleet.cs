using System.Globalization;
using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Messaging;
using Passthrough.Simulation;
using Passthrough.Simulation.Guest;
using Passthrough.Simulation.Model;

namespace Passthrough.Lab;

/// <summary>One simulated XenServer host of a <see cref="SimulatedFleet"/>.</summary>
public sealed class FleetHost
{
    internal FleetHost(int index, SimulatedHost host, SimulatedHostRunner runner, IReadOnlyList<FleetDevice> devices)
    {
        Index = index;
        Host = host;
        Runner = runner;
        HostId = new HostId(host.Uuid);
        Devices = devices;
    }

    /// <summary>The host's position in the fleet (0-based).</summary>
    public int Index { get; }

    /// <summary>The host's id (its XAPI uuid): what the host agent's queue and the API use.</summary>
    public HostId HostId { get; }

    /// <summary>The host's name-label, e.g. <c>lab-001</c>.</summary>
    public string Name => Host.Name;

    /// <summary>The product it runs.</summary>
    public ProductProfile Profile => Host.Profile;

    /// <summary>The host model.</summary>
    public SimulatedHost Host { get; }

    /// <summary>The in-process dom0 (what a host agent uses as its <c>ICommandRunner</c>): faults, <c>Capture()</c>, history.</summary>
    public SimulatedHostRunner Runner { get; }

    /// <summary>The passthrough candidates, in address order (never the boot disk controller or the management NIC).</summary>
    public IReadOnlyList<FleetDevice> Devices { get; }

    /// <summary>The VMs on this host, in the order they were built (PV, HVM, PV, …).</summary>
    public IReadOnlyList<FleetVm> Vms { get; internal set; } = [];
}

/// <summary>One VM of a <see cref="SimulatedFleet"/> and the guest inside it.</summary>
public sealed class FleetVm
{
    internal FleetVm(FleetHost host, VmId vmId, string name, GuestType guestType, SimulatedGuest guest)
    {
        Host = host;
        VmId = vmId;
        Name = name;
        GuestType = guestType;
        Guest = guest;
    }

    /// <summary>The host the VM belongs to.</summary>
    public FleetHost Host { get; }

    /// <summary>The VM's id (its XAPI uuid).</summary>
    public VmId VmId { get; }

    /// <summary>Its name-label, e.g. <c>lab-001-vm02-hvm</c>.</summary>
    public string Name { get; }

    /// <summary>PV or HVM.</summary>
    public GuestType GuestType { get; }

    /// <summary>The guest: its tree (<see cref="SimulatedGuest.Root"/>), profile (with or without pcifront) and faults (e.g. AgentNeverStarts).</summary>
    public SimulatedGuest Guest { get; }
}

/// <summary>
/// A simulated fleet in one process: hosts of rotating products with a device layout each, PV and HVM VMs, a guest tree
/// per VM under a working directory of its own (deleted on dispose). The same <see cref="FleetSpec"/> (seed included)
/// builds the same hosts, VMs, uuids and devices. Guest agents are kept in step by <see cref="GuestAgentSupervisor"/>
/// (<see cref="LabServiceCollectionExtensions.AddSimulatedFleet"/>).
/// </summary>
public sealed class SimulatedFleet : IAsyncDisposable
{
    private readonly Dictionary<HostId, FleetHost> _hostsById;
    private readonly Dictionary<VmId, FleetVm> _vmsById;
    private int _disposed;

    private SimulatedFleet(FleetSpec spec, TimeProvider time, string workingDirectory, IReadOnlyList<FleetHost> hosts)
    {
        Spec = spec;
        Time = time;
        WorkingDirectory = workingDirectory;
        Hosts = hosts;
        Vms = [.. hosts.SelectMany(h => h.Vms)];
        _hostsById = hosts.ToDictionary(h => h.HostId);
        _vmsById = Vms.ToDictionary(v => v.VmId);
    }

    /// <summary>The spec the fleet was built from.</summary>
    public FleetSpec Spec { get; }

    /// <summary>The clock of every host runner.</summary>
    public TimeProvider Time { get; }

    /// <summary>The directory holding every guest tree (one subdirectory per VM uuid); deleted on dispose.</summary>
    public string WorkingDirectory { get; }

    /// <summary>The hosts, in index order.</summary>
    public IReadOnlyList<FleetHost> Hosts { get; }

    /// <summary>Every VM, host by host.</summary>
    public IReadOnlyList<FleetVm> Vms { get; }

    /// <summary>Builds the fleet <paramref name="spec"/> describes.</summary>
    /// <param name="spec">The fleet's shape (validated here).</param>
    /// <param name="time">The clock of the hosts (latencies, reboots) and their boot time; default the system clock.</param>
    /// <exception cref="ArgumentException">The spec is invalid (the message names the property).</exception>
    public static SimulatedFleet Create(FleetSpec spec, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        time ??= TimeProvider.System;
        var parent = Path.GetFullPath(spec.WorkingDirectory ?? Path.GetTempPath());
        var workingDirectory = Path.Combine(parent, "passthrough-lab-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(workingDirectory);
        try
        {
            var latency = spec.Latency.Scaled(spec.Latency.Scale * spec.TimeScale);
            var hosts = new List<FleetHost>(spec.Hosts);
            for (var i = 0; i < spec.Hosts; i++)
            {
                hosts.Add(BuildHost(spec, i, time, latency, workingDirectory));
            }

            return new SimulatedFleet(spec, time, workingDirectory, hosts);
        }
        catch
        {
            Directory.Delete(workingDirectory, recursive: true);
            throw;
        }
    }

    /// <summary>The host with <paramref name="id"/>.</summary>
    /// <exception cref="KeyNotFoundException">No host of the fleet has that id.</exception>
    public FleetHost Host(HostId id) =>
        _hostsById.TryGetValue(id, out var host) ? host : throw new KeyNotFoundException($"The fleet has no host {id}.");

    /// <summary>The VM with <paramref name="id"/>.</summary>
    /// <exception cref="KeyNotFoundException">No VM of the fleet has that id.</exception>
    public FleetVm Vm(VmId id) =>
        _vmsById.TryGetValue(id, out var vm) ? vm : throw new KeyNotFoundException($"The fleet has no VM {id}.");

    /// <summary>The VM with <paramref name="id"/>, or null.</summary>
    public FleetVm? FindVm(VmId id) => _vmsById.GetValueOrDefault(id);

    /// <summary>Which device is meant for which VM (see <see cref="AssignmentPlan"/>); the same fleet always gets the same plan.</summary>
    public AssignmentPlan PlanAssignments() => AssignmentPlan.For(this);

    /// <summary>Closes every runner and deletes the working directory (stop the guest agents first).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        foreach (var host in Hosts)
        {
            await host.Runner.DisposeAsync().ConfigureAwait(false);
        }

        if (Directory.Exists(WorkingDirectory))
        {
            Directory.Delete(WorkingDirectory, recursive: true);
        }
    }

    private static FleetHost BuildHost(FleetSpec spec, int index, TimeProvider time, SimulatedLatency latency, string workingDirectory)
    {
        // Each host draws uuids from its own seed, derived from the fleet's, so hosts differ and a seed reproduces them all.
        var hostSeed = unchecked((spec.Seed * 1_000_003L) + index);
        var name = string.Create(CultureInfo.InvariantCulture, $"lab-{index + 1:000}");
        var scale = spec.TimeScale;
        var builder = new SimulatedHostBuilder(spec.Profiles[index % spec.Profiles.Count], hostSeed)
            .Named(name)
            .WithoutDefaultVms()
            .WithTimings(t =>
            {
                t.RebootDowntime *= scale;
                t.XapiNotListening *= scale;
                t.XapiInitialising *= scale;
            });
        var devices = FleetDevices.Apply(builder, spec.Devices, hostSeed);
        var vmNames = new List<(string Name, GuestType Type)>(spec.VmsPerHost);
        for (var j = 0; j < spec.VmsPerHost; j++)
        {
            var type = j % 2 == 0 ? GuestType.PV : GuestType.HVM;
            var vmName = string.Create(CultureInfo.InvariantCulture, $"{name}-vm{j + 1:00}-{(type == GuestType.PV ? "pv" : "hvm")}");
            builder.WithVm(vmName, type, spec.InitialPowerState);
            vmNames.Add((vmName, type));
        }

        var model = builder.Build(time);
        var runner = new SimulatedHostRunner(model, time, latency);
        var host = new FleetHost(index, model, runner, devices);
        var vms = new List<FleetVm>(vmNames.Count);
        for (var j = 0; j < vmNames.Count; j++)
        {
            var (vmName, type) = vmNames[j];
            var vmId = new VmId(model.Vm(vmName).Uuid);
            var profile = spec.GuestProfiles?.Invoke(new FleetVmSlot(index, j, type)) ?? new SimulatedGuestProfile();
            var guest = new SimulatedGuest(model, vmId.Uuid, Path.Combine(workingDirectory, vmId.ToString()), profile);
            guest.Refresh();
            vms.Add(new FleetVm(host, vmId, vmName, type, guest));
        }

        host.Vms = vms;
        return host;
    }
}

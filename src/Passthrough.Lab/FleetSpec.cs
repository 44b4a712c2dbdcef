using Passthrough.Contracts.Messaging;
using Passthrough.Simulation;
using Passthrough.Simulation.Guest;
using Passthrough.Simulation.Model;

namespace Passthrough.Lab;

/// <summary>
/// The passthrough candidates every simulated host carries, beyond its boot disk controller (SATA, dom0's root) and its
/// management NIC, which are never candidates. Every host also has one GPU with its HDMI audio function (siblings).
/// </summary>
/// <param name="UsbControllers">xHCI USB controllers (class 0c03, no XAPI object); 1 to <see cref="MaxPerKind"/>, default 2.</param>
/// <param name="Nics">Passthrough NICs (Intel I210, igb) besides the management NIC; 1 to <see cref="MaxPerKind"/>, default 2.</param>
/// <param name="NvmeDrives">NVMe drives (class 0108); 1 to <see cref="MaxPerKind"/>, default 1.</param>
public sealed record HostDeviceLayout(int UsbControllers = 2, int Nics = 2, int NvmeDrives = 1)
{
    /// <summary>The most functions of one kind a host gets (the extras sit behind their own root ports, which are finite).</summary>
    public const int MaxPerKind = 4;

    /// <summary>Two USB controllers, two NICs, one NVMe drive, the GPU and its audio.</summary>
    public static HostDeviceLayout Default { get; } = new();

    internal IEnumerable<string> Problems()
    {
        foreach (var (name, value) in new[] { (nameof(UsbControllers), UsbControllers), (nameof(Nics), Nics), (nameof(NvmeDrives), NvmeDrives) })
        {
            if (value is < 1 or > MaxPerKind)
            {
                yield return $"{nameof(FleetSpec.Devices)}.{name} must be between 1 and {MaxPerKind}, not {value}.";
            }
        }
    }
}

/// <summary>What a guest will be like, for <see cref="FleetSpec.GuestProfiles"/>.</summary>
/// <param name="HostIndex">The host's index in the fleet (0-based).</param>
/// <param name="VmIndex">The VM's index on its host (0-based).</param>
/// <param name="GuestType">PV (even indexes) or HVM (odd ones).</param>
public readonly record struct FleetVmSlot(int HostIndex, int VmIndex, GuestType GuestType);

/// <summary>
/// The shape of a <see cref="SimulatedFleet"/>. The same spec (seed included) builds the same fleet: host and VM uuids,
/// device layouts and the assignment plan.
/// </summary>
public sealed record FleetSpec
{
    /// <summary>The product releases hosts rotate through: XCP-ng 8.3, Citrix Hypervisor 8.2, XenServer 7.1.</summary>
    public static IReadOnlyList<ProductProfile> DefaultProfiles { get; } =
        [ProductProfile.XcpNg83, ProductProfile.CitrixHypervisor82, ProductProfile.XenServer71];

    /// <summary>How many hosts; at least 1, default 1.</summary>
    public int Hosts { get; init; } = 1;

    /// <summary>VMs per host, PV and HVM alternating (the first is PV); at least 1, default 2.</summary>
    public int VmsPerHost { get; init; } = 2;

    /// <summary>Fixes every uuid of the fleet; default 1.</summary>
    public long Seed { get; init; } = 1;

    /// <summary>The products host <c>i</c> gets <c>Profiles[i % Count]</c> of; default <see cref="DefaultProfiles"/>.</summary>
    public IReadOnlyList<ProductProfile> Profiles { get; init; } = DefaultProfiles;

    /// <summary>The passthrough candidates of every host; default <see cref="HostDeviceLayout.Default"/>.</summary>
    public HostDeviceLayout Devices { get; init; } = HostDeviceLayout.Default;

    /// <summary>dom0 command latencies; default <see cref="SimulatedLatency.None"/> (instant).</summary>
    public SimulatedLatency Latency { get; init; } = SimulatedLatency.None;

    /// <summary>
    /// A factor on every simulated duration: command latencies and the reboot phases (downtime, xapi initialising); 0.01
    /// turns a 90 s reboot into 0.9 s. Default 1. Must be 0 or more.
    /// </summary>
    public double TimeScale { get; init; } = 1.0;

    /// <summary>The power state every VM starts in: <see cref="VmPowerState.Halted"/> (default) or <see cref="VmPowerState.Running"/>.</summary>
    public VmPowerState InitialPowerState { get; init; } = VmPowerState.Halted;

    /// <summary>The directory under which the fleet creates its own directory of guest trees; default the system temp directory.</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>Each guest's kernel and frontend; default <see cref="SimulatedGuestProfile"/>'s defaults (pcifront loaded at boot).</summary>
    public Func<FleetVmSlot, SimulatedGuestProfile>? GuestProfiles { get; init; }

    /// <summary>Throws when the spec cannot build a fleet, naming the property and the value.</summary>
    /// <exception cref="ArgumentException">A property is out of range.</exception>
    public void Validate()
    {
        var problems = new List<string>();
        if (Hosts < 1)
        {
            problems.Add($"{nameof(Hosts)} must be at least 1, not {Hosts}.");
        }

        if (VmsPerHost < 1)
        {
            problems.Add($"{nameof(VmsPerHost)} must be at least 1, not {VmsPerHost}.");
        }

        if (Profiles is null || Profiles.Count == 0 || Profiles.Any(p => p is null))
        {
            problems.Add($"{nameof(Profiles)} must name at least one product profile, and no null ones.");
        }

        if (Devices is null)
        {
            problems.Add($"{nameof(Devices)} must be set.");
        }
        else
        {
            problems.AddRange(Devices.Problems());
        }

        if (Latency is null)
        {
            problems.Add($"{nameof(Latency)} must be set (use SimulatedLatency.None for instant commands).");
        }

        if (double.IsNaN(TimeScale) || TimeScale < 0)
        {
            problems.Add($"{nameof(TimeScale)} must be 0 or more, not {TimeScale}.");
        }

        if (InitialPowerState is not (VmPowerState.Halted or VmPowerState.Running))
        {
            problems.Add($"{nameof(InitialPowerState)} must be Halted or Running, not {InitialPowerState}.");
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid fleet spec: " + string.Join(" ", problems));
        }
    }
}

using System.Text.Json.Serialization;
using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Messaging;
using Passthrough.Contracts.Pci;

namespace Passthrough.Simulation.Model;

/// <summary>A VM record of the simulated pool (dom0 included, as <see cref="IsControlDomain"/>).</summary>
public sealed class SimulatedVm
{
    /// <summary>The VM's uuid.</summary>
    public required XenUuid Uuid { get; init; }

    /// <summary>name-label.</summary>
    public required string NameLabel { get; set; }

    /// <summary>name-description.</summary>
    public string NameDescription { get; set; } = string.Empty;

    /// <summary>PV or HVM (shown as <c>domain-type</c>, and as an empty or <c>BIOS order</c> <c>HVM-boot-policy</c>).</summary>
    public GuestType GuestType { get; set; } = GuestType.HVM;

    /// <summary>power-state.</summary>
    public VmPowerState PowerState { get; set; }

    /// <summary>other-config, in insertion order (xe prints it in that order).</summary>
    public OrderedDictionary<string, string> OtherConfig { get; init; } = [];

    /// <summary>The host the VM runs on (this host or a pool peer); null when halted.</summary>
    public XenUuid? ResidentOn { get; set; }

    /// <summary>The domain id while running; -1 when halted.</summary>
    public int DomId { get; set; } = -1;

    /// <summary>The functions plugged into the running domain (in plug order); empty when halted.</summary>
    public List<PciAddress> AttachedPcis { get; init; } = [];

    /// <summary>True for dom0's record (<c>is-control-domain=true</c>).</summary>
    public bool IsControlDomain { get; init; }

    /// <summary>The VM's system disk (a VDI), used for snapshot and uninstall output.</summary>
    public XenUuid? DiskUuid { get; init; }

    /// <summary>When the domain was started (xe <c>start-time</c>).</summary>
    public DateTimeOffset? StartTime { get; set; }

    /// <summary>The VM's snapshots, oldest first.</summary>
    public List<SimulatedSnapshot> Snapshots { get; init; } = [];

    /// <summary>True while running or paused (a domain exists).</summary>
    [JsonIgnore]
    public bool HasDomain => PowerState is VmPowerState.Running or VmPowerState.Paused;
}

/// <summary>A snapshot of a VM: a separate VM record (<c>is-a-snapshot=true</c>) holding the state a revert restores.</summary>
public sealed class SimulatedSnapshot
{
    /// <summary>The snapshot's uuid.</summary>
    public required XenUuid Uuid { get; init; }

    /// <summary>Its name-label (vm-snapshot new-name-label).</summary>
    public required string NameLabel { get; set; }

    /// <summary>When it was taken.</summary>
    public required DateTimeOffset SnapshotTime { get; init; }

    /// <summary>other-config as it was when taken (the <c>pci</c> key included).</summary>
    public OrderedDictionary<string, string> OtherConfig { get; init; } = [];

    /// <summary>The power state a revert leaves the VM in; halted for a disk snapshot.</summary>
    public VmPowerState PowerState { get; init; }

    /// <summary>The guest type when taken.</summary>
    public GuestType GuestType { get; init; } = GuestType.HVM;

    /// <summary>The snapshot's copy of the system disk.</summary>
    public XenUuid? DiskUuid { get; init; }
}

/// <summary>A NIC as dom0 sees it: a network device name backed by a PCI function, and its XAPI PIF.</summary>
public sealed class SimulatedNetDevice
{
    /// <summary>The device name, e.g. <c>eth0</c>.</summary>
    public required string Name { get; init; }

    /// <summary>The PCI function behind it.</summary>
    public required PciAddress Function { get; init; }

    /// <summary>The PIF's uuid.</summary>
    public required XenUuid PifUuid { get; init; }

    /// <summary>The network the PIF is on.</summary>
    public required XenUuid NetworkUuid { get; init; }

    /// <summary>The network's name-label, e.g. <c>Pool-wide network associated with eth0</c>.</summary>
    public string NetworkName { get; init; } = string.Empty;

    /// <summary>The MAC address.</summary>
    public required string Mac { get; init; }

    /// <summary>True for the management interface.</summary>
    public bool Management { get; init; }

    /// <summary>The IPv4 address (management only).</summary>
    public string IpAddress { get; init; } = string.Empty;
}

/// <summary>Another host of the pool (a migration target for host-evacuate); only its identity is simulated.</summary>
public sealed class SimulatedPeerHost
{
    /// <summary>The peer's host uuid.</summary>
    public required XenUuid Uuid { get; init; }

    /// <summary>The peer's name-label.</summary>
    public required string NameLabel { get; init; }

    /// <summary>Whether the peer accepts VMs.</summary>
    public bool Enabled { get; set; } = true;
}

using System.Text.Json;
using System.Text.Json.Serialization;
using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Pci;

namespace Passthrough.Simulation.Model;

/// <summary>
/// The whole state of one simulated XenServer host: product, IOMMU, boot cycle, PCI functions and their drivers,
/// pciback, the booted and next-boot dom0 command lines, the pool's VMs (dom0 included), NICs and pool peers.
/// </summary>
/// <remarks>
/// Plain mutable data so that it serialises to JSON (<see cref="ToJson"/> / <see cref="FromJson"/>) and another
/// process can load, change and save it. Thread safety: the interpreter holds <see cref="SyncRoot"/> for the whole of a
/// command; code that changes a host that an interpreter may be using does so through <see cref="Mutate"/>.
/// Build one with <see cref="SimulatedHostBuilder"/>.
/// </remarks>
public sealed class SimulatedHost
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        PreferredObjectCreationHandling = JsonObjectCreationHandling.Populate,
    };

    /// <summary>The host's uuid (<c>INSTALLATION_UUID</c>).</summary>
    public required XenUuid Uuid { get; init; }

    /// <summary>name-label and dom0 hostname.</summary>
    public required string Name { get; init; }

    /// <summary>Product and version behaviour.</summary>
    public required ProductProfile Profile { get; init; }

    /// <summary>Whether an IOMMU (VT-d / AMD-Vi) is enabled (chipset-info iommu, virt_caps *_directio).</summary>
    public bool IommuEnabled { get; set; } = true;

    /// <summary>The current boot id (<c>/proc/sys/kernel/random/boot_id</c>); new at every boot.</summary>
    public XenUuid BootId { get; set; }

    /// <summary>Whether the host accepts VMs (<c>xe host-disable</c> / <c>host-enable</c>).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Whether xapi re-enables the host when it finishes starting after a reboot (host-disable auto-enable, default true).</summary>
    public bool AutoEnable { get; set; } = true;

    /// <summary>The PCI functions, in address order.</summary>
    public List<SimulatedPciFunction> PciFunctions { get; init; } = [];

    /// <summary>Whether xen-pciback loaded at boot (it fails on a hide list it cannot parse).</summary>
    public bool PcibackLoaded { get; set; } = true;

    /// <summary>pciback's slot list: the functions it may claim (the booted hide list plus <c>new_slot</c> writes).</summary>
    public List<PciAddress> PcibackSlots { get; init; } = [];

    /// <summary>The dom0 kernel command line of the running boot (<c>/proc/cmdline</c>).</summary>
    public required string BootedDom0Cmdline { get; set; }

    /// <summary>
    /// The dom0 command line the next boot will use: what <c>xen-cmdline --set-dom0/--delete-dom0</c> edits. Tokens are
    /// kept exactly as written, so a malformed <c>xen-pciback.hide=</c> value survives to the next boot as it would on a host.
    /// </summary>
    public required string NextBootDom0Cmdline { get; set; }

    /// <summary>The Xen hypervisor command line (<c>xl info</c> xen_commandline).</summary>
    public string XenCmdline { get; set; } = "dom0_mem=4096M,max:4096M watchdog ucode=scan dom0_max_vcpus=1-8 crashkernel=256M,below=4G console=vga vga=mode-0x0311";

    /// <summary>Every VM record of the pool, dom0 included.</summary>
    public List<SimulatedVm> Vms { get; init; } = [];

    /// <summary>The device <c>findmnt -no SOURCE /</c> prints, e.g. <c>/dev/sda1</c>.</summary>
    public string RootDevice { get; set; } = "/dev/sda1";

    /// <summary>The PCI function (disk controller) behind dom0's root filesystem.</summary>
    public PciAddress RootController { get; set; }

    /// <summary>The part of the root device's sysfs path below its controller, e.g. <c>ata1/host0/target0:0:0/0:0:0:0/block/sda/sda1</c>.</summary>
    public string RootDevicePathTail { get; set; } = "ata1/host0/target0:0:0/0:0:0:0/block/sda/sda1";

    /// <summary>NICs (network devices and their PIFs).</summary>
    public List<SimulatedNetDevice> NetDevices { get; init; } = [];

    /// <summary>Other hosts of the pool.</summary>
    public List<SimulatedPeerHost> PoolPeers { get; init; } = [];

    /// <summary>Boot cycle state.</summary>
    public SimulatedBootState Boot { get; init; } = new();

    /// <summary>Reboot phase durations.</summary>
    public SimulatedTimings Timings { get; init; } = new();

    /// <summary>Whether <c>lspci</c> is installed in dom0 (pciutils); when false it is "not found" (exit 127).</summary>
    public bool LspciInstalled { get; set; } = true;

    /// <summary>
    /// When true, <c>vm-start</c> binds each passed-through function to pciback itself (unbinding its dom0 driver), as
    /// current xenopsd does in <c>PCI.plug</c>. When false (default) a function that is not already bound to pciback fails
    /// the start, which is what the agents must never rely on.
    /// </summary>
    public bool VmStartBindsToPciback { get; set; }

    /// <summary>The dom0 kernel log (<c>dmesg</c>), oldest first, with <c>[seconds]</c> stamps.</summary>
    public List<string> KernelLog { get; init; } = [];

    /// <summary>The next domain id to hand out (reset at boot).</summary>
    public int NextDomId { get; set; } = 1;

    /// <summary>Deterministic uuid generator.</summary>
    public required UuidSource Uuids { get; init; }

    /// <summary>The lock the interpreter holds while it runs a command.</summary>
    [JsonIgnore]
    public Lock SyncRoot { get; } = new();

    /// <summary>dom0's VM record.</summary>
    [JsonIgnore]
    public SimulatedVm ControlDomain => Vms.First(v => v.IsControlDomain);

    /// <summary>The value of <c>xen-pciback.hide=</c> on the next-boot command line, exactly as written; null when absent.</summary>
    [JsonIgnore]
    public string? NextBootHideRaw => KernelCommandLine.GetValue(NextBootDom0Cmdline, Dom0HideList.ParameterName);

    /// <summary>The value of <c>xen-pciback.hide=</c> on the booted command line; null when absent.</summary>
    [JsonIgnore]
    public string? BootedHideRaw => KernelCommandLine.GetValue(BootedDom0Cmdline, Dom0HideList.ParameterName);

    /// <summary>The function at <paramref name="address"/>, or null.</summary>
    public SimulatedPciFunction? FindFunction(PciAddress address) => PciFunctions.Find(f => f.Address == address);

    /// <summary>The function at <paramref name="address"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such function.</exception>
    public SimulatedPciFunction Function(PciAddress address) =>
        FindFunction(address) ?? throw new KeyNotFoundException($"The simulated host {Name} has no PCI function {address}.");

    /// <summary>The VM (not snapshot) with <paramref name="uuid"/>, or null.</summary>
    public SimulatedVm? FindVm(XenUuid uuid) => Vms.Find(v => v.Uuid == uuid);

    /// <summary>The VM named <paramref name="nameLabel"/>.</summary>
    /// <exception cref="KeyNotFoundException">No VM has that name.</exception>
    public SimulatedVm Vm(string nameLabel) =>
        Vms.Find(v => v.NameLabel == nameLabel) ?? throw new KeyNotFoundException($"The simulated host {Name} has no VM named '{nameLabel}'.");

    /// <summary>Runs <paramref name="change"/> while holding <see cref="SyncRoot"/>.</summary>
    public void Mutate(Action<SimulatedHost> change)
    {
        ArgumentNullException.ThrowIfNull(change);
        lock (SyncRoot)
        {
            change(this);
        }
    }

    /// <summary>Reads a value while holding <see cref="SyncRoot"/>.</summary>
    public T Read<T>(Func<SimulatedHost, T> read)
    {
        ArgumentNullException.ThrowIfNull(read);
        lock (SyncRoot)
        {
            return read(this);
        }
    }

    /// <summary>
    /// The state an undo must restore, as a value-equal record (see <see cref="HostStateSnapshot"/>). The boot cycle
    /// advances lazily: after moving the clock, capture through <see cref="SimulatedDom0.Capture"/> to see its effects.
    /// </summary>
    public HostStateSnapshot Capture()
    {
        lock (SyncRoot)
        {
            return HostStateSnapshot.Of(this);
        }
    }

    /// <summary>The host as indented JSON (camelCase); <see cref="FromJson"/> reads it back.</summary>
    public string ToJson()
    {
        lock (SyncRoot)
        {
            return JsonSerializer.Serialize(this, JsonOptions);
        }
    }

    /// <summary>Reads a host written by <see cref="ToJson"/>.</summary>
    /// <exception cref="JsonException">The text is not a simulated host.</exception>
    public static SimulatedHost FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        return JsonSerializer.Deserialize<SimulatedHost>(json, JsonOptions)
            ?? throw new JsonException("The JSON text holds no simulated host (null).");
    }
}

using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Messaging;
using Passthrough.Contracts.Pci;
using Passthrough.Simulation.Model;

namespace Passthrough.Simulation.Guest;

/// <summary>How a simulated guest's kernel carries the PV PCI frontend.</summary>
public enum SimulatedPcifront
{
    /// <summary>Built into the kernel (modules.builtin).</summary>
    BuiltIn,

    /// <summary>A module that the guest loads at boot.</summary>
    ModuleLoadedAtBoot,

    /// <summary>A module on disk that nothing loads (the operator or the agent's remedy must modprobe it).</summary>
    ModuleNotLoaded,

    /// <summary>No pcifront at all (a kernel built without CONFIG_XEN_PCIDEV_FRONTEND).</summary>
    Absent,
}

/// <summary>How a PV guest sees passed-through functions.</summary>
public enum SimulatedPciMode
{
    /// <summary>Virtual PCI bus: functions appear as 0000:00:00.N in assignment order (the xl default).</summary>
    Vpci,

    /// <summary>Passthrough mode: functions keep their host BDF.</summary>
    Passthrough,
}

/// <summary>What the guest's operating system is like.</summary>
/// <param name="KernelRelease">e.g. 3.4.9 (the tutorial's Debian 7 kernel) or 6.1.0-18-amd64.</param>
/// <param name="Pcifront">How the kernel carries pcifront (ignored for HVM/PVH).</param>
/// <param name="PciMode">vpci or passthrough BDFs (PV only).</param>
/// <param name="GuestTypeFile">Whether /sys/hypervisor/guest_type exists (kernels ≥ 4.13).</param>
public sealed record SimulatedGuestProfile(
    string KernelRelease = "6.1.0-18-amd64",
    SimulatedPcifront Pcifront = SimulatedPcifront.ModuleLoadedAtBoot,
    SimulatedPciMode PciMode = SimulatedPciMode.Vpci,
    bool GuestTypeFile = true)
{
    /// <summary>The tutorial's Debian 7 guest: kernel 3.4.9 built with pcifront, no guest_type file.</summary>
    public static SimulatedGuestProfile Debian7Tutorial { get; } = new("3.4.9", SimulatedPcifront.BuiltIn, SimulatedPciMode.Vpci, false);
}

/// <summary>Faults a simulated guest can have.</summary>
public sealed class SimulatedGuestFaults
{
    /// <summary>The pcifront module file is missing (a kernel update dropped it).</summary>
    public bool ModuleMissing { get; set; }

    /// <summary>Host functions the guest never sees although they are attached.</summary>
    public HashSet<PciAddress> DevicesAbsent { get; } = [];

    /// <summary>Host functions the guest sees but no driver binds to.</summary>
    public HashSet<PciAddress> DriverNotBinding { get; } = [];

    /// <summary>The guest agent never starts in this VM.</summary>
    public bool AgentNeverStarts { get; set; }
}

/// <summary>
/// A simulated guest of a <see cref="SimulatedHost"/>: a probe-readable Linux tree (sysfs, procfs, modules) under a root
/// directory that reflects the VM's state on the host: while the VM runs, its kernel, guest type, pcifront and the
/// passed-through functions (with ids copied from the host's functions, at vpci or passthrough-mode addresses); when
/// it is halted, no tree. The boot id changes at every domain build, as a real guest's does.
/// </summary>
public sealed class SimulatedGuest
{
    private readonly SimulatedHost _host;
    private readonly object _gate = new();
    private string? _renderedBuild;

    public SimulatedGuest(SimulatedHost host, XenUuid vm, string root, SimulatedGuestProfile? profile = null)
    {
        _host = host ?? throw new ArgumentNullException(nameof(host));
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        Vm = vm;
        Root = Path.GetFullPath(root);
        Profile = profile ?? new SimulatedGuestProfile();
    }

    /// <summary>The VM this guest runs in.</summary>
    public XenUuid Vm { get; }

    /// <summary>The directory holding the guest's tree (what a probe uses as its root).</summary>
    public string Root { get; }

    /// <summary>The guest's kernel and frontend.</summary>
    public SimulatedGuestProfile Profile { get; set; }

    /// <summary>Injected faults; applied at the next <see cref="Refresh"/>.</summary>
    public SimulatedGuestFaults Faults { get; } = new();

    /// <summary>True while the VM runs and its agent would be up.</summary>
    public bool AgentRunning
    {
        get
        {
            var state = ReadVm();
            return state.Running && !Faults.AgentNeverStarts;
        }
    }

    /// <summary>The boot id of the current domain build, or null while the VM is halted.</summary>
    public string? BootId => ReadVm() is { Running: true } state ? DeriveBootId(state.BuildKey) : null;

    /// <summary>
    /// Brings the tree in line with the host: renders it when the VM (re)started, removes it when it stopped, and
    /// re-applies faults. Returns true when the tree changed.
    /// </summary>
    public bool Refresh(bool force = false)
    {
        lock (_gate)
        {
            var state = ReadVm();
            var key = state.Running ? $"{state.BuildKey}|{FaultKey()}|{Profile}" : null;
            if (!force && key == _renderedBuild)
            {
                return false;
            }

            if (Directory.Exists(Root))
            {
                Directory.Delete(Root, recursive: true);
            }

            if (state.Running)
            {
                Render(state);
            }

            _renderedBuild = key;
            return true;
        }
    }

    /// <summary>Simulates <c>rmmod xen_pcifront</c> or a frontend crash in the running guest: the driver and pci-0 vanish.</summary>
    public void LosePcifront()
    {
        lock (_gate)
        {
            DeleteIfExists(Path.Combine(Root, "sys/bus/xen/drivers/pcifront"));
            DeleteIfExists(Path.Combine(Root, "sys/bus/xen/devices/pci-0"));
            DeleteIfExists(Path.Combine(Root, "sys/module/xen_pcifront"));
        }
    }

    /// <summary>Simulates a device vanishing from the running guest (surprise removal, frontend reset).</summary>
    public void RemoveDevice(PciDeviceId id)
    {
        lock (_gate)
        {
            var devices = Path.Combine(Root, "sys/bus/pci/devices");
            if (!Directory.Exists(devices))
            {
                return;
            }

            foreach (var dir in Directory.GetDirectories(devices))
            {
                if (ReadId(dir) == id)
                {
                    Directory.Delete(dir, recursive: true);
                }
            }
        }
    }

    /// <summary>Simulates a driver unbinding from a device in the running guest.</summary>
    public void UnbindDriver(PciDeviceId id)
    {
        lock (_gate)
        {
            var devices = Path.Combine(Root, "sys/bus/pci/devices");
            foreach (var dir in Directory.Exists(devices) ? Directory.GetDirectories(devices) : [])
            {
                if (ReadId(dir) == id)
                {
                    File.Delete(Path.Combine(dir, "driver"));
                }
            }
        }
    }

    private (bool Running, GuestType Type, string BuildKey, IReadOnlyList<SimulatedPciFunction> Functions) ReadVm() =>
        _host.Read(h =>
        {
            var vm = h.FindVm(Vm) ?? throw new InvalidOperationException($"The simulated host has no VM {Vm}.");
            var functions = vm.AttachedPcis.Select(h.FindFunction).OfType<SimulatedPciFunction>().ToList();
            var running = vm.PowerState == VmPowerState.Running;
            var build = string.Create(CultureInfo.InvariantCulture, $"{vm.DomId}@{vm.StartTime?.UtcTicks}");
            return (running, vm.GuestType, build, (IReadOnlyList<SimulatedPciFunction>)functions);
        });

    private string FaultKey() =>
        $"{Faults.ModuleMissing}|{string.Join(',', Faults.DevicesAbsent.Order())}|{string.Join(',', Faults.DriverNotBinding.Order())}";

    private void Render((bool Running, GuestType Type, string BuildKey, IReadOnlyList<SimulatedPciFunction> Functions) state)
    {
        var kernel = Profile.KernelRelease;
        Write("sys/hypervisor/type", "xen");
        if (Profile.GuestTypeFile)
        {
            Write("sys/hypervisor/guest_type", state.Type switch { GuestType.HVM => "HVM", GuestType.PVH => "PVH", _ => "PV" });
        }

        Write("proc/sys/kernel/osrelease", kernel);
        Write("proc/sys/kernel/random/boot_id", DeriveBootId(state.BuildKey));
        Write("proc/xen/capabilities", string.Empty);
        if (state.Type == GuestType.HVM)
        {
            Write("sys/class/dmi/id/product_uuid", Vm.ToString().ToUpperInvariant());
        }

        var pv = state.Type is GuestType.PV or GuestType.PVInPVH;
        var modules = $"lib/modules/{kernel}";
        var builtin = new StringBuilder("kernel/drivers/xen/xenbus/xenbus.ko\n");
        var dep = new StringBuilder();
        var pcifront = Profile.Pcifront;
        if (Faults.ModuleMissing && pcifront is SimulatedPcifront.ModuleLoadedAtBoot or SimulatedPcifront.ModuleNotLoaded)
        {
            pcifront = SimulatedPcifront.Absent;
        }

        switch (pcifront)
        {
            case SimulatedPcifront.BuiltIn:
                builtin.Append("kernel/drivers/pci/xen-pcifront.ko\n");
                break;
            case SimulatedPcifront.ModuleLoadedAtBoot or SimulatedPcifront.ModuleNotLoaded:
                dep.Append("kernel/drivers/pci/xen-pcifront.ko: kernel/drivers/xen/xen-pciback.ko\n");
                break;
        }

        Write($"{modules}/modules.builtin", builtin.ToString());
        Write($"{modules}/modules.dep", dep.ToString());
        var frontendUp = pv && pcifront is SimulatedPcifront.BuiltIn or SimulatedPcifront.ModuleLoadedAtBoot;
        if (pcifront == SimulatedPcifront.ModuleLoadedAtBoot && pv)
        {
            Write("sys/module/xen_pcifront/initstate", "live");
        }

        var log = new StringBuilder();
        var visible = state.Functions.Where(f => !Faults.DevicesAbsent.Contains(f.Address)).ToList();
        if (pv && !frontendUp)
        {
            // A PV guest without a frontend sees none of its passed-through functions.
            visible.Clear();
        }

        if (frontendUp)
        {
            Directory.CreateDirectory(Combine("sys/bus/xen/drivers/pcifront"));
            if (state.Functions.Count > 0)
            {
                Directory.CreateDirectory(Combine("sys/bus/xen/devices/pci-0"));
                log.Append("[    0.199048] pcifront pci-0: Installing PCI frontend\n");
                log.Append("[    0.199125] pcifront pci-0: Creating PCI Frontend Bus 0000:00\n");
            }
        }

        // Every Xen guest has xenbus disk and network frontends; an HVM guest also has the emulated chipset and Xen's
        // platform device (vendor 5853), which is how old kernels without guest_type tell PV from HVM.
        Directory.CreateDirectory(Combine("sys/bus/xen/devices/vbd-51712"));
        Directory.CreateDirectory(Combine("sys/bus/xen/devices/vif-0"));
        Directory.CreateDirectory(Combine("sys/bus/pci/devices"));
        if (!pv)
        {
            WritePciFunction("0000:00:00.0", 0x8086, 0x1237, "060000", null);
            WritePciFunction("0000:00:02.0", 0x5853, 0x0001, "ff8000", "xen-platform-pci");
        }

        for (var i = 0; i < visible.Count; i++)
        {
            var function = visible[i];
            var address = (pv, Profile.PciMode) switch
            {
                (true, SimulatedPciMode.Vpci) => PciAddress.Create(0, 0, 0, Math.Min(i, PciAddress.MaxFunction)),
                (true, SimulatedPciMode.Passthrough) => function.Address,
                // HVM guests see passed-through functions on the emulated bus after the emulated devices.
                _ => PciAddress.Create(0, 0, 5 + i, 0),
            };
            var dir = $"sys/bus/pci/devices/{address}";
            Write($"{dir}/vendor", Hex4(function.VendorId));
            Write($"{dir}/device", Hex4(function.DeviceId));
            Write($"{dir}/subsystem_vendor", Hex4(function.SubsystemVendorId));
            Write($"{dir}/subsystem_device", Hex4(function.SubsystemDeviceId));
            Write($"{dir}/class", "0x" + function.Class);
            Write($"{dir}/revision", string.Create(CultureInfo.InvariantCulture, $"0x{function.Revision:x2}"));
            var driver = function.DefaultDriver;
            if (driver is not null && !Faults.DriverNotBinding.Contains(function.Address))
            {
                Directory.CreateDirectory(Combine($"sys/bus/pci/drivers/{driver}"));
                File.CreateSymbolicLink(Combine($"{dir}/driver"), $"../../../bus/pci/drivers/{driver}");
                log.Append(CultureInfo.InvariantCulture, $"[    1.8779{i:00}] {driver} {address}: enabled\n");
            }
        }

        Write("var/log/kern.log", log.ToString());
    }

    private void WritePciFunction(string address, ushort vendor, ushort device, string classCode, string? driver)
    {
        var dir = $"sys/bus/pci/devices/{address}";
        Write($"{dir}/vendor", Hex4(vendor));
        Write($"{dir}/device", Hex4(device));
        Write($"{dir}/subsystem_vendor", Hex4(0x5853));
        Write($"{dir}/subsystem_device", Hex4(0x0001));
        Write($"{dir}/class", "0x" + classCode);
        if (driver is not null)
        {
            Directory.CreateDirectory(Combine($"sys/bus/pci/drivers/{driver}"));
            File.CreateSymbolicLink(Combine($"{dir}/driver"), $"../../../bus/pci/drivers/{driver}");
        }
    }

    private static PciDeviceId? ReadId(string dir)
    {
        try
        {
            var vendor = PciDeviceId.ParseSysfsHex16(File.ReadAllText(Path.Combine(dir, "vendor")));
            var device = PciDeviceId.ParseSysfsHex16(File.ReadAllText(Path.Combine(dir, "device")));
            return PciDeviceId.Create(vendor, device);
        }
        catch (IOException)
        {
            return null;
        }
    }

    private string DeriveBootId(string buildKey)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{Vm}|{buildKey}"));
        return new Guid(hash.AsSpan(0, 16)).ToString("D");
    }

    private static string Hex4(ushort value) => string.Create(CultureInfo.InvariantCulture, $"0x{value:x4}");

    private string Combine(string relative) => Path.Combine(Root, relative);

    private void Write(string relative, string content)
    {
        var path = Combine(relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content.Length == 0 || content.EndsWith('\n') ? content : content + "\n");
    }

    private static void DeleteIfExists(string path)
    {
        if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }
    }
}

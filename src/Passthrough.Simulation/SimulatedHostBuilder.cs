using Passthrough.Contracts.Messaging;
using Passthrough.Contracts.Pci;
using Passthrough.Simulation.Interpreter;
using Passthrough.Simulation.Model;

namespace Passthrough.Simulation;

/// <summary>The addresses of the default host's functions (<see cref="SimulatedHostBuilder"/>).</summary>
public static class DefaultDevices
{
    /// <summary>Host bridge 8086:3ec2 (no driver).</summary>
    public static PciAddress HostBridge { get; } = PciAddress.Parse("0000:00:00.0");

    /// <summary>PCIe root port in front of the GPU (pcieport).</summary>
    public static PciAddress GpuRootPort { get; } = PciAddress.Parse("0000:00:01.0");

    /// <summary>USB 3 xHCI controller 8086:a36d, class 0c0330, xhci_hcd; XAPI has no object for it.</summary>
    public static PciAddress UsbController { get; } = PciAddress.Parse("0000:00:14.0");

    /// <summary>SATA AHCI controller 8086:a352 (ahci) backing dom0's root filesystem /dev/sda1.</summary>
    public static PciAddress SataController { get; } = PciAddress.Parse("0000:00:17.0");

    /// <summary>PCIe root port in front of the NVMe drive.</summary>
    public static PciAddress NvmeRootPort { get; } = PciAddress.Parse("0000:00:1b.0");

    /// <summary>PCIe root port in front of the second NIC.</summary>
    public static PciAddress NicRootPort { get; } = PciAddress.Parse("0000:00:1c.0");

    /// <summary>ISA bridge 8086:a305 (no driver).</summary>
    public static PciAddress IsaBridge { get; } = PciAddress.Parse("0000:00:1f.0");

    /// <summary>Intel I219-LM 8086:15bb (e1000e), eth0, the management interface.</summary>
    public static PciAddress ManagementNic { get; } = PciAddress.Parse("0000:00:1f.6");

    /// <summary>GPU 10de:1188 GK104 [GeForce GTX 690], class 0300, no dom0 driver; sibling of <see cref="GpuAudio"/>.</summary>
    public static PciAddress Gpu { get; } = PciAddress.Parse("0000:01:00.0");

    /// <summary>The GPU's HDMI audio 10de:0e0a, class 0403 (snd_hda_intel).</summary>
    public static PciAddress GpuAudio { get; } = PciAddress.Parse("0000:01:00.1");

    /// <summary>NVMe SSD 144d:a808, class 0108 (nvme).</summary>
    public static PciAddress Nvme { get; } = PciAddress.Parse("0000:02:00.0");

    /// <summary>Intel I210 8086:1533 (igb), eth1: the passthrough candidate NIC.</summary>
    public static PciAddress PassthroughNic { get; } = PciAddress.Parse("0000:03:00.0");

    /// <summary>The default PV VM (Debian 7, halted).</summary>
    public const string PvVmName = "debian7-pv";

    /// <summary>The default HVM VM (Windows 10, halted).</summary>
    public const string HvmVmName = "win10-hvm";
}

/// <summary>
/// Builds a <see cref="SimulatedHost"/>: by default a host named <c>xenhost-01</c> with an IOMMU, the functions of
/// <see cref="DefaultDevices"/>, a PV and an HVM VM (both halted), one pool peer, and nothing hidden. The same seed
/// gives the same uuids, so a seed reproduces a host.
/// </summary>
public sealed class SimulatedHostBuilder
{
    private readonly ProductProfile _profile;
    private readonly long _seed;
    private readonly List<SimulatedPciFunction> _extraFunctions = [];
    private readonly List<(string Name, PciAddress Function)> _extraNics = [];
    private readonly List<(string Name, GuestType Type, VmPowerState Power, KeyValuePair<string, string>[] OtherConfig)> _vms = [];
    private string _name = "xenhost-01";
    private bool _iommu = true;
    private bool _defaultDevices = true;
    private bool _defaultVms = true;
    private bool _poolPeer = true;
    private bool _lspci = true;
    private bool _bindAtStart;
    private string? _hideAtBoot;
    private Action<SimulatedTimings>? _timings;

    /// <summary>Starts a host of <paramref name="profile"/>; <paramref name="seed"/> fixes every uuid (default 1).</summary>
    public SimulatedHostBuilder(ProductProfile profile, long seed = 1)
    {
        ArgumentNullException.ThrowIfNull(profile);
        _profile = profile;
        _seed = seed;
    }

    /// <summary>Sets the host's name-label and hostname (default <c>xenhost-01</c>).</summary>
    public SimulatedHostBuilder Named(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        _name = name;
        return this;
    }

    /// <summary>Turns the IOMMU on or off (default on).</summary>
    public SimulatedHostBuilder WithIommu(bool enabled)
    {
        _iommu = enabled;
        return this;
    }

    /// <summary>Leaves out the default functions (add your own with <see cref="WithFunction"/>).</summary>
    public SimulatedHostBuilder WithoutDefaultDevices()
    {
        _defaultDevices = false;
        return this;
    }

    /// <summary>Adds a PCI function.</summary>
    public SimulatedHostBuilder WithFunction(SimulatedPciFunction function)
    {
        ArgumentNullException.ThrowIfNull(function);
        _extraFunctions.Add(function);
        return this;
    }

    /// <summary>
    /// Adds a NIC that is not the management interface: its PCI function plus a network device <paramref name="deviceName"/>
    /// (e.g. <c>eth2</c>) with its own PIF and network, as dom0 shows a second or third port.
    /// </summary>
    public SimulatedHostBuilder WithNic(SimulatedPciFunction function, string deviceName)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentException.ThrowIfNullOrWhiteSpace(deviceName);
        _extraFunctions.Add(function);
        _extraNics.Add((deviceName, function.Address));
        return this;
    }

    /// <summary>Leaves out the default VMs.</summary>
    public SimulatedHostBuilder WithoutDefaultVms()
    {
        _defaultVms = false;
        return this;
    }

    /// <summary>Adds a VM; a running one is resident on this host.</summary>
    public SimulatedHostBuilder WithVm(string name, GuestType type, VmPowerState power = VmPowerState.Halted, params KeyValuePair<string, string>[] otherConfig)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        _vms.Add((name, type, power, otherConfig));
        return this;
    }

    /// <summary>Boots with <c>xen-pciback.hide=<paramref name="rawValue"/></c> on the dom0 command line, written exactly as given.</summary>
    public SimulatedHostBuilder HiddenAtBoot(string rawValue)
    {
        ArgumentNullException.ThrowIfNull(rawValue);
        _hideAtBoot = rawValue;
        return this;
    }

    /// <summary>Adjusts the reboot phase durations.</summary>
    public SimulatedHostBuilder WithTimings(Action<SimulatedTimings> configure)
    {
        _timings = configure;
        return this;
    }

    /// <summary>A single-host pool (host-evacuate then has nowhere to move VMs).</summary>
    public SimulatedHostBuilder WithoutPoolPeers()
    {
        _poolPeer = false;
        return this;
    }

    /// <summary>dom0 without pciutils: <c>lspci</c> is not found.</summary>
    public SimulatedHostBuilder WithoutLspci()
    {
        _lspci = false;
        return this;
    }

    /// <summary>vm-start binds functions to pciback itself, as current xenopsd does (see <see cref="SimulatedHost.VmStartBindsToPciback"/>).</summary>
    public SimulatedHostBuilder BindingToPcibackAtVmStart()
    {
        _bindAtStart = true;
        return this;
    }

    /// <summary>Builds the host, booted at <paramref name="time"/>'s now and live at once.</summary>
    public SimulatedHost Build(TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        return Build(time.GetUtcNow());
    }

    /// <summary>Builds the host, booted at <paramref name="bootedAt"/> and live at once.</summary>
    public SimulatedHost Build(DateTimeOffset bootedAt)
    {
        var uuids = new UuidSource { Seed = _seed };
        var hostUuid = uuids.Next();
        var label = "root-" + uuids.Next().ToString()[..6];
        var cmdline = _profile.LegacyCliMessages
            ? $"root=LABEL={label} ro xencons=hvc console=hvc0 console=tty0 quiet vga=785 splash"
            : $"root=LABEL={label} ro nolvm hpet=disable console=hvc0 console=tty0 quiet vga=785 splash plymouth.ignore-serial-consoles";
        if (_hideAtBoot is not null)
        {
            cmdline += " " + Dom0HideList.ParameterName + "=" + _hideAtBoot;
        }

        var host = new SimulatedHost
        {
            Uuid = hostUuid,
            Name = _name,
            Profile = _profile,
            IommuEnabled = _iommu,
            BootedDom0Cmdline = cmdline,
            NextBootDom0Cmdline = cmdline,
            Uuids = uuids,
            LspciInstalled = _lspci,
            VmStartBindsToPciback = _bindAtStart,
            RootController = DefaultDevices.SataController,
        };
        _timings?.Invoke(host.Timings);

        if (_defaultDevices)
        {
            host.PciFunctions.AddRange(DefaultFunctions(uuids));
            host.NetDevices.Add(Nic("eth0", DefaultDevices.ManagementNic, uuids, management: true));
            host.NetDevices.Add(Nic("eth1", DefaultDevices.PassthroughNic, uuids, management: false));
        }

        host.PciFunctions.AddRange(_extraFunctions);
        foreach (var (name, function) in _extraNics)
        {
            host.NetDevices.Add(Nic(name, function, uuids, management: false));
        }

        host.PciFunctions.Sort((a, b) => a.Address.CompareTo(b.Address));

        host.Vms.Add(new SimulatedVm
        {
            Uuid = uuids.Next(),
            NameLabel = "Control domain on host: " + _name,
            NameDescription = "The domain which manages physical devices and manages other domains",
            IsControlDomain = true,
            GuestType = GuestType.PV,
            PowerState = VmPowerState.Running,
            OtherConfig = { ["storage_driver_domain"] = "OpaqueRef:" + uuids.Next(), ["is_system_domain"] = "true", ["perfmon"] = "<config><variable><name value=\"fs_usage\"/><alarm_trigger_level value=\"0.9\"/></variable></config>" },
        });

        if (_defaultVms)
        {
            host.Vms.Add(Vm(DefaultDevices.PvVmName, GuestType.PV, "Debian Wheezy 7.0 (32-bit)", "cdrom,nfs,http,ftp", uuids));
            host.Vms.Add(Vm(DefaultDevices.HvmVmName, GuestType.HVM, "Windows 10 (64-bit)", "cdrom", uuids));
        }

        foreach (var (name, type, _, otherConfig) in _vms)
        {
            var vm = Vm(name, type, type == GuestType.PV ? "Other install media" : "Other install media", "cdrom", uuids);
            foreach (var pair in otherConfig)
            {
                vm.OtherConfig[pair.Key] = pair.Value;
            }

            host.Vms.Add(vm);
        }

        if (_poolPeer)
        {
            host.PoolPeers.Add(new SimulatedPeerHost { Uuid = uuids.Next(), NameLabel = _name + "-peer" });
        }

        HostKernel.Boot(host, bootedAt, xapiReadyAtOnce: true);
        foreach (var (name, _, power, _) in _vms.Where(v => v.Power != VmPowerState.Halted))
        {
            var vm = host.Vm(name);
            vm.PowerState = power;
            if (vm.HasDomain)
            {
                vm.DomId = host.NextDomId++;
                vm.ResidentOn = host.Uuid;
                vm.StartTime = bootedAt;
                vm.AttachedPcis.AddRange(XapiPciParsing.DevicesOfOtherConfig(vm.OtherConfig.GetValueOrDefault(PciAssignmentList.Key)));
            }
        }

        return host;
    }

    private static SimulatedVm Vm(string name, GuestType type, string template, string installMethods, UuidSource uuids)
    {
        var vm = new SimulatedVm
        {
            Uuid = uuids.Next(),
            NameLabel = name,
            GuestType = type,
            PowerState = VmPowerState.Halted,
            DiskUuid = uuids.Next(),
        };
        vm.OtherConfig["base_template_name"] = template;
        vm.OtherConfig["import_task"] = "OpaqueRef:" + uuids.Next();
        vm.OtherConfig["mac_seed"] = uuids.Next().ToString();
        vm.OtherConfig["install-methods"] = installMethods;
        if (type == GuestType.PV)
        {
            vm.OtherConfig["linux_template"] = "true";
        }

        return vm;
    }

    private static SimulatedNetDevice Nic(string name, PciAddress function, UuidSource uuids, bool management) => new()
    {
        Name = name,
        Function = function,
        PifUuid = uuids.Next(),
        NetworkUuid = uuids.Next(),
        NetworkName = "Pool-wide network associated with " + name,
        Mac = uuids.NextMac(),
        Management = management,
        IpAddress = management ? "192.168.1.20" : string.Empty,
    };

    private static IEnumerable<SimulatedPciFunction> DefaultFunctions(UuidSource uuids)
    {
        yield return new SimulatedPciFunction
        {
            Address = DefaultDevices.HostBridge,
            VendorId = 0x8086,
            DeviceId = 0x3ec2,
            SubsystemVendorId = 0x1028,
            SubsystemDeviceId = 0x0869,
            Class = PciClass.Create(0x06, 0x00),
            Revision = 0x07,
            VendorName = "Intel Corporation",
            DeviceName = "8th Gen Core Processor Host Bridge/DRAM Registers",
        };
        yield return new SimulatedPciFunction
        {
            Address = DefaultDevices.GpuRootPort,
            VendorId = 0x8086,
            DeviceId = 0x1901,
            Class = PciClass.Create(0x06, 0x04),
            Revision = 0x07,
            VendorName = "Intel Corporation",
            DeviceName = "6th-10th Gen Core Processor PCIe Controller (x16)",
            DefaultDriver = "pcieport",
        };
        yield return new SimulatedPciFunction
        {
            Address = DefaultDevices.UsbController,
            VendorId = 0x8086,
            DeviceId = 0xa36d,
            SubsystemVendorId = 0x1028,
            SubsystemDeviceId = 0x0869,
            Class = PciClass.Create(0x0c, 0x03, 0x30),
            Revision = 0x10,
            VendorName = "Intel Corporation",
            DeviceName = "Cannon Lake PCH USB 3.1 xHCI Host Controller",
            DefaultDriver = "xhci_hcd",
        };
        yield return new SimulatedPciFunction
        {
            Address = DefaultDevices.SataController,
            VendorId = 0x8086,
            DeviceId = 0xa352,
            SubsystemVendorId = 0x1028,
            SubsystemDeviceId = 0x0869,
            Class = PciClass.Create(0x01, 0x06, 0x01),
            Revision = 0x10,
            VendorName = "Intel Corporation",
            DeviceName = "Cannon Lake PCH SATA AHCI Controller",
            DefaultDriver = "ahci",
            XapiUuid = uuids.Next(),
        };
        yield return SimulatedPciCatalog.CannonLakeRootPort(DefaultDevices.NvmeRootPort, 0xa340, "Cannon Lake PCH PCI Express Root Port #17");
        yield return SimulatedPciCatalog.CannonLakeRootPort(DefaultDevices.NicRootPort, 0xa338, "Cannon Lake PCH PCI Express Root Port #1");
        yield return new SimulatedPciFunction
        {
            Address = DefaultDevices.IsaBridge,
            VendorId = 0x8086,
            DeviceId = 0xa305,
            SubsystemVendorId = 0x1028,
            SubsystemDeviceId = 0x0869,
            Class = PciClass.Create(0x06, 0x01),
            Revision = 0x10,
            VendorName = "Intel Corporation",
            DeviceName = "Z390 Chipset LPC/eSPI Controller",
        };
        yield return new SimulatedPciFunction
        {
            Address = DefaultDevices.ManagementNic,
            VendorId = 0x8086,
            DeviceId = 0x15bb,
            SubsystemVendorId = 0x1028,
            SubsystemDeviceId = 0x0869,
            Class = PciClass.Create(0x02, 0x00),
            Revision = 0x10,
            VendorName = "Intel Corporation",
            DeviceName = "Ethernet Connection (7) I219-LM",
            DefaultDriver = "e1000e",
            XapiUuid = uuids.Next(),
        };
        yield return new SimulatedPciFunction
        {
            Address = DefaultDevices.Gpu,
            VendorId = 0x10de,
            DeviceId = 0x1188,
            SubsystemVendorId = 0x10de,
            SubsystemDeviceId = 0x095b,
            Class = PciClass.Create(0x03, 0x00),
            Revision = 0xa1,
            VendorName = "NVIDIA Corporation",
            DeviceName = "GK104 [GeForce GTX 690]",
            XapiUuid = uuids.Next(),
            UpstreamBridge = DefaultDevices.GpuRootPort,
        };
        yield return new SimulatedPciFunction
        {
            Address = DefaultDevices.GpuAudio,
            VendorId = 0x10de,
            DeviceId = 0x0e0a,
            SubsystemVendorId = 0x10de,
            SubsystemDeviceId = 0x095b,
            Class = PciClass.Create(0x04, 0x03),
            Revision = 0xa1,
            VendorName = "NVIDIA Corporation",
            DeviceName = "GK104 HDMI Audio Controller",
            DefaultDriver = "snd_hda_intel",
            XapiUuid = uuids.Next(),
            UpstreamBridge = DefaultDevices.GpuRootPort,
        };
        yield return SimulatedPciCatalog.SamsungNvme(DefaultDevices.Nvme, DefaultDevices.NvmeRootPort, uuids.Next());
        yield return SimulatedPciCatalog.IntelI210(DefaultDevices.PassthroughNic, DefaultDevices.NicRootPort, uuids.Next());
    }
}

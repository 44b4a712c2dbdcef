using System.Globalization;
using System.Text;
using Passthrough.Contracts.Pci;
using Passthrough.Simulation.Model;

namespace Passthrough.Simulation.Interpreter;

/// <summary>A node of the simulated dom0 file tree.</summary>
internal abstract record FsNode;

/// <summary>A directory and its entry names.</summary>
internal sealed record FsDirectory(IReadOnlyList<string> Entries) : FsNode;

/// <summary>A symbolic link and its target as <c>readlink</c> prints it (relative, as sysfs makes them).</summary>
internal sealed record FsLink(string Target) : FsNode;

/// <summary>A file: read (null: not readable) and write (null: not writable) operations.</summary>
internal sealed record FsFile(Func<string>? Read, Func<string, SysfsError>? Write) : FsNode;

/// <summary>
/// The parts of dom0's file tree the driver reads and writes: the xensource inventory, /proc, and sysfs
/// (<c>/sys/bus/pci/{devices,drivers}</c>, <c>/sys/devices/pci0000:00/…</c>, <c>/sys/class/net</c>), with symlinks
/// laid out and resolved as on a real dom0. Built fresh for each command from the host model.
/// </summary>
internal sealed class Dom0FileSystem
{
    private static readonly string[] AttributeNames = ["class", "device", "revision", "subsystem_device", "subsystem_vendor", "vendor"];
    private static readonly string[] DriverFiles = ["bind", "module", "new_id", "remove_id", "uevent", "unbind"];
    private static readonly string[] PcibackFiles = ["irq_handler_state", "irq_handlers", "new_slot", "permissive", "quirks", "remove_slot", "slots"];

    private readonly SimulatedHost _host;
    private readonly DateTimeOffset _now;
    private readonly Dictionary<string, SimulatedPciFunction> _deviceDirs;

    public Dom0FileSystem(SimulatedHost host, DateTimeOffset now)
    {
        _host = host;
        _now = now;
        _deviceDirs = host.PciFunctions.ToDictionary(f => f.SysfsDevicePath, StringComparer.Ordinal);
    }

    /// <summary>Resolves <paramref name="path"/> to its canonical form (links in the middle followed; the last one only when asked).</summary>
    /// <returns>The canonical path and node, or null when some component does not exist.</returns>
    public (string Path, FsNode Node)? Resolve(string path, bool followLast)
    {
        if (!path.StartsWith('/'))
        {
            return null;
        }

        var pending = new Queue<string>(path.Split('/', StringSplitOptions.RemoveEmptyEntries));
        var current = "/";
        FsNode node = NodeAt("/")!;
        var hops = 0;
        while (pending.Count > 0)
        {
            var part = pending.Dequeue();
            if (part == ".")
            {
                continue;
            }

            if (part == "..")
            {
                current = Parent(current);
                node = NodeAt(current)!;
                continue;
            }

            if (node is not FsDirectory)
            {
                return null;
            }

            var next = Join(current, part);
            var child = NodeAt(next);
            if (child is null)
            {
                return null;
            }

            if (child is FsLink link && (pending.Count > 0 || followLast))
            {
                if (++hops > 40)
                {
                    return null;
                }

                var rest = pending.ToArray();
                pending.Clear();
                foreach (var segment in link.Target.Split('/', StringSplitOptions.RemoveEmptyEntries).Concat(rest))
                {
                    pending.Enqueue(segment);
                }

                if (link.Target.StartsWith('/'))
                {
                    current = "/";
                    node = NodeAt("/")!;
                }

                continue;
            }

            current = next;
            node = child;
        }

        return (current, node);
    }

    /// <summary>The node at a canonical path (no links in the middle), or null.</summary>
    public FsNode? NodeAt(string path)
    {
        switch (path)
        {
            case "/": return Dir("bin", "dev", "etc", "opt", "proc", "sys", "usr");
            case "/etc": return Dir("xensource-inventory");
            case "/etc/xensource-inventory": return ReadOnly(Inventory);
            case "/proc": return Dir("cmdline", "sys");
            case "/proc/cmdline": return ReadOnly(() => _host.BootedDom0Cmdline + "\n");
            case "/proc/sys": return Dir("kernel");
            case "/proc/sys/kernel": return Dir("random");
            case "/proc/sys/kernel/random": return Dir("boot_id");
            case "/proc/sys/kernel/random/boot_id": return ReadOnly(() => _host.BootId + "\n");
            case "/opt": return Dir("xensource");
            case "/opt/xensource": return Dir("bin", "libexec");
            case "/opt/xensource/bin": return Dir("xe");
            case "/opt/xensource/libexec": return Dir("xen-cmdline");
            case "/opt/xensource/bin/xe" or "/opt/xensource/libexec/xen-cmdline": return new FsFile(() => "#!/bin/sh\n", null);
            case "/dev": return new FsDirectory(RootDeviceNames());
            case "/sys": return Dir("bus", "class", "devices");
            case "/sys/bus": return Dir("pci");
            case "/sys/bus/pci": return Dir("devices", "drivers", "drivers_autoprobe", "drivers_probe", "rescan", "uevent");
            case "/sys/bus/pci/devices": return new FsDirectory([.. _host.PciFunctions.Select(f => f.Address.ToString()).Order(StringComparer.Ordinal)]);
            case "/sys/bus/pci/drivers": return new FsDirectory([.. HostKernel.LoadedDrivers(_host)]);
            case "/sys/bus/pci/drivers_probe": return WriteOnly(text => HostKernel.DriversProbe(_host, _now, text));
            case "/sys/bus/pci/drivers_autoprobe": return ReadOnly(() => "1\n");
            case "/sys/bus/pci/rescan" or "/sys/bus/pci/uevent": return WriteOnly(_ => SysfsError.None);
            case "/sys/class": return Dir("net");
            case "/sys/class/net": return new FsDirectory([.. NetDevices().Select(n => n.Name).Append("lo").Order(StringComparer.Ordinal)]);
            case "/sys/devices": return Dir("pci" + RootBus, "system", "virtual");
            case "/sys/devices/virtual": return Dir("net");
            case "/sys/devices/virtual/net": return Dir("lo");
            case "/sys/devices/virtual/net/lo": return Dir("address", "mtu", "operstate");
            default: break;
        }

        if (path.StartsWith("/dev/", StringComparison.Ordinal))
        {
            return RootDeviceNames().Contains(path[5..]) ? new FsFile(null, null) : null;
        }

        if (path.StartsWith("/sys/bus/pci/devices/", StringComparison.Ordinal))
        {
            var name = path["/sys/bus/pci/devices/".Length..];
            return FunctionNamed(name) is { } f ? new FsLink("../../.." + f.SysfsDevicePath["/sys".Length..]) : null;
        }

        if (path.StartsWith("/sys/bus/pci/drivers/", StringComparison.Ordinal))
        {
            return DriverNode(path["/sys/bus/pci/drivers/".Length..]);
        }

        if (path.StartsWith("/sys/class/net/", StringComparison.Ordinal))
        {
            var name = path["/sys/class/net/".Length..];
            if (name == "lo")
            {
                return new FsLink("../../devices/virtual/net/lo");
            }

            return NetDevices().FirstOrDefault(n => n.Name == name) is { } nic
                ? new FsLink("../.." + _host.Function(nic.Function).SysfsDevicePath["/sys".Length..] + "/net/" + nic.Name)
                : null;
        }

        if (path.StartsWith("/sys/devices/pci" + RootBus, StringComparison.Ordinal))
        {
            return DeviceNode(path);
        }

        return null;
    }

    /// <summary>The entries of a directory node.</summary>
    public static IReadOnlyList<string> Entries(FsNode node) => node is FsDirectory d ? d.Entries : [];

    /// <summary>Joins a directory and an entry name.</summary>
    public static string Join(string directory, string name) => directory == "/" ? "/" + name : directory + "/" + name;

    /// <summary>The parent directory of a canonical path.</summary>
    public static string Parent(string path)
    {
        var slash = path.LastIndexOf('/');
        return slash <= 0 ? "/" : path[..slash];
    }

    private static string RootBus => "0000:00";

    private static FsDirectory Dir(params string[] entries) => new(entries);

    private static FsFile ReadOnly(Func<string> read) => new(read, null);

    private static FsFile WriteOnly(Func<string, SysfsError> write) => new(null, write);

    private IEnumerable<SimulatedNetDevice> NetDevices() =>
        _host.NetDevices.Where(n => _host.FindFunction(n.Function) is { } f && f.BoundDriver is not null && f.BoundDriver == f.DefaultDriver);

    private IReadOnlyList<string> RootDeviceNames()
    {
        var name = _host.RootDevice.StartsWith("/dev/", StringComparison.Ordinal) ? _host.RootDevice[5..] : _host.RootDevice;
        var disk = name.TrimEnd('0', '1', '2', '3', '4', '5', '6', '7', '8', '9');
        if (disk.EndsWith('p') && disk.StartsWith("nvme", StringComparison.Ordinal))
        {
            disk = disk[..^1];
        }

        return disk.Length > 0 && disk != name ? [disk, name] : [name];
    }

    private SimulatedPciFunction? FunctionNamed(string name) =>
        PciAddress.IsFullForm(name) && PciAddress.TryParse(name, out var address, out _) && name == address.ToString()
            ? _host.FindFunction(address)
            : null;

    private FsNode? DriverNode(string rest)
    {
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var driver = slash < 0 ? rest : rest[..slash];
        if (!HostKernel.LoadedDrivers(_host).Contains(driver))
        {
            return null;
        }

        var isPciback = driver == HostKernel.Pciback;
        if (slash < 0)
        {
            var bound = _host.PciFunctions.Where(f => f.BoundDriver == driver).Select(f => f.Address.ToString());
            var files = isPciback ? DriverFiles.Concat(PcibackFiles) : DriverFiles;
            return new FsDirectory([.. bound.Concat(files).Order(StringComparer.Ordinal)]);
        }

        var entry = rest[(slash + 1)..];
        switch (entry)
        {
            case "bind": return WriteOnly(text => HostKernel.Bind(_host, _now, driver, text));
            case "unbind": return WriteOnly(text => HostKernel.Unbind(_host, driver, text));
            case "new_id" or "remove_id": return WriteOnly(_ => SysfsError.InvalidArgument);
            case "uevent": return WriteOnly(_ => SysfsError.None);
            case "module": return Dir("drivers", "parameters", "refcnt");
            case "new_slot" when isPciback: return WriteOnly(text => HostKernel.NewSlot(_host, text));
            case "remove_slot" when isPciback: return WriteOnly(text => HostKernel.RemoveSlot(_host, text));
            case "slots" when isPciback: return ReadOnly(() => string.Concat(_host.PcibackSlots.Select(a => a + "\n")));
            case "quirks" or "irq_handlers" when isPciback: return ReadOnly(() => string.Empty);
            case "permissive" or "irq_handler_state" when isPciback: return WriteOnly(_ => SysfsError.NoSuchDevice);
            default: break;
        }

        return FunctionNamed(entry) is { } f && f.BoundDriver == driver
            ? new FsLink("../../../../devices" + f.SysfsDevicePath["/sys/devices".Length..])
            : null;
    }

    private FsNode? DeviceNode(string path)
    {
        if (path == "/sys/devices/pci" + RootBus)
        {
            return new FsDirectory([.. _host.PciFunctions.Where(f => f.UpstreamBridge is null).Select(f => f.Address.ToString()).Order(StringComparer.Ordinal)]);
        }

        if (_deviceDirs.TryGetValue(path, out var device))
        {
            var children = _host.PciFunctions.Where(f => f.UpstreamBridge == device.Address).Select(f => f.Address.ToString()).ToList();
            children.AddRange(AttributeNames);
            if (device.BoundDriver is not null)
            {
                children.Add("driver");
            }

            if (NetDevices().Any(n => n.Function == device.Address))
            {
                children.Add("net");
            }

            return new FsDirectory([.. children.Order(StringComparer.Ordinal)]);
        }

        var parent = Parent(path);
        var name = path[(parent.Length + 1)..];
        if (_deviceDirs.TryGetValue(parent, out var function))
        {
            var depth = function.SysfsDevicePath.Count(c => c == '/') - 1;
            return name switch
            {
                "vendor" => ReadOnly(() => Hex(function.VendorId)),
                "device" => ReadOnly(() => Hex(function.DeviceId)),
                "subsystem_vendor" => ReadOnly(() => Hex(function.SubsystemVendorId)),
                "subsystem_device" => ReadOnly(() => Hex(function.SubsystemDeviceId)),
                "class" => ReadOnly(() => "0x" + function.Class + "\n"),
                "revision" => ReadOnly(() => string.Create(CultureInfo.InvariantCulture, $"0x{function.Revision:x2}\n")),
                "driver" when function.BoundDriver is { } driver =>
                    new FsLink(string.Concat(Enumerable.Repeat("../", depth)) + "bus/pci/drivers/" + driver),
                "net" when NetDevices().Any(n => n.Function == function.Address) =>
                    new FsDirectory([.. NetDevices().Where(n => n.Function == function.Address).Select(n => n.Name)]),
                _ => null,
            };
        }

        var grandParent = Parent(parent);
        if (Path.GetFileName(parent) == "net" && _deviceDirs.TryGetValue(grandParent, out var nicFunction) &&
            NetDevices().Any(n => n.Function == nicFunction.Address && n.Name == name))
        {
            return Dir("address", "device", "mtu", "operstate");
        }

        var netDir = Parent(grandParent);
        if (Path.GetFileName(grandParent) == "net" && _deviceDirs.TryGetValue(netDir, out var owner) &&
            NetDevices().FirstOrDefault(n => n.Function == owner.Address && n.Name == Path.GetFileName(parent)) is { } nic)
        {
            return name switch
            {
                "device" => new FsLink("../../../" + owner.Address),
                "address" => ReadOnly(() => nic.Mac + "\n"),
                "mtu" => ReadOnly(() => "1500\n"),
                "operstate" => ReadOnly(() => "up\n"),
                _ => null,
            };
        }

        return null;
    }

    private string Inventory()
    {
        var p = _host.Profile;
        var builder = new StringBuilder();
        void Add(string key, string value) => builder.Append(key).Append("='").Append(value).Append("'\n");
        Add("PRIMARY_DISK", "/dev/disk/by-id/ata-SAMSUNG_MZ7LH480HAHQ-00005_S45PNA0M123456");
        Add("PRODUCT_VERSION", p.ProductVersion);
        Add("XEN_VERSION", p.XenVersion.Split('-')[0]);
        Add("KERNEL_VERSION", p.LinuxVersion);
        Add("XENSOURCE_INVENTORY_VERSION", "0.0.1");
        Add("BUILD_NUMBER", p.BuildNumber);
        Add("CONTROL_DOMAIN_UUID", _host.ControlDomain.Uuid.ToString());
        Add("MANAGEMENT_ADDRESS_TYPE", "IPv4");
        Add("PRODUCT_VERSION_TEXT_SHORT", ShortVersion(p.ProductVersion));
        Add("PLATFORM_VERSION", p.PlatformVersion);
        Add("DOM0_VCPUS", "4");
        Add("INSTALLATION_UUID", _host.Uuid.ToString());
        Add("PRODUCT_BRAND", p.Brand);
        Add("BRAND_CONSOLE", p.Brand == "XCP-ng" ? "XCP-ng Center" : "XenCenter");
        Add("PLATFORM_NAME", "XCP");
        Add("PRODUCT_VERSION_TEXT", ShortVersion(p.ProductVersion));
        Add("DOM0_MEM", "4096");
        Add("COMPANY_NAME_SHORT", p.Brand == "XCP-ng" ? "Open Source" : "Citrix");
        Add("MANAGEMENT_INTERFACE", "xenbr0");
        Add("INSTALLATION_DATE", "2024-05-02 09:13:27.412345");
        return builder.ToString();
    }

    internal static string ShortVersion(string version)
    {
        var parts = version.Split('.');
        return parts.Length >= 2 ? parts[0] + "." + parts[1] : version;
    }

    private static string Hex(ushort value) => string.Create(CultureInfo.InvariantCulture, $"0x{value:x4}\n");
}

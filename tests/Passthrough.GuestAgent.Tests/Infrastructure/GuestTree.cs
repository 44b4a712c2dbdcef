using System.Globalization;
using Passthrough.Contracts.Pci;

namespace Passthrough.GuestAgent.Tests.Infrastructure;

/// <summary>A PCI function to put in a <see cref="GuestTree"/>.</summary>
public sealed record TreeDevice(PciAddress Address, ushort Vendor, ushort Device, string? Driver, uint ClassCode = 0x0c0320, ushort SubsystemVendor = 0x1043, ushort SubsystemDevice = 0x84ca)
{
    public PciDeviceId Id => PciDeviceId.Create(Vendor, Device);
}

/// <summary>
/// A Linux guest as the probe reads it, in a temporary directory: /sys (hypervisor, xenbus, PCI), /proc (kernel release,
/// boot id), /lib/modules. Faults are made by deleting what a real guest would lose.
/// </summary>
public sealed class GuestTree : IDisposable
{
    public const string Kernel = "6.1.0-18-amd64";

    /// <summary>The USB controller of the tutorial (Intel 8086:1e2d EHCI), bound to ehci-pci, in vpci mode.</summary>
    public static TreeDevice UsbController { get; } = new(PciAddress.Parse("0000:00:00.0"), 0x8086, 0x1e2d, "ehci-pci");

    private GuestTree(string root)
    {
        Root = root;
    }

    public string Root { get; }

    public string BootId { get; private set; } = string.Empty;

    /// <summary>A PV guest with pcifront built in, active (driver + pci-0), and the given functions.</summary>
    public static GuestTree Pv(params TreeDevice[] devices)
    {
        var tree = Create();
        tree.Write("sys/hypervisor/type", "xen");
        tree.Write("sys/hypervisor/guest_type", "PV");
        tree.Write("proc/xen/capabilities", string.Empty);
        tree.Write($"lib/modules/{Kernel}/modules.builtin", "kernel/drivers/pci/xen-pcifront.ko\n");
        tree.Write($"lib/modules/{Kernel}/modules.dep", string.Empty);
        Directory.CreateDirectory(tree.Path("sys/bus/xen/drivers/pcifront"));
        Directory.CreateDirectory(tree.Path("sys/bus/xen/devices/pci-0"));
        foreach (var device in devices)
        {
            tree.AddDevice(device);
        }

        return tree;
    }

    /// <summary>An HVM guest whose SMBIOS uuid is <paramref name="dmiUuid"/> (XenServer writes the VM uuid there).</summary>
    public static GuestTree Hvm(string? dmiUuid, params TreeDevice[] devices)
    {
        var tree = Create();
        tree.Write("sys/hypervisor/type", "xen");
        tree.Write("sys/hypervisor/guest_type", "HVM");
        tree.Write("proc/xen/capabilities", string.Empty);
        tree.Write($"lib/modules/{Kernel}/modules.builtin", string.Empty);
        tree.Write($"lib/modules/{Kernel}/modules.dep", string.Empty);
        if (dmiUuid is not null)
        {
            tree.Write("sys/class/dmi/id/product_uuid", dmiUuid);
        }

        foreach (var device in devices)
        {
            tree.AddDevice(device);
        }

        return tree;
    }

    /// <summary>A machine that is not a Xen guest.</summary>
    public static GuestTree NotXen() => Create();

    public void AddDevice(TreeDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        var dir = $"sys/bus/pci/devices/{device.Address}";
        Write($"{dir}/vendor", Hex4(device.Vendor));
        Write($"{dir}/device", Hex4(device.Device));
        Write($"{dir}/subsystem_vendor", Hex4(device.SubsystemVendor));
        Write($"{dir}/subsystem_device", Hex4(device.SubsystemDevice));
        Write($"{dir}/class", string.Create(CultureInfo.InvariantCulture, $"0x{device.ClassCode:x6}"));
        if (device.Driver is not null)
        {
            Bind(device.Address, device.Driver);
        }
    }

    public void Bind(PciAddress address, string driver)
    {
        Directory.CreateDirectory(Path($"sys/bus/pci/drivers/{driver}"));
        File.CreateSymbolicLink(Path($"sys/bus/pci/devices/{address}/driver"), $"../../../bus/pci/drivers/{driver}");
    }

    /// <summary>rmmod xen_pcifront, or a frontend crash: the driver directory goes.</summary>
    public void RemovePcifrontDriver() => Directory.Delete(Path("sys/bus/xen/drivers/pcifront"), recursive: true);

    public void RemoveDevice(PciAddress address) => Directory.Delete(Path($"sys/bus/pci/devices/{address}"), recursive: true);

    public void UnbindDriver(PciAddress address) => File.Delete(Path($"sys/bus/pci/devices/{address}/driver"));

    /// <summary>The guest booted again: a new boot id.</summary>
    public void Reboot()
    {
        BootId = Guid.NewGuid().ToString("D");
        Write("proc/sys/kernel/random/boot_id", BootId);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A process under test may still hold the tree; the temp directory is cleaned up later.
        }
    }

    private static GuestTree Create()
    {
        var root = Directory.CreateTempSubdirectory("guest-tree-").FullName;
        var tree = new GuestTree(root);
        tree.Write("proc/sys/kernel/osrelease", Kernel);
        tree.Reboot();
        Directory.CreateDirectory(tree.Path("sys/bus/pci/devices"));
        tree.Write("var/log/kern.log", string.Empty);
        return tree;
    }

    private string Path(string relative) => System.IO.Path.Combine(Root, relative);

    private void Write(string relative, string content)
    {
        var path = Path(relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content + "\n");
    }

    private static string Hex4(ushort value) => string.Create(CultureInfo.InvariantCulture, $"0x{value:x4}");
}

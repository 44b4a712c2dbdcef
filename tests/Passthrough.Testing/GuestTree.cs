using System.Globalization;

namespace Passthrough.Testing;

/// <summary>
/// A Linux guest's probe-readable tree (sysfs, procfs, /lib/modules, /var/log) in a temporary directory, built
/// fact by fact so each test states exactly the guest it means. Deleted on dispose.
/// </summary>
public sealed class GuestTree : IDisposable
{
    private GuestTree(string root)
    {
        Root = root;
    }

    /// <summary>The directory to use as the probe's root.</summary>
    public string Root { get; }

    /// <summary>An empty tree.</summary>
    public static GuestTree Create() => new(Directory.CreateTempSubdirectory("passthrough-guest-").FullName);

    /// <summary>
    /// A minimal Linux guest: kernel release and boot id, and when <paramref name="guestType"/> is given, Xen with that
    /// <c>/sys/hypervisor/guest_type</c> (pass <c>""</c> for Xen on a kernel without the file).
    /// </summary>
    public static GuestTree Linux(string release, string? guestType = null, string bootId = "5b3d1f0e-8c1a-4c53-9a47-0d2f4b1e6a77")
    {
        var tree = Create();
        tree.Write("proc/sys/kernel/osrelease", release + "\n");
        tree.Write("proc/sys/kernel/random/boot_id", bootId + "\n");
        if (guestType is not null)
        {
            tree.Write("sys/hypervisor/type", "xen\n");
            tree.Write("proc/xen/capabilities", string.Empty);
            if (guestType.Length > 0)
            {
                tree.Write("sys/hypervisor/guest_type", guestType + "\n");
            }
        }

        return tree;
    }

    /// <summary>Writes a file (parent directories created).</summary>
    public GuestTree Write(string relative, string content)
    {
        var path = Path.Combine(Root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return this;
    }

    /// <summary>Creates a directory.</summary>
    public GuestTree Dir(string relative)
    {
        Directory.CreateDirectory(Path.Combine(Root, relative));
        return this;
    }

    /// <summary>Creates a symbolic link whose stored target is <paramref name="target"/>.</summary>
    public GuestTree Link(string relative, string target)
    {
        var path = Path.Combine(Root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.CreateSymbolicLink(path, target);
        return this;
    }

    /// <summary>Deletes a file or directory.</summary>
    public GuestTree Delete(string relative)
    {
        var path = Path.Combine(Root, relative);
        if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }
        else
        {
            File.Delete(path);
        }

        return this;
    }

    /// <summary>The pcifront driver registered with xenbus.</summary>
    public GuestTree PcifrontDriver() => Dir("sys/bus/xen/drivers/pcifront");

    /// <summary>The xenbus frontend device pci-0 (exists when the domain was built with PCI devices, driver or not).</summary>
    public GuestTree PcifrontDevice() => Dir("sys/bus/xen/devices/pci-0");

    /// <summary>The loadable module xen_pcifront loaded (<c>/sys/module/xen_pcifront/initstate</c> = live).</summary>
    public GuestTree PcifrontModuleLoaded() => Write("sys/module/xen_pcifront/initstate", "live\n");

    /// <summary>The modules files of <paramref name="release"/>.</summary>
    public GuestTree Modules(string release, string builtin, string dep) =>
        Write($"lib/modules/{release}/modules.builtin", builtin).Write($"lib/modules/{release}/modules.dep", dep);

    /// <summary>A PCI function with its sysfs attributes and, when given, a driver link.</summary>
    public GuestTree PciDevice(string bdf, string vendorDevice, string pciClass, string? driver = null, string? subsystem = null)
    {
        var ids = vendorDevice.Split(':');
        var dir = $"sys/bus/pci/devices/{bdf}";
        Write($"{dir}/vendor", $"0x{ids[0]}\n");
        Write($"{dir}/device", $"0x{ids[1]}\n");
        var sub = (subsystem ?? "0000:0000").Split(':');
        Write($"{dir}/subsystem_vendor", $"0x{sub[0]}\n");
        Write($"{dir}/subsystem_device", $"0x{sub[1]}\n");
        Write($"{dir}/class", $"0x{pciClass}\n");
        Write($"{dir}/revision", "0x01\n");
        if (driver is not null)
        {
            Dir($"sys/bus/pci/drivers/{driver}");
            Link($"{dir}/driver", $"../../../bus/pci/drivers/{driver}");
        }

        return this;
    }

    /// <summary>xenbus frontend devices such as <c>vbd-51712</c>, <c>vif-0</c>.</summary>
    public GuestTree XenBusDevices(params string[] names)
    {
        foreach (var name in names)
        {
            Dir($"sys/bus/xen/devices/{name}");
        }

        return this;
    }

    /// <summary>The syslog kernel log.</summary>
    public GuestTree KernLog(string text) => Write("var/log/kern.log", text);

    /// <summary>The XENVER_get_features bitmap, submap 0, as the kernel prints it.</summary>
    public GuestTree Features(uint submap0) =>
        Write("sys/hypervisor/properties/features", submap0.ToString("x8", CultureInfo.InvariantCulture) + "\n");

    /// <inheritdoc />
    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: temp is cleaned eventually.
        }
    }
}

using System.Globalization;
using Passthrough.Contracts.Pci;
using Passthrough.Simulation.Model;

namespace Passthrough.Simulation.Interpreter;

/// <summary><c>xl</c>, <c>lspci</c> and <c>xen-cmdline</c> as dom0 answers them.</summary>
internal static class XenTools
{
    public static void Xl(SimulatedHost host, IReadOnlyList<string> args, CommandOutput o)
    {
        switch (args.Count == 0 ? string.Empty : args[0])
        {
            case "info":
                XlInfo(host, o);
                break;
            case "dmesg":
                XlDmesg(host, o);
                break;
            case "pci-assignable-list":
                XlAssignableList(host, o);
                break;
            case "pci-list" when args.Count >= 2:
                XlPciList(host, args[1], o);
                break;
            case "pci-list":
                o.Fail(1, "'xl pci-list' requires at least 1 argument.");
                break;
            case "":
                o.Fail(1, "Usage xl [-vfNtT] <subcommand> [args]");
                break;
            default:
                o.Fail(1, "command not implemented");
                break;
        }
    }

    public static void Lspci(SimulatedHost host, IReadOnlyList<string> args, CommandOutput o)
    {
        var withDomain = false;
        var numeric = false;
        var names = true;
        foreach (var arg in args)
        {
            if (!arg.StartsWith('-') || arg.Length < 2)
            {
                o.Fail(1, "lspci: Unexpected argument: " + arg);
                return;
            }

            foreach (var flag in arg[1..])
            {
                switch (flag)
                {
                    case 'D':
                        withDomain = true;
                        break;
                    case 'n' when numeric:
                        names = true;
                        break;
                    case 'n':
                        numeric = true;
                        names = false;
                        break;
                    default:
                        o.Fail(2, $"lspci: invalid option -- '{flag}'");
                        return;
                }
            }
        }

        foreach (var f in host.PciFunctions.OrderBy(f => f.Address))
        {
            var address = withDomain || f.Address.Domain != 0 ? f.Address.ToString() : f.Address.ToString()[5..];
            var rev = f.Revision == 0 ? string.Empty : string.Create(CultureInfo.InvariantCulture, $" (rev {f.Revision:x2})");
            var ids = string.Create(CultureInfo.InvariantCulture, $"{f.VendorId:x4}:{f.DeviceId:x4}");
            var cls = string.Create(CultureInfo.InvariantCulture, $"{f.Class.Code16:x4}");
            var line = (numeric, names) switch
            {
                (true, true) => $"{address} {f.ClassDisplayName} [{cls}]: {f.VendorName} {f.DeviceName} [{ids}]{rev}",
                (true, false) => $"{address} {cls}: {ids}{rev}",
                _ => $"{address} {f.ClassDisplayName}: {f.VendorName} {f.DeviceName}{rev}",
            };
            o.Line(line);
        }
    }

    /// <summary><c>/opt/xensource/libexec/xen-cmdline --get-dom0 K… | --set-dom0 K=V… | --delete-dom0 K…</c> (and the <c>-xen</c> forms).</summary>
    public static void XenCmdline(SimulatedHost host, IReadOnlyList<string> args, CommandOutput o)
    {
        if (args.Count < 2)
        {
            Usage(o);
            return;
        }

        var operands = args.Skip(1).ToList();
        switch (args[0])
        {
            case "--get-dom0":
                o.Line(string.Join(' ', operands.Select(k => KernelCommandLine.GetToken(host.NextBootDom0Cmdline, k)).OfType<string>()));
                break;
            case "--set-dom0":
                foreach (var token in operands)
                {
                    host.NextBootDom0Cmdline = KernelCommandLine.Set(host.NextBootDom0Cmdline, token);
                }

                break;
            case "--delete-dom0":
                foreach (var key in operands)
                {
                    host.NextBootDom0Cmdline = KernelCommandLine.Delete(host.NextBootDom0Cmdline, key);
                }

                break;
            case "--get-xen":
                o.Line(string.Join(' ', operands.Select(k => KernelCommandLine.GetToken(host.XenCmdline, k)).OfType<string>()));
                break;
            case "--set-xen":
                foreach (var token in operands)
                {
                    host.XenCmdline = KernelCommandLine.Set(host.XenCmdline, token);
                }

                break;
            case "--delete-xen":
                foreach (var key in operands)
                {
                    host.XenCmdline = KernelCommandLine.Delete(host.XenCmdline, key);
                }

                break;
            default:
                Usage(o);
                break;
        }

        static void Usage(CommandOutput output) =>
            output.Fail(1, "Usage: xen-cmdline [--get-xen|--set-xen|--delete-xen|--get-dom0|--set-dom0|--delete-dom0] key[=value]...");
    }

    private static void XlInfo(SimulatedHost host, CommandOutput o)
    {
        var p = host.Profile;
        var (major, minor, extra) = p.SplitXenVersion();
        var running = host.Vms.Where(v => v.HasDomain && v.ResidentOn == host.Uuid && !v.IsControlDomain).Count();
        var lines = new List<(string Key, string Value)>
        {
            ("host", host.Name),
            ("release", p.LinuxVersion),
            ("version", "#1 SMP Tue Jan 23 14:12:55 CET 2024"),
            ("machine", "x86_64"),
            ("nr_cpus", "8"),
            ("max_cpu_id", "7"),
            ("nr_nodes", "1"),
            ("cores_per_socket", "4"),
            ("threads_per_core", "2"),
            ("cpu_mhz", "3600.008"),
            ("hw_caps", "bfebfbff:77faf3ff:2c100800:00000121:0000000f:009c6fbf:00000000:00000100"),
            ("virt_caps", VirtCaps(host)),
            ("total_memory", "32660"),
            ("free_memory", (20112 - (running * 2048)).ToString(CultureInfo.InvariantCulture)),
            ("sharing_freed_memory", "0"),
            ("sharing_used_memory", "0"),
            ("outstanding_claims", "0"),
            ("free_cpus", "0"),
            ("xen_major", major),
            ("xen_minor", minor),
            ("xen_extra", extra),
            ("xen_version", p.XenVersion),
            ("xen_caps", "xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64"),
            ("xen_scheduler", "credit"),
            ("xen_pagesize", "4096"),
            ("platform_params", "virt_start=0xffff800000000000"),
            ("xen_changeset", string.Empty),
            ("xen_commandline", host.XenCmdline),
            ("cc_compiler", "gcc (GCC) 4.8.5 20150623 (Red Hat 4.8.5-44)"),
            ("cc_compile_by", "mockbuild"),
            ("cc_compile_domain", "[unknown]"),
            ("cc_compile_date", "Tue Jan 23 14:12:55 CET 2024"),
            ("build_id", "5b0a3b3c1e6f9d1c2a4b5c6d7e8f9a0b1c2d3e4f"),
            ("xend_config_format", "4"),
        };
        foreach (var (key, value) in lines)
        {
            o.Line($"{key,-23}: {value}");
        }
    }

    internal static string VirtCaps(SimulatedHost host)
    {
        var iommu = host.IommuEnabled;
        if (!host.Profile.ModernVirtCaps)
        {
            return iommu ? "hvm hvm_directio" : "hvm";
        }

        return iommu ? "pv hvm hvm_directio pv_directio hap shadow" : "pv hvm hap shadow";
    }

    private static void XlDmesg(SimulatedHost host, CommandOutput o)
    {
        var stamped = host.Profile.XenAtLeast(4, 13);
        var t = 0.0;
        void Log(string text)
        {
            t += 0.137521;
            o.Line(stamped ? string.Create(CultureInfo.InvariantCulture, $"(XEN) [{t,12:0.000000}] {text}") : "(XEN) " + text);
        }

        Log($"Xen version {host.Profile.XenVersion} (mockbuild@[unknown]) (gcc (GCC) 4.8.5 20150623 (Red Hat 4.8.5-44)) debug=n Tue Jan 23 14:12:55 CET 2024");
        Log("Bootloader: GRUB 2.02");
        Log("Command line: " + host.XenCmdline);
        Log("Xen image load base address: 0");
        if (host.IommuEnabled)
        {
            Log("Intel VT-d iommu 0 supported page sizes: 4kB, 2MB, 1GB");
            Log("Intel VT-d Snoop Control enabled.");
            Log("Intel VT-d Dom0 DMA Passthrough not enabled.");
            Log("Intel VT-d Queued Invalidation enabled.");
            Log("Intel VT-d Interrupt Remapping enabled.");
            Log("Intel VT-d Posted Interrupt not enabled.");
            Log("Intel VT-d Shared EPT tables enabled.");
            Log("I/O virtualisation enabled");
            Log(" - Dom0 mode: Relaxed");
            Log("Interrupt remapping enabled");
        }
        else
        {
            Log("I/O virtualisation disabled");
        }

        Log("Brought up 8 CPUs");
        Log("*** LOADING DOMAIN 0 ***");
    }

    private static void XlAssignableList(SimulatedHost host, CommandOutput o)
    {
        if (!host.PcibackLoaded)
        {
            o.ErrorLine("libxl: error: libxl_pci.c:415:libxl_device_pci_assignable_list: Looks like pciback driver not loaded");
            return;
        }

        var assigned = host.Vms.Where(v => v.HasDomain && v.ResidentOn == host.Uuid).SelectMany(v => v.AttachedPcis).ToHashSet();
        var suffix = host.Profile.AssignableListTrailingSpace ? " " : string.Empty;
        foreach (var f in host.PciFunctions.Where(f => f.BoundDriver == HostKernel.Pciback && !assigned.Contains(f.Address)).OrderBy(f => f.Address))
        {
            o.Line(f.Address + suffix);
        }
    }

    private static void XlPciList(SimulatedHost host, string domain, CommandOutput o)
    {
        var vm = int.TryParse(domain, NumberStyles.None, CultureInfo.InvariantCulture, out var domId)
            ? host.Vms.FirstOrDefault(v => v.HasDomain && v.ResidentOn == host.Uuid && v.DomId == domId)
            : host.Vms.FirstOrDefault(v => v.HasDomain && v.ResidentOn == host.Uuid && v.NameLabel == domain);
        if (vm is null)
        {
            if (!int.TryParse(domain, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            {
                o.Fail(1, $"{domain} is an invalid domain identifier (rc=-6)");
            }

            return;
        }

        if (vm.AttachedPcis.Count == 0)
        {
            return;
        }

        o.Line("Vdev Device");
        var slots = new List<(int Bus, int Device)>();
        foreach (var address in vm.AttachedPcis)
        {
            var key = (address.Bus, address.Device);
            if (!slots.Contains(key))
            {
                slots.Add(key);
            }

            var slot = slots.IndexOf(key);
            o.Line(string.Create(CultureInfo.InvariantCulture, $"{slot:x2}.{address.Function:x1} {address}"));
        }
    }

    /// <summary>A BDF as lspci prints it without <c>-D</c>.</summary>
    internal static string Short(PciAddress address) => address.ToString()[5..];
}

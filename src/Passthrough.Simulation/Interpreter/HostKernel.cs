using System.Globalization;
using Passthrough.Contracts.Messaging;
using Passthrough.Contracts.Pci;
using Passthrough.Simulation.Model;

namespace Passthrough.Simulation.Interpreter;

/// <summary>A failed sysfs write, as errno.</summary>
internal enum SysfsError
{
    None = 0,
    NoSuchDevice,
    NoSuchFile,
    InvalidArgument,
    PermissionDenied,
}

/// <summary>
/// The dom0 kernel and the host's boot cycle: what happens at boot (pciback reads the hide list, drivers bind, xapi
/// starts) and the driver-core semantics of the sysfs bind / unbind / new_slot / remove_slot / drivers_probe files.
/// </summary>
internal static class HostKernel
{
    public const string Pciback = "pciback";

    public static string Describe(SysfsError error) => error switch
    {
        SysfsError.NoSuchDevice => "No such device",
        SysfsError.NoSuchFile => "No such file or directory",
        SysfsError.InvalidArgument => "Invalid argument",
        SysfsError.PermissionDenied => "Permission denied",
        _ => "Success",
    };

    /// <summary>Moves the boot cycle forward to <paramref name="now"/> (phases change lazily, whenever the host is looked at).</summary>
    public static void Advance(SimulatedHost host, DateTimeOffset now)
    {
        var boot = host.Boot;
        while (true)
        {
            switch (boot.Phase)
            {
                case HostPhase.Down when !boot.NeverReturns && boot.DownUntil is { } up && now >= up:
                    Boot(host, up);
                    continue;
                case HostPhase.XapiNotListening when boot.XapiListensAt is { } listens && now >= listens:
                    boot.Phase = HostPhase.XapiInitialising;
                    continue;
                case HostPhase.XapiInitialising when boot.XapiStartFailure is null && boot.XapiReadyAt is { } ready && now >= ready:
                    boot.Phase = HostPhase.Live;
                    if (host.AutoEnable)
                    {
                        host.Enabled = true;
                    }

                    continue;
                default:
                    return;
            }
        }
    }

    /// <summary><c>host-reboot</c>: the host goes down now and boots after <see cref="SimulatedTimings.RebootDowntime"/>.</summary>
    public static void StartReboot(SimulatedHost host, DateTimeOffset now)
    {
        host.Boot.Phase = HostPhase.Down;
        host.Boot.DownUntil = now + host.Timings.RebootDowntime;
        host.Boot.XapiListensAt = null;
        host.Boot.XapiReadyAt = null;
        host.Boot.RebootCount++;
    }

    /// <summary>
    /// A boot at <paramref name="at"/>: new boot id, the next-boot command line becomes the booted one, dynamic binds
    /// and new_slot entries are lost, pciback parses the hide list (or fails to load), every function binds to pciback
    /// or its default driver, domains are gone, and xapi starts (scanning the hide list its own, stricter way).
    /// </summary>
    public static void Boot(SimulatedHost host, DateTimeOffset at, bool xapiReadyAtOnce = false)
    {
        host.BootId = host.Uuids.Next();
        host.BootedDom0Cmdline = host.NextBootDom0Cmdline;
        host.Boot.BootedAt = at;
        host.Boot.DownUntil = null;
        host.NextDomId = 1;
        host.KernelLog.Clear();
        Log(host, at, $"Linux version {host.Profile.LinuxVersion} (mockbuild@builder) (gcc version 4.8.5 20150623 (Red Hat 4.8.5-44) (GCC) ) #1 SMP");
        Log(host, at, "Command line: " + host.BootedDom0Cmdline);

        foreach (var vm in host.Vms)
        {
            if (vm.IsControlDomain)
            {
                vm.PowerState = VmPowerState.Running;
                vm.DomId = 0;
                vm.ResidentOn = host.Uuid;
                vm.StartTime = at;
            }
            else if (vm.ResidentOn == host.Uuid || (vm.ResidentOn is null && vm.HasDomain))
            {
                Halt(vm);
            }
        }

        host.PcibackSlots.Clear();
        var hide = host.BootedHideRaw ?? string.Empty;
        if (KernelPciParsing.TryParseHideList(hide, out var hidden, out var error))
        {
            host.PcibackLoaded = true;
            host.PcibackSlots.AddRange(hidden);
            Log(host, at, "xen_pciback: backend is vpci");
        }
        else
        {
            host.PcibackLoaded = false;
            Log(host, at, "xen_pciback: " + error);
        }

        foreach (var function in host.PciFunctions.OrderBy(f => f.Address))
        {
            if (host.PcibackLoaded && host.PcibackSlots.Contains(function.Address))
            {
                function.BoundDriver = Pciback;
                Log(host, at, $"pciback {function.Address}: seizing device");
            }
            else
            {
                function.BoundDriver = function.DefaultDriver;
            }
        }

        host.Boot.XapiStartFailure = XapiPciParsing.TryScanHidden(host.NextBootHideRaw ?? string.Empty, out _, out var failure)
            ? null
            : failure;
        if (xapiReadyAtOnce)
        {
            host.Boot.XapiListensAt = at;
            host.Boot.XapiReadyAt = at;
            host.Boot.Phase = HostPhase.XapiInitialising;
        }
        else
        {
            host.Boot.XapiListensAt = at + host.Timings.XapiNotListening;
            host.Boot.XapiReadyAt = host.Boot.XapiListensAt + host.Timings.XapiInitialising;
            host.Boot.Phase = HostPhase.XapiNotListening;
        }

        Advance(host, at);
    }

    /// <summary>Stops a VM's domain: halted, no domain id, not resident, nothing attached.</summary>
    public static void Halt(SimulatedVm vm)
    {
        vm.PowerState = VmPowerState.Halted;
        vm.DomId = -1;
        vm.ResidentOn = null;
        vm.AttachedPcis.Clear();
        vm.StartTime = null;
    }

    /// <summary>Driver directories under /sys/bus/pci/drivers (loaded drivers), sorted.</summary>
    public static SortedSet<string> LoadedDrivers(SimulatedHost host)
    {
        var drivers = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var function in host.PciFunctions)
        {
            if (function.DefaultDriver is { } d)
            {
                drivers.Add(d);
            }

            if (function.BoundDriver is { } b)
            {
                drivers.Add(b);
            }
        }

        if (host.PcibackLoaded)
        {
            drivers.Add(Pciback);
        }
        else
        {
            drivers.Remove(Pciback);
        }

        return drivers;
    }

    /// <summary>Whether <paramref name="driver"/>'s id table (pciback: its slot list) matches the function.</summary>
    public static bool Matches(SimulatedHost host, string driver, SimulatedPciFunction function) =>
        driver == Pciback
            ? host.PcibackLoaded && host.PcibackSlots.Contains(function.Address)
            : driver == function.DefaultDriver;

    /// <summary>Writes <paramref name="text"/> to <c>/sys/bus/pci/drivers/&lt;driver&gt;/bind</c>.</summary>
    public static SysfsError Bind(SimulatedHost host, DateTimeOffset now, string driver, string text)
    {
        var function = FindByName(host, text);
        if (function is null || function.BoundDriver is not null || !Matches(host, driver, function))
        {
            return SysfsError.NoSuchDevice;
        }

        return Probe(host, now, driver, function) ? SysfsError.None : SysfsError.NoSuchDevice;
    }

    /// <summary>Writes <paramref name="text"/> to <c>/sys/bus/pci/drivers/&lt;driver&gt;/unbind</c>.</summary>
    public static SysfsError Unbind(SimulatedHost host, string driver, string text)
    {
        var function = FindByName(host, text);
        if (function is null || function.BoundDriver != driver)
        {
            return SysfsError.NoSuchDevice;
        }

        function.BoundDriver = null;
        return SysfsError.None;
    }

    /// <summary>Writes to pciback's <c>new_slot</c>: adds ids to the slot list (does not bind).</summary>
    public static SysfsError NewSlot(SimulatedHost host, string text)
    {
        if (!KernelPciParsing.TryParseSlotFile(text, out var addresses))
        {
            return SysfsError.InvalidArgument;
        }

        foreach (var address in addresses.Where(a => !host.PcibackSlots.Contains(a)))
        {
            host.PcibackSlots.Add(address);
        }

        return SysfsError.None;
    }

    /// <summary>Writes to pciback's <c>remove_slot</c>: removes ids (ENOENT when none matched; does not unbind).</summary>
    public static SysfsError RemoveSlot(SimulatedHost host, string text)
    {
        if (!KernelPciParsing.TryParseSlotFile(text, out var addresses))
        {
            return SysfsError.InvalidArgument;
        }

        return host.PcibackSlots.RemoveAll(addresses.Contains) > 0 ? SysfsError.None : SysfsError.NoSuchFile;
    }

    /// <summary>Writes to <c>/sys/bus/pci/drivers_probe</c>: an unbound function gets the first matching driver (pciback claims its slots first).</summary>
    public static SysfsError DriversProbe(SimulatedHost host, DateTimeOffset now, string text)
    {
        var function = FindByName(host, text);
        if (function is null)
        {
            return SysfsError.NoSuchDevice;
        }

        if (function.BoundDriver is null)
        {
            if (Matches(host, Pciback, function))
            {
                Probe(host, now, Pciback, function);
            }
            else if (function.DefaultDriver is { } driver)
            {
                Probe(host, now, driver, function);
            }
        }

        return SysfsError.None;
    }

    /// <summary>Appends a line to the kernel log, stamped with the time since boot.</summary>
    public static void Log(SimulatedHost host, DateTimeOffset now, string text)
    {
        var since = now - host.Boot.BootedAt;
        if (since < TimeSpan.Zero)
        {
            since = TimeSpan.Zero;
        }

        var micros = since.Ticks / 10;
        host.KernelLog.Add(string.Create(CultureInfo.InvariantCulture, $"[{micros / 1_000_000,5}.{micros % 1_000_000:D6}] {text}"));
    }

    // The driver's probe; injected faults make it fail the way the kernel reports it.
    private static bool Probe(SimulatedHost host, DateTimeOffset now, string driver, SimulatedPciFunction function)
    {
        switch (function.BindFailure)
        {
            case PciBindFailure.FlrTimeout when driver == Pciback:
                Log(host, now, $"pciback {function.Address}: timed out waiting for pending transaction: performing function level reset anyway");
                Log(host, now, $"pciback: probe of {function.Address} failed with error -110");
                return false;
            case PciBindFailure.ProbeFails:
                Log(host, now, $"{driver}: probe of {function.Address} failed with error -5");
                return false;
            default:
                function.BoundDriver = driver;
                if (driver == Pciback)
                {
                    Log(host, now, $"pciback {function.Address}: seizing device");
                }

                return true;
        }
    }

    // bus_find_device_by_name: the exact device name; one trailing newline is ignored (sysfs_streq).
    private static SimulatedPciFunction? FindByName(SimulatedHost host, string text)
    {
        var name = text.EndsWith('\n') ? text[..^1] : text;
        return PciAddress.IsFullForm(name) && PciAddress.TryParse(name, out var address, out _) && name == address.ToString()
            ? host.FindFunction(address)
            : null;
    }
}

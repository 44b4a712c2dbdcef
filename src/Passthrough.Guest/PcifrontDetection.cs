using System.Text.RegularExpressions;
using Passthrough.Contracts.Messaging;

namespace Passthrough.Guest;

/// <summary>Turns the pcifront facts into a <see cref="PcifrontReport"/>.</summary>
internal static partial class PcifrontDetection
{
    /// <summary>How the kernel carries pcifront, from /sys/module and the modules files of the running release.</summary>
    /// <param name="moduleInitState">/sys/module/xen_pcifront/initstate exists (a loaded loadable module).</param>
    /// <param name="driverRegistered">/sys/bus/xen/drivers/pcifront exists.</param>
    /// <param name="modulesBuiltin">modules.builtin, or null when unreadable.</param>
    /// <param name="modulesDep">modules.dep, or null when unreadable.</param>
    public static PcifrontModule Module(bool moduleInitState, bool driverRegistered, string? modulesBuiltin, string? modulesDep)
    {
        if (moduleInitState)
        {
            return PcifrontModule.Loaded;
        }

        if (modulesBuiltin is not null && TextLines.Split(modulesBuiltin).Any(line => BuiltinEntry().IsMatch(line.Trim())))
        {
            return PcifrontModule.BuiltIn;
        }

        if (driverRegistered)
        {
            // Registered without a loaded module: built in, on a system without a readable modules tree.
            return PcifrontModule.BuiltIn;
        }

        if (modulesDep is not null && TextLines.Split(modulesDep).Any(line => DepEntry().IsMatch(line)))
        {
            return PcifrontModule.AvailableNotLoaded;
        }

        return modulesDep is not null || modulesBuiltin is not null ? PcifrontModule.Absent : PcifrontModule.Unknown;
    }

    /// <summary>The state for the saga: NotApplicable outside PV (and Unknown-type) Xen guests.</summary>
    public static PcifrontState State(bool isXen, GuestType guestType, PcifrontModule module, bool driverRegistered, bool frontendDevice)
    {
        if (!isXen || guestType is GuestType.HVM or GuestType.PVH)
        {
            return PcifrontState.NotApplicable;
        }

        if (driverRegistered && frontendDevice)
        {
            return PcifrontState.Active;
        }

        return module switch
        {
            _ when driverRegistered => PcifrontState.LoadedNoDevice,
            PcifrontModule.Loaded or PcifrontModule.BuiltIn => PcifrontState.LoadedNoDevice,
            PcifrontModule.AvailableNotLoaded => PcifrontState.AvailableNotLoaded,
            PcifrontModule.Absent => PcifrontState.Absent,
            _ => PcifrontState.Unknown,
        };
    }

    // modules.builtin: "kernel/drivers/pci/xen-pcifront.ko" (the path moved between releases; the name did not).
    [GeneratedRegex(@"(^|/)xen[-_]pcifront\.ko\z", RegexOptions.CultureInvariant)]
    private static partial Regex BuiltinEntry();

    // modules.dep: "kernel/drivers/pci/xen-pcifront.ko[.xz|.zst|.gz]: dependencies…"; only the key before the colon counts.
    [GeneratedRegex(@"^(\S*/)?xen[-_]pcifront\.ko(\.[a-z0-9]+)?:", RegexOptions.CultureInvariant)]
    private static partial Regex DepEntry();
}

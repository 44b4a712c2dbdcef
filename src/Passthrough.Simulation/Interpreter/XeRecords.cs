using System.Globalization;
using System.Text;
using Passthrough.Contracts.Messaging;
using Passthrough.Simulation.Model;

namespace Passthrough.Simulation.Interpreter;

/// <summary>How xe labels a field: <c>( RO)</c>, <c>( RW)</c>, <c>(MRO)</c>, <c>(MRW)</c>, <c>(SRO)</c>, <c>(SRW)</c>.</summary>
internal enum XeFieldKind
{
    RO = 0,
    RW,
    MRO,
    MRW,
    SRO,
    SRW,
}

/// <summary>One field of an xe record (records.ml's <c>make_field</c>).</summary>
internal sealed class XeField
{
    public required string Name { get; init; }

    public XeFieldKind Kind { get; init; }

    /// <summary>The value as printed (maps <c>k: v; k: v</c>, sets <c>a; b</c>).</summary>
    public required Func<string> Get { get; init; }

    public Func<IReadOnlyList<KeyValuePair<string, string>>>? GetMap { get; init; }

    public Func<IReadOnlyList<string>>? GetSet { get; init; }

    /// <summary>Setter of a RW field; returns the error, or null.</summary>
    public Func<string, XeError?>? Set { get; init; }

    public Action<string, string>? AddToMap { get; init; }

    public Action<string>? RemoveFromMap { get; init; }

    public bool Hidden { get; init; }

    public bool Expensive { get; init; }

    public bool Deprecated { get; init; }

    public bool IsMap => GetMap is not null;

    public bool IsSet => GetSet is not null;

    /// <summary>The label xe prints, e.g. <c>other-config (MRW)</c>.</summary>
    public string Label => Name + Kind switch
    {
        XeFieldKind.RO => " ( RO)",
        XeFieldKind.RW => " ( RW)",
        XeFieldKind.MRO => " (MRO)",
        XeFieldKind.MRW => " (MRW)",
        XeFieldKind.SRO => " (SRO)",
        _ => " (SRW)",
    } + (Deprecated ? " [DEPRECATED]" : string.Empty);
}

/// <summary>The record of one object: its uuid and fields in xapi's order.</summary>
internal sealed record XeRecord(string Uuid, IReadOnlyList<XeField> Fields)
{
    /// <summary>The model object behind the record (<see cref="VmView"/>, <see cref="SimulatedHost"/>, <see cref="SimulatedPeerHost"/>, <see cref="SimulatedPciFunction"/>, <see cref="SimulatedNetDevice"/>).</summary>
    public object? Source { get; init; }

    public XeField? Field(string name) => Fields.FirstOrDefault(f => f.Name == name);
}

/// <summary>Builds the records xapi's CLI shows for VMs (and snapshots, dom0), hosts, PCI functions and PIFs.</summary>
internal sealed class XeRecords(SimulatedHost host)
{
    public const string NotInDatabase = "<not in database>";

    private const string Epoch = "19700101T00:00:00Z";

    public SimulatedHost Host => host;

    /// <summary>Every VM record of the pool: dom0, VMs, then each VM's snapshots.</summary>
    public IEnumerable<XeRecord> AllVmRecords()
    {
        foreach (var vm in host.Vms)
        {
            yield return VmRecord(vm);
        }

        foreach (var vm in host.Vms)
        {
            foreach (var snapshot in vm.Snapshots)
            {
                yield return SnapshotRecord(vm, snapshot);
            }
        }
    }

    public XeRecord VmRecord(SimulatedVm vm) => BuildVm(new VmView(vm, null));

    public XeRecord SnapshotRecord(SimulatedVm parent, SimulatedSnapshot snapshot) => BuildVm(new VmView(parent, snapshot));

    public IEnumerable<XeRecord> HostRecords()
    {
        yield return HostRecord();
        foreach (var peer in host.PoolPeers)
        {
            yield return PeerRecord(peer);
        }
    }

    public IEnumerable<XeRecord> PciRecords() =>
        host.PciFunctions.Where(f => f.XapiUuid is not null).OrderBy(f => f.Address).Select(PciRecord);

    public IEnumerable<XeRecord> PifRecords() => host.NetDevices.Select(PifRecord);

    /// <summary>"uuid (name-label)", as the CLI shows an object reference inside an error.</summary>
    public static string RefOf(SimulatedVm vm) => $"{vm.Uuid} ({vm.NameLabel})";

    public string HostRef() => $"{host.Uuid} ({host.Name})";

    public static string FormatTime(DateTimeOffset? time) =>
        time is { } t ? t.UtcDateTime.ToString("yyyyMMdd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture) : Epoch;

    public static string FormatMap(IEnumerable<KeyValuePair<string, string>> map) =>
        string.Join("; ", map.Select(p => p.Key + ": " + p.Value));

    private static XeField Ro(string name, Func<string> get, bool expensive = false, bool hidden = false) =>
        new() { Name = name, Get = get, Expensive = expensive, Hidden = hidden };

    private static XeField Rw(string name, Func<string> get, Func<string, XeError?>? set = null) =>
        new() { Name = name, Kind = XeFieldKind.RW, Get = get, Set = set ?? (_ => XeError.Failure("The simulated host does not model changes to '" + name + "'.")) };

    private static XeField MapRo(string name, Func<IReadOnlyList<KeyValuePair<string, string>>> map, bool expensive = false) =>
        new() { Name = name, Kind = XeFieldKind.MRO, Get = () => FormatMap(map()), GetMap = map, Expensive = expensive };

    private static XeField MapRw(string name, OrderedDictionary<string, string> map) => new()
    {
        Name = name,
        Kind = XeFieldKind.MRW,
        Get = () => FormatMap(map),
        GetMap = () => [.. map],
        AddToMap = (k, v) => map[k] = v,
        RemoveFromMap = k => map.Remove(k),
    };

    private static XeField MapRwStatic(string name, params KeyValuePair<string, string>[] values)
    {
        var map = new OrderedDictionary<string, string>();
        foreach (var pair in values)
        {
            map.Add(pair.Key, pair.Value);
        }

        return MapRw(name, map);
    }

    private static XeField SetRo(string name, Func<IReadOnlyList<string>> set) =>
        new() { Name = name, Kind = XeFieldKind.SRO, Get = () => string.Join("; ", set()), GetSet = set };

    private static KeyValuePair<string, string> Kv(string key, string value) => new(key, value);

    private static string Bool(bool value) => value ? "true" : "false";

    private XeRecord BuildVm(VmView view)
    {
        var vm = view.Vm;
        var snap = view.Snapshot;
        var isSnapshot = snap is not null;
        var guest = snap?.GuestType ?? vm.GuestType;
        var hvm = guest is GuestType.HVM;
        var power = snap?.PowerState ?? vm.PowerState;
        var running = !isSnapshot && vm.HasDomain;
        var otherConfig = snap?.OtherConfig ?? vm.OtherConfig;
        var profile = host.Profile;
        var fields = new List<XeField>
        {
            Ro("uuid", () => (snap?.Uuid ?? vm.Uuid).ToString()),
            Rw("name-label", () => snap?.NameLabel ?? vm.NameLabel, value =>
            {
                if (snap is not null)
                {
                    snap.NameLabel = value;
                }
                else
                {
                    vm.NameLabel = value;
                }

                return null;
            }),
            Rw("name-description", () => isSnapshot ? string.Empty : vm.NameDescription, value =>
            {
                if (snap is null)
                {
                    vm.NameDescription = value;
                }

                return null;
            }),
            Rw("user-version", () => "1"),
            Rw("is-a-template", () => Bool(isSnapshot)),
            Rw("is-default-template", () => "false"),
            Ro("is-a-snapshot", () => Bool(isSnapshot)),
            Ro("snapshot-of", () => isSnapshot ? vm.Uuid.ToString() : NotInDatabase),
            Ro("snapshots", () => isSnapshot ? string.Empty : string.Join("; ", vm.Snapshots.Select(s => s.Uuid))),
            Ro("snapshot-time", () => FormatTime(snap?.SnapshotTime)),
            Ro("transportable-snapshot-id", () => string.Empty, hidden: true),
            Ro("snapshot-info", () => string.Empty),
            Ro("parent", () => NotInDatabase),
            Ro("children", () => string.Empty),
            Ro("is-control-domain", () => Bool(vm.IsControlDomain)),
            Ro("power-state", () => power.ToString().ToLowerInvariant()),
            Ro("memory-actual", () => running ? "2147483648" : "0"),
            Ro("memory-target", () => "0", expensive: true),
            Ro("memory-overhead", () => "19922944"),
            Rw("memory-static-max", () => "2147483648"),
            Rw("memory-dynamic-max", () => "2147483648"),
            Rw("memory-dynamic-min", () => "2147483648"),
            Rw("memory-static-min", () => "1073741824"),
            MapRwStatic("VCPUs-params"),
            Rw("VCPUs-max", () => "2"),
            Rw("VCPUs-at-startup", () => "2"),
            Rw("actions-after-shutdown", () => "Destroy"),
            Rw("actions-after-reboot", () => "Restart"),
            Rw("actions-after-crash", () => "Restart"),
            SetRo("console-uuids", () => []),
        };
        if (profile.HasDomainType)
        {
            fields.Add(Ro("hvm", () => Bool(hvm)));
        }

        fields.Add(hvm
            ? MapRwStatic("platform", Kv("timeoffset", "0"), Kv("device-model", "qemu-upstream-compat"), Kv("viridian", "true"), Kv("nx", "true"), Kv("acpi", "1"), Kv("apic", "true"), Kv("pae", "true"))
            : MapRwStatic("platform", Kv("nx", "false"), Kv("acpi", "1"), Kv("apic", "true"), Kv("pae", "true")));
        fields.Add(SetRo("allowed-operations", () => AllowedOperations(power, isSnapshot)));
        fields.Add(SetRo("current-operations", () => []));
        fields.Add(MapRwStatic("blocked-operations"));
        if (profile.HasDomainType)
        {
            fields.Add(Rw("domain-type", () => DomainType(guest), value => SetDomainType(vm, snap, value)));
            fields.Add(Ro("current-domain-type", () => running ? DomainType(guest) : "unspecified"));
        }

        fields.Add(Rw("HVM-boot-policy", () => hvm ? "BIOS order" : string.Empty, value =>
        {
            SetGuestType(vm, snap, value.Length == 0 ? GuestType.PV : GuestType.HVM);
            return null;
        }));
        fields.Add(hvm ? MapRwStatic("HVM-boot-params", Kv("order", "cd")) : MapRwStatic("HVM-boot-params"));
        fields.Add(Rw("HVM-shadow-multiplier", () => "1.000"));
        fields.Add(Rw("PV-kernel", () => string.Empty));
        fields.Add(Rw("PV-ramdisk", () => string.Empty));
        fields.Add(Rw("PV-args", () => hvm ? string.Empty : "-- quiet console=hvc0"));
        fields.Add(Rw("PV-legacy-args", () => string.Empty));
        fields.Add(Rw("PV-bootloader", () => hvm ? string.Empty : "pygrub"));
        fields.Add(Rw("PV-bootloader-args", () => string.Empty));
        fields.Add(Ro("last-boot-CPU-flags", () => running ? "vendor: GenuineIntel; features: 1fcbfbff-f7fa3223-2c100800-00000121" : string.Empty));
        fields.Add(Ro("last-boot-record", () => "''", expensive: true));
        fields.Add(Ro("resident-on", () => !isSnapshot && vm.ResidentOn is { } on ? on.ToString() : NotInDatabase));
        fields.Add(Rw("affinity", () => NotInDatabase));
        fields.Add(MapRw("other-config", otherConfig));
        fields.Add(Ro("dom-id", () => (isSnapshot ? -1 : vm.DomId).ToString(CultureInfo.InvariantCulture)));
        fields.Add(Ro("recommendations", () => "<restrictions><restriction field=\"memory-static-max\" max=\"137438953472\" /><restriction field=\"vcpus-max\" max=\"32\" /></restrictions>"));
        fields.Add(MapRwStatic("xenstore-data"));
        fields.Add(new XeField { Name = "ha-always-run", Kind = XeFieldKind.RW, Get = () => "false", Deprecated = true, Set = _ => null });
        fields.Add(Rw("ha-restart-priority", () => string.Empty));
        fields.Add(Ro("blobs", () => string.Empty));
        fields.Add(Ro("start-time", () => FormatTime(running ? vm.StartTime : null)));
        fields.Add(Ro("install-time", () => "20240502T09:20:11Z"));
        fields.Add(Ro("VCPUs-number", () => running ? "2" : "0"));
        fields.Add(MapRo("VCPUs-utilisation", () => running ? [Kv("0", "0.002"), Kv("1", "0.001")] : [], expensive: true));
        fields.Add(Ro("os-version", () => NotInDatabase));
        fields.Add(Ro("PV-drivers-version", () => NotInDatabase));
        fields.Add(Ro("PV-drivers-detected", () => "false"));
        fields.Add(Ro("live", () => NotInDatabase));
        fields.Add(Ro("guest-metrics-last-updated", () => NotInDatabase));
        fields.Add(Ro("can-use-hotplug-vbd", () => "unspecified"));
        fields.Add(Ro("can-use-hotplug-vif", () => "unspecified"));
        fields.Add(new XeField { Name = "tags", Kind = XeFieldKind.SRW, Get = () => string.Empty, GetSet = () => [] });
        fields.Add(Rw("appliance", () => NotInDatabase));
        fields.Add(Rw("start-delay", () => "0"));
        fields.Add(Rw("shutdown-delay", () => "0"));
        fields.Add(Rw("order", () => "0"));
        fields.Add(Ro("version", () => "0"));
        fields.Add(Ro("generation-id", () => string.Empty));
        fields.Add(Ro("hardware-platform-version", () => "0"));
        fields.Add(Rw("has-vendor-device", () => "false"));
        fields.Add(Ro("requires-reboot", () => "false"));
        fields.Add(Ro("reference-label", () => string.Empty));
        fields.Add(MapRwStatic("bios-strings"));
        return new XeRecord((snap?.Uuid ?? vm.Uuid).ToString(), fields) { Source = view };
    }

    private static IReadOnlyList<string> AllowedOperations(VmPowerState power, bool snapshot) => snapshot
        ? ["export", "clone", "copy", "revert", "destroy"]
        : power switch
        {
            VmPowerState.Running => ["changing_dynamic_range", "pause", "clean_reboot", "clean_shutdown", "hard_reboot", "hard_shutdown", "snapshot", "checkpoint", "pool_migrate"],
            VmPowerState.Paused => ["unpause", "hard_reboot", "hard_shutdown", "snapshot", "checkpoint"],
            _ => ["changing_dynamic_range", "changing_static_range", "make_into_template", "export", "clone", "copy", "start", "start_on", "snapshot", "destroy"],
        };

    private static string DomainType(GuestType guest) => guest switch
    {
        GuestType.PV => "pv",
        GuestType.PVH => "pvh",
        GuestType.PVInPVH => "pv_in_pvh",
        _ => "hvm",
    };

    private static XeError? SetDomainType(SimulatedVm vm, SimulatedSnapshot? snapshot, string value)
    {
        GuestType? type = value switch
        {
            "hvm" => GuestType.HVM,
            "pv" => GuestType.PV,
            "pvh" => GuestType.PVH,
            "pv_in_pvh" => GuestType.PVInPVH,
            _ => null,
        };
        if (type is null)
        {
            return XeError.Cli("Expected 'hvm', 'pv', 'pv_in_pvh', 'pvh', got '" + value + "'");
        }

        SetGuestType(vm, snapshot, type.Value);
        return null;
    }

    private static void SetGuestType(SimulatedVm vm, SimulatedSnapshot? snapshot, GuestType type)
    {
        if (snapshot is null)
        {
            vm.GuestType = type;
        }
    }

    private XeRecord HostRecord()
    {
        var p = host.Profile;
        var fields = new List<XeField>
        {
            Ro("uuid", () => host.Uuid.ToString()),
            Rw("name-label", () => host.Name),
            Rw("name-description", () => "Default install"),
            SetRo("allowed-operations", () => ["VM.migrate", "provision", "VM.resume", "evacuate", "VM.start"]),
            SetRo("current-operations", () => []),
            Ro("enabled", () => Bool(host.Enabled)),
        };
        if (p.HasDomainType)
        {
            fields.Add(Ro("display", () => "enabled"));
        }

        fields.Add(Ro("API-version-major", () => "2"));
        fields.Add(Ro("API-version-minor", () => p.HasPciCommands ? "21" : p.HasDomainType ? "16" : "4"));
        fields.Add(Ro("API-version-vendor", () => "XenSource"));
        fields.Add(MapRo("API-version-vendor-implementation", () => []));
        fields.Add(MapRwStatic("logging"));
        fields.Add(Rw("suspend-image-sr-uuid", () => NotInDatabase));
        fields.Add(Rw("crash-dump-sr-uuid", () => NotInDatabase));
        fields.Add(MapRo("software-version", SoftwareVersion));
        fields.Add(SetRo("capabilities", () => ["xen-3.0-x86_64", "hvm-3.0-x86_32", "hvm-3.0-x86_32p", "hvm-3.0-x86_64"]));
        fields.Add(MapRwStatic("other-config", Kv("agent_start_time", "1714641207."), Kv("boot_time", "1714641150."), Kv("iscsi_iqn", "iqn.2024-05.com.example:1a2b3c4d")));
        fields.Add(MapRo("cpu_info", () => [Kv("cpu_count", "8"), Kv("socket_count", "1"), Kv("vendor", "GenuineIntel"), Kv("speed", "3600.008"), Kv("modelname", "Intel(R) Xeon(R) E-2146G CPU @ 3.50GHz"), Kv("family", "6"), Kv("model", "158"), Kv("stepping", "10")]));
        fields.Add(MapRo("chipset-info", ChipsetInfo));
        fields.Add(Ro("hostname", () => host.Name));
        fields.Add(Ro("address", () => host.NetDevices.FirstOrDefault(n => n.Management)?.IpAddress ?? string.Empty));
        fields.Add(SetRo("supported-bootloaders", () => ["pygrub", "eliloader"]));
        fields.Add(Ro("memory-overhead", () => "268828672"));
        fields.Add(Ro("memory-total", () => "34246262784"));
        fields.Add(Ro("memory-free", () => "21089419264"));
        fields.Add(Ro("host-metrics-live", () => "true"));
        fields.Add(SetRo("patches", () => []));
        fields.Add(Ro("edition", () => p.Brand == "XCP-ng" ? "xcp-ng" : "free"));
        fields.Add(Ro("power-on-mode", () => string.Empty));
        if (p.HasDomainType)
        {
            fields.Add(Ro("control-domain-uuid", () => host.ControlDomain.Uuid.ToString()));
        }

        fields.Add(SetRo("resident-vms", () => [.. host.Vms.Where(v => v.ResidentOn == host.Uuid).Select(v => v.Uuid.ToString())]));
        return new XeRecord(host.Uuid.ToString(), fields) { Source = host };
    }

    private IReadOnlyList<KeyValuePair<string, string>> ChipsetInfo() => host.Profile.ModernVirtCaps
        ? [Kv("iommu", Bool(host.IommuEnabled)), Kv("hvm", "true")]
        : [Kv("iommu", Bool(host.IommuEnabled))];

    private IReadOnlyList<KeyValuePair<string, string>> SoftwareVersion()
    {
        var p = host.Profile;
        var list = new List<KeyValuePair<string, string>>
        {
            Kv("product_version", p.ProductVersion),
            Kv("product_version_text", Dom0FileSystem.ShortVersion(p.ProductVersion)),
            Kv("product_version_text_short", Dom0FileSystem.ShortVersion(p.ProductVersion)),
            Kv("platform_name", "XCP"),
            Kv("platform_version", p.PlatformVersion),
            Kv("product_brand", p.Brand),
            Kv("build_number", p.BuildNumber),
            Kv("hostname", "localhost"),
            Kv("date", "2024-01-23"),
            Kv("dbv", "2024.0123"),
            Kv("xapi", p.XapiVersion),
        };
        if (p.XapiBuild is { } build)
        {
            list.Add(Kv("xapi_build", build));
        }

        list.Add(Kv("xen", p.XenVersion));
        list.Add(Kv("linux", p.LinuxVersion));
        list.Add(Kv("xencenter_min", "2.21"));
        list.Add(Kv("xencenter_max", "2.21"));
        list.Add(Kv("network_backend", "openvswitch"));
        list.Add(Kv("db_schema", "5.775"));
        return list;
    }

    private XeRecord PeerRecord(SimulatedPeerHost peer) => new(peer.Uuid.ToString(),
    [
        Ro("uuid", () => peer.Uuid.ToString()),
        Rw("name-label", () => peer.NameLabel),
        Rw("name-description", () => "Default install"),
        SetRo("allowed-operations", () => ["VM.migrate", "provision", "VM.resume", "evacuate", "VM.start"]),
        SetRo("current-operations", () => []),
        Ro("enabled", () => Bool(peer.Enabled)),
        MapRo("software-version", SoftwareVersion),
        MapRo("chipset-info", ChipsetInfo),
        Ro("hostname", () => peer.NameLabel),
        Ro("address", () => string.Empty),
        SetRo("resident-vms", () => [.. host.Vms.Where(v => v.ResidentOn == peer.Uuid).Select(v => v.Uuid.ToString())]),
    ])
    { Source = peer };

    private XeRecord PciRecord(SimulatedPciFunction f)
    {
        var dependencies = host.PciFunctions
            .Where(o => o.XapiUuid is not null && o.Address.IsSiblingOf(f.Address))
            .OrderBy(o => o.Address)
            .Select(o => o.Address.ToString())
            .ToList();
        var otherConfig = new OrderedDictionary<string, string>();
        return new XeRecord(f.XapiUuid!.Value.ToString(),
        [
            Ro("uuid", () => f.XapiUuid!.Value.ToString()),
            Ro("vendor-name", () => f.VendorName),
            Ro("device-name", () => f.DeviceName),
            Ro("driver-name", () => f.BoundDriver ?? string.Empty),
            Ro("host-uuid", () => host.Uuid.ToString()),
            Ro("host-name-label", () => host.Name),
            Ro("pci-id", () => f.Address.ToString()),
            SetRo("dependencies", () => dependencies),
            MapRw("other-config", otherConfig),
        ])
        { Source = f };
    }

    private XeRecord PifRecord(SimulatedNetDevice nic)
    {
        var function = host.FindFunction(nic.Function);
        var attached = function is not null && function.BoundDriver is not null && function.BoundDriver == function.DefaultDriver;
        return new XeRecord(nic.PifUuid.ToString(),
        [
            Ro("uuid", () => nic.PifUuid.ToString()),
            Ro("device", () => nic.Name),
            Ro("MAC", () => nic.Mac),
            Ro("physical", () => "true"),
            Ro("managed", () => "true"),
            Ro("currently-attached", () => Bool(attached)),
            Ro("MTU", () => "1500"),
            Ro("VLAN", () => "-1"),
            Ro("bond-master-of", () => string.Empty),
            Ro("bond-slave-of", () => NotInDatabase),
            Ro("management", () => Bool(nic.Management)),
            Ro("network-uuid", () => nic.NetworkUuid.ToString()),
            Ro("network-name-label", () => nic.NetworkName),
            Ro("host-uuid", () => host.Uuid.ToString()),
            Ro("host-name-label", () => host.Name),
            Ro("IP-configuration-mode", () => nic.Management ? "DHCP" : "None"),
            Ro("IP", () => nic.IpAddress),
            Ro("netmask", () => nic.Management ? "255.255.255.0" : string.Empty),
            Ro("gateway", () => nic.Management ? "192.168.1.1" : string.Empty),
            Ro("IPv6-configuration-mode", () => "None"),
            Ro("IPv6", () => string.Empty),
            Ro("IPv6-gateway", () => string.Empty),
            Ro("primary-address-type", () => "IPv4"),
            Ro("DNS", () => nic.Management ? "192.168.1.1" : string.Empty),
            MapRwStatic("properties", Kv("gro", "on")),
            SetRo("capabilities", () => []),
            Ro("io_read_kbs", () => "0.000", expensive: true),
            Ro("io_write_kbs", () => "0.000", expensive: true),
            Ro("carrier", () => Bool(attached)),
            Ro("vendor-id", () => function is null ? string.Empty : function.VendorId.ToString("x4", CultureInfo.InvariantCulture)),
            Ro("vendor-name", () => function?.VendorName ?? string.Empty),
            Ro("device-id", () => function is null ? string.Empty : function.DeviceId.ToString("x4", CultureInfo.InvariantCulture)),
            Ro("device-name", () => function?.DeviceName ?? string.Empty),
            Ro("speed", () => attached ? "1000 Mbit/s" : "0 Mbit/s"),
            Ro("duplex", () => attached ? "full" : "unknown"),
            Rw("disallow-unplug", () => "false"),
            Ro("pci-bus-path", () => nic.Function.ToString()),
            MapRwStatic("other-config"),
        ])
        { Source = nic };
    }

    /// <summary>Formats records as xe prints a table: label column padded to 4 + the longest label, then two blank lines.</summary>
    public static string PrintTable(IEnumerable<IReadOnlyList<(string Label, string Value)>> records)
    {
        var builder = new StringBuilder();
        foreach (var record in records)
        {
            var width = 4 + (record.Count == 0 ? 0 : record.Max(r => r.Label.Length));
            for (var i = 0; i < record.Count; i++)
            {
                var (label, value) = record[i];
                builder.Append(i == 0 ? label.PadRight(width) : label.PadLeft(width)).Append(": ").Append(value).Append('\n');
            }

            if (record.Count == 0)
            {
                builder.Append('\n');
            }

            builder.Append("\n\n");
        }

        return builder.ToString();
    }

}

/// <summary>A VM record's model: the VM, or one of its snapshots.</summary>
internal sealed record VmView(SimulatedVm Vm, SimulatedSnapshot? Snapshot);

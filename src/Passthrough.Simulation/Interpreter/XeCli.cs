using System.Globalization;
using System.Text;
using Passthrough.Contracts.Messaging;
using Passthrough.Contracts.Pci;
using Passthrough.Simulation.Model;

namespace Passthrough.Simulation.Interpreter;

/// <summary>
/// The <c>xe</c> CLI over the host model: argument parsing (<c>key=value</c>, <c>--minimal</c>, <c>--force</c>), the
/// generated class commands (<c>vm-list</c>, <c>*-param-get</c> …) with xapi's filters and field selection, the VM,
/// snapshot, host and PCI operations the driver uses, <c>help</c>, and errors printed as xapi_cli.ml prints them.
/// </summary>
internal sealed class XeCli
{
    private static readonly string[] StdParams = ["server", "password", "port", "username", "minimal", "force", "multiple", "all", "message-priority", "trace"];

    // The two-word switches of cli_frontend.ml's switch_map ("--x" needs no table: it always means x=true).
    private static readonly Dictionary<string, string> Switches = new(StringComparer.Ordinal)
    {
        ["-u"] = "username",
        ["-pw"] = "password",
        ["-s"] = "server",
        ["-h"] = "server",
        ["-p"] = "port",
    };

    private const string VmSelectorsInfo =
        " VMs can be specified by filtering the full list of VMs on the values of zero or more fields. For example, specifying 'uuid=<some_uuid>' will select only the VM with that uuid, and 'power-state=halted' will select only VMs whose 'power-state' field is equal to 'halted'. The special pseudo-field 'vm' matches either of name-label or uuid. Where multiple VMs are matching, the option '--multiple' must be specified to perform the operation. The full list of fields that can be matched can be obtained by the command 'xe vm-list params=all'. If no parameters to select VMs are given, the operation will be performed on all VMs.";

    private const string HostSelectorsInfo =
        " Hosts can be specified by filtering the full list of hosts on the values of zero or more fields. For example, specifying 'uuid=<some_uuid>' will select only the host with that uuid, and 'enabled=true' will select only hosts whose 'enabled' field is equal to 'true'. The special pseudo-field 'host' matches any of hostname, name-label or uuid. Where multiple hosts are matching, and the operation can be performed on multiple hosts, the option '--multiple' must be specified to perform the operation. The full list of fields that can be matched can be obtained by the command 'xe host-list params=all'. If no parameters to select hosts are given, the operation will be performed on all hosts.";

    private readonly SimulatedHost _host;
    private readonly DateTimeOffset _now;
    private readonly XeRecords _records;
    private readonly Dictionary<string, XeCommand> _commands = new(StringComparer.Ordinal);
    private string? _stdin;

    public XeCli(SimulatedHost host, DateTimeOffset now)
    {
        _host = host;
        _now = now;
        _records = new XeRecords(host);
        RegisterClass(new XeClass("vm", "VM", _records.AllVmRecords, [("is-a-template", "false")], ["name-label", "uuid", "power-state"], true));
        RegisterClass(new XeClass("snapshot", "VM", _records.AllVmRecords, [("is-a-snapshot", "true")], ["name-label", "name-description", "uuid", "snapshot_of", "snapshot_time", "is-vmss-snapshot"], false));
        RegisterClass(new XeClass("host", "host", _records.HostRecords, [], ["uuid", "name-label", "name-description"], false));
        RegisterClass(new XeClass("pif", "PIF", _records.PifRecords, [], ["uuid", "device", "VLAN", "MAC", "network-uuid", "currently-attached", "host-uuid"], false));
        if (host.Profile.HasPciCommands)
        {
            RegisterClass(new XeClass("pci", "PCI", _records.PciRecords, [], ["uuid", "vendor-name", "device-name", "pci-id"], false));
            Register("pci-enable-dom0-access", ["uuid"], [], "Enable PCI access to dom0.", Selectors.None, (p, o) => Dom0Access(p, o, enable: true));
            Register("pci-disable-dom0-access", ["uuid"], [], "Disable PCI access to dom0.", Selectors.None, (p, o) => Dom0Access(p, o, enable: false));
            Register("pci-get-dom0-access-status", ["uuid"], [], "Return a PCI device's dom0 access status.", Selectors.None, Dom0AccessStatus);
        }

        Register("vm-start", [], ["force", "on", "paused"], "Start the selected VM(s). Where pooling is enabled, the host on which to start can be specified with the 'on' parameter that takes a uuid. The optional parameter '--force' will bypass any hardware-compatibility warnings.", Selectors.Vm, VmStart);
        Register("vm-shutdown", [], ["force"], "Shutdown the selected VM(s). The optional argument --force will forcibly shut down the VM.", Selectors.Vm, VmShutdown);
        Register("vm-snapshot", ["new-name-label"], ["new-name-description", "ignore-vdi-uuids"], "Snapshot an existing VM, using storage-level fast disk snapshot operation where available.", Selectors.Vm, VmSnapshot);
        Register("snapshot-revert", [], ["uuid", "snapshot-uuid"], "Revert an existing VM to a previous checkpointed or snapshotted state.", Selectors.None, SnapshotRevert);
        Register("snapshot-uninstall", [], ["uuid", "snapshot-uuid", "force"], "Uninstall a snapshot. This operation will destroy those VDIs that are marked RW and connected to this snapshot only. To simply destroy the VM record, use snapshot-destroy.", Selectors.None, SnapshotUninstall);
        Register("host-disable", [], ["auto-enable"], "Disable the XE host. Setting auto-enable=false will keep the host persistently disabled until manually re-enabled with Host.enable.", Selectors.Host, HostDisable);
        Register("host-enable", [], [], "Enable the XE host.", Selectors.Host, HostEnable);
        Register("host-evacuate", [], ["network-uuid", "batch-size"], "Migrate all VMs off a host.", Selectors.Host, HostEvacuate);
        Register("host-reboot", [], [], "Reboot the XE host.", Selectors.Host, HostReboot);
    }

    private enum Selectors
    {
        None = 0,
        Vm,
        Host,
    }

    /// <summary>Runs <c>xe</c> with <paramref name="args"/>.</summary>
    public void Run(IReadOnlyList<string> args, string? stdin, CommandOutput o)
    {
        _stdin = stdin;
        switch (_host.Boot.Phase)
        {
            case HostPhase.XapiNotListening:
                Emit(o, XeError.Client("Error: Connection refused (calling connect )"));
                return;
            case HostPhase.XapiInitialising:
                Emit(o, XeError.Api("HOST_STILL_BOOTING"));
                return;
            default:
                break;
        }

        if (args.Count == 0)
        {
            o.Line("Usage: xe <cmd> [-s server] [-p port] ([-u username] [-pw password] or [-pwf <password file>]) <other arguments>");
            return;
        }

        var name = args[0];
        if (name.Contains('=', StringComparison.Ordinal) || !TryParseParams(args.Skip(1), out var parameters))
        {
            Emit(o, XeError.Param("Syntax error", string.Empty));
            return;
        }

        var minimal = parameters.Bool("minimal");
        var printer = new XePrinter(minimal);
        if (name == "help")
        {
            Help(parameters, printer);
            o.Out.Append(printer.Flush());
            return;
        }

        if (!_commands.TryGetValue(name, out var command))
        {
            Emit(o, XeError.Param("Unknown command", name));
            return;
        }

        var missing = command.Reqd.FirstOrDefault(r => !parameters.Has(r));
        if (missing is not null)
        {
            Emit(o, XeError.Param("Required parameter not found", missing));
            return;
        }

        var error = command.Run(parameters, printer);
        if (error is not null)
        {
            Emit(o, error);
            return;
        }

        o.Out.Append(printer.Flush());
    }

    private static void Emit(CommandOutput o, XeError error)
    {
        o.Err.Append(error.Text);
        o.Exit = 1;
    }

    // cli_frontend.ml parse_params_2: "--x" is (x, true); "-x v" a known two-word switch; "k=v" splits at the first '=';
    // a bare word is (word, "") (how "xe help vm-start" names its command).
    private static bool TryParseParams(IEnumerable<string> tokens, out XeParams parameters)
    {
        parameters = new XeParams();
        var list = tokens.ToList();
        for (var i = 0; i < list.Count; i++)
        {
            var token = list[i];
            if (token.StartsWith("--", StringComparison.Ordinal))
            {
                parameters.Add(token[2..], "true");
                continue;
            }

            if (token.StartsWith('-'))
            {
                if (!Switches.TryGetValue(token, out var key) || i + 1 >= list.Count)
                {
                    return false;
                }

                parameters.Add(key, list[++i]);
                continue;
            }

            var eq = token.IndexOf('=', StringComparison.Ordinal);
            parameters.Add(eq < 0 ? token : token[..eq], eq < 0 ? string.Empty : token[(eq + 1)..]);
        }

        return true;
    }

    // ---------------------------------------------------------------- command table and help

    private void Register(string name, string[] reqd, string[] optn, string help, Selectors selectors, Func<XeParams, XePrinter, XeError?> run) =>
        _commands[name] = new XeCommand(
            name,
            reqd,
            selectors switch
            {
                Selectors.Vm => [.. optn, "<vm-selectors>"],
                Selectors.Host => [.. optn, "<host-selectors>"],
                _ => optn,
            },
            selectors switch
            {
                Selectors.Vm => help + VmSelectorsInfo,
                Selectors.Host => help + HostSelectorsInfo,
                _ => help,
            },
            run);

    private void RegisterClass(XeClass cls)
    {
        var sample = cls.All().FirstOrDefault()?.Fields.Where(f => !f.Hidden).ToList() ?? [];
        var fieldNames = sample.Select(f => f.Name).ToList();
        var setFilters = sample.Where(f => f.IsSet).Select(f => f.Name + ":contains");
        var settable = sample.Where(f => f.Set is not null).Select(f => f.Name)
            .Concat(sample.Where(f => f.AddToMap is not null).Select(f => f.Name + ":")).ToArray();
        var plural = cls.Name + "s";
        Register(cls.Name + "-list", [], ["params", "database:", .. fieldNames, .. setFilters],
            $"Lists all the {plural}, filtering on the optional arguments. To filter on map parameters, use the syntax 'map-param:key=value'",
            Selectors.None, (p, o) => List(cls, p, o));
        Register(cls.Name + "-param-list", ["uuid"], ["database:"], "Lists all the parameters of the object specified by the uuid.",
            Selectors.None, (p, o) => ParamList(cls, p, o));
        Register(cls.Name + "-param-get", ["uuid", "param-name"], ["param-key", "database:"],
            "Gets the parameter specified of the object. If the parameter is a map of key=value pairs, use 'param-key=<key>' to get the value associated with a particular key.",
            Selectors.None, (p, o) => ParamGet(cls, p, o));
        if (settable.Length > 0)
        {
            Register(cls.Name + "-param-set", ["uuid"], settable,
                "Sets the parameter specified. If param-value is not given, the parameter is set to a null value. To set a (key,value) pair in a map parameter, use the syntax 'map-param:key=value'.",
                Selectors.None, (p, o) => ParamSet(cls, p));
        }

        if (sample.Any(f => f.AddToMap is not null))
        {
            Register(cls.Name + "-param-remove", ["uuid", "param-name", "param-key"], [], "Removes a member or a key,value pair from a set/map respectively.",
                Selectors.None, (p, o) => ParamRemove(cls, p));
        }
    }

    private void Help(XeParams parameters, XePrinter printer)
    {
        var names = parameters.Pairs.Select(p => p.Key).Where(k => k is not ("server" or "username" or "password" or "port" or "minimal" or "all")).ToList();
        if (names.Count == 0)
        {
            printer.Message("Usage: xe <command> [-s server] [-pw passwd] [-p port] [-u user] [-pwf password-file]\n  [command specific arguments]\n\nTo get help on a specific command: xe help <command>\n\nCommands: " +
                string.Join(", ", _commands.Keys.Order(StringComparer.Ordinal)));
            return;
        }

        foreach (var name in names)
        {
            if (_commands.TryGetValue(name, out var command))
            {
                printer.Table([[
                    ("command name        ", name),
                    ("reqd params     ", string.Join(", ", command.Reqd)),
                    ("optional params ", string.Join(", ", command.Optn)),
                    ("description     ", command.Help),
                ]]);
            }
            else
            {
                printer.List(["Unknown command '" + name + "'"]);
            }
        }
    }

    // ---------------------------------------------------------------- generated class commands

    private static XeError? List(XeClass cls, XeParams parameters, XePrinter printer)
    {
        var all = cls.All().ToList();
        var filters = cls.DefaultFilters.Concat(parameters.Pairs
            .Where(p => p.Key != "params" && !StdParams.Contains(p.Key) && !p.Key.StartsWith("database:", StringComparison.Ordinal))
            .Select(p => (p.Key, p.Value)));
        var records = all;
        foreach (var (key, value) in filters)
        {
            var error = Filter(ref records, key, value);
            if (error is not null)
            {
                return error;
            }
        }

        var shown = parameters.Bool("all") ? all : records;
        printer.Table(SelectFields(parameters, shown, cls.DefaultParams).Select(fields =>
            (IReadOnlyList<(string, string)>)[.. fields.Where(f => !f.Hidden).Select(f => (f.Label, f.Expensive ? "<expensive field>" : f.Get()))]));
        return null;
    }

    private static XeError? ParamList(XeClass cls, XeParams parameters, XePrinter printer)
    {
        if (!TryGetRecord(cls, parameters.Get("uuid")!, out var record, out var error))
        {
            return error;
        }

        printer.Table([[.. record.Fields.Where(f => !f.Hidden).Select(f => (f.Label, f.Get()))]]);
        return null;
    }

    private static XeError? ParamGet(XeClass cls, XeParams parameters, XePrinter printer)
    {
        if (!TryGetRecord(cls, parameters.Get("uuid")!, out var record, out var error))
        {
            return error;
        }

        var name = parameters.Get("param-name")!;
        if (record.Field(name) is not { } field)
        {
            return MissingParameter(name);
        }

        if (parameters.Get("param-key") is { } key && field.GetMap is { } map)
        {
            var pair = map().FirstOrDefault(p => p.Key == key);
            if (pair.Key is null)
            {
                return XeError.Failure($"Key {key} not found in map");
            }

            printer.List([pair.Value]);
            return null;
        }

        printer.List([field.Get()]);
        return null;
    }

    private static XeError? ParamSet(XeClass cls, XeParams parameters)
    {
        if (!TryGetRecord(cls, parameters.Get("uuid")!, out var record, out var error))
        {
            return error;
        }

        foreach (var (key, value) in parameters.Pairs.Where(p => p.Key != "uuid" && !StdParams.Contains(p.Key)))
        {
            var type = FieldType(key, record.Fields, out var fieldError);
            if (fieldError is not null)
            {
                return fieldError;
            }

            var field = record.Field(type.Name)!;
            switch (type.Kind)
            {
                case FieldTypeKind.Map:
                    if (field.AddToMap is not { } add)
                    {
                        return XeError.Failure($"Map field '{type.Name}' is read-only.");
                    }

                    var mapKey = key[(type.Name.Length + 1)..];
                    if (field.GetMap!().Any(p => p.Key == mapKey))
                    {
                        field.RemoveFromMap?.Invoke(mapKey);
                    }

                    add(mapKey, value);
                    break;
                case FieldTypeKind.Set:
                    return XeError.Failure("Cannot param-set on set fields");
                default:
                    if (field.Set is not { } set)
                    {
                        return XeError.Failure(field.AddToMap is not null
                            ? $"Field '{key}' is a map or set. use the 'name:key=value' syntax."
                            : $"Field '{key}' is read-only.");
                    }

                    if (set(value) is { } setError)
                    {
                        return setError;
                    }

                    break;
            }
        }

        return null;
    }

    private XeError? ParamRemove(XeClass cls, XeParams parameters)
    {
        if (!TryGetRecord(cls, parameters.Get("uuid")!, out var record, out var error))
        {
            return error;
        }

        var name = parameters.Get("param-name")!;
        var key = parameters.Get("param-key")!;
        if (record.Field(name) is not { } field)
        {
            return MissingParameter(name);
        }

        if (field.GetMap is { } map && field.RemoveFromMap is { } remove)
        {
            if (!map().Any(p => p.Key == key))
            {
                return XeError.Failure(_host.Profile.LegacyCliMessages ? "Key is not in map" : $"Key {key} is not in map");
            }

            remove(key);
            return null;
        }

        if (field.GetSet is { } set && field.Kind == XeFieldKind.SRW)
        {
            return XeError.Failure(set().Contains(key) ? "Cannot remove parameters from read-only map" : $"Key {key} is not in the set");
        }

        return XeError.Failure(field.IsMap || field.IsSet ? "Cannot remove parameters from read-only map" : "Can only remove from parameters of type Set or Map");
    }

    private static XeError MissingParameter(string name) => XeError.Api("Missing parameter", name);

    private static bool TryGetRecord(XeClass cls, string uuid, out XeRecord record, out XeError? error)
    {
        record = cls.All().FirstOrDefault(r => r.Uuid == uuid)!;
        error = record is null ? XeError.Api("UUID_INVALID", cls.UuidType, uuid) : null;
        return record is not null;
    }

    private static IEnumerable<IReadOnlyList<XeField>> SelectFields(XeParams parameters, IEnumerable<XeRecord> records, string[] defaults)
    {
        string[] wanted = parameters.Get("params") is { } p
            ? p == "all" ? [] : p.Split(',')
            : defaults;
        return records.Select(r => wanted.Length == 0 ? r.Fields : (IReadOnlyList<XeField>)[.. r.Fields.Where(f => wanted.Contains(f.Name))]);
    }

    private enum FieldTypeKind
    {
        Normal = 0,
        Map,
        Set,
    }

    private readonly record struct FieldTypeInfo(FieldTypeKind Kind, string Name);

    // cli_operations.ml get_field_type: exact name, then "map:key" / "set:contains", then the old "map-key" form.
    private static FieldTypeInfo FieldType(string fieldName, IReadOnlyList<XeField> fields, out XeError? error)
    {
        error = null;
        if (fields.Any(f => f.Name == fieldName))
        {
            return new(FieldTypeKind.Normal, fieldName);
        }

        var colon = fieldName.IndexOf(':', StringComparison.Ordinal);
        if (colon >= 0)
        {
            var real = fieldName[..colon];
            var field = fields.FirstOrDefault(f => f.Name == real);
            if (field is null)
            {
                error = XeError.Failure($"Unknown field '{fieldName}'");
            }
            else if (field.IsSet)
            {
                return new(FieldTypeKind.Set, real);
            }
            else if (field.IsMap)
            {
                return new(FieldTypeKind.Map, real);
            }
            else
            {
                error = XeError.Failure($"Field '{real}' is not a set or map");
            }

            return default;
        }

        var map = fields.Where(f => f.IsMap).OrderByDescending(f => f.Name.Length).FirstOrDefault(f => fieldName.StartsWith(f.Name + "-", StringComparison.Ordinal));
        if (map is not null)
        {
            return new(FieldTypeKind.Map, map.Name);
        }

        var set = fields.Where(f => f.IsSet).OrderByDescending(f => f.Name.Length).FirstOrDefault(f => fieldName.StartsWith(f.Name + "-", StringComparison.Ordinal));
        if (set is not null)
        {
            return new(FieldTypeKind.Set, set.Name);
        }

        error = XeError.Failure($"Unknown field '{fieldName}'");
        return default;
    }

    // cli_operations.ml filter_records_on_fields.
    private static XeError? Filter(ref List<XeRecord> records, string key, string value)
    {
        if (records.Count == 0)
        {
            return null;
        }

        var type = FieldType(key, records[0].Fields, out var error);
        if (error is not null)
        {
            return error;
        }

        switch (type.Kind)
        {
            case FieldTypeKind.Normal:
                records = [.. records.Where(r => r.Field(key)?.Get() == value)];
                break;
            case FieldTypeKind.Map:
                var mapKey = key[(type.Name.Length + 1)..];
                records = [.. records.Where(r => r.Field(type.Name)?.GetMap?.Invoke().Any(p => p.Key == mapKey && p.Value == value) == true)];
                break;
            default:
                if (key[(type.Name.Length + 1)..] != "contains")
                {
                    return XeError.Failure("Invalid syntax for set filtering (should be set-param:contains=key)");
                }

                records = [.. records.Where(r => r.Field(type.Name)?.GetSet?.Invoke().Contains(value) == true)];
                break;
        }

        return null;
    }

    // ---------------------------------------------------------------- VM operations

    private XeError? SelectVms(XeParams parameters, string[] ignore, bool includeControl, out List<VmView> vms)
    {
        vms = [];
        var filters = new List<(string Key, string Value)> { ("is-a-template", "false") };
        if (!includeControl)
        {
            filters.Add(("is-control-domain", "false"));
        }

        var records = _records.AllVmRecords().ToList();
        if (parameters.Get("vm") is { } nameOrUuid)
        {
            records = [.. records.Where(r => r.Uuid == nameOrUuid || r.Field("name-label")?.Get() == nameOrUuid)];
        }

        filters.AddRange(parameters.Pairs
            .Where(p => p.Key != "vm" && !StdParams.Contains(BeforeColon(p.Key)) && !ignore.Contains(BeforeColon(p.Key)))
            .Select(p => (p.Key, p.Value)));
        foreach (var (key, value) in filters)
        {
            var error = Filter(ref records, key, value);
            if (error is not null)
            {
                return error;
            }
        }

        if (records.Count == 0)
        {
            return XeError.Failure("No matching VMs found");
        }

        if (records.Count > 1 && !parameters.Bool("multiple"))
        {
            return XeError.Failure("Multiple matches VMs found. --multiple required to complete the operation");
        }

        vms = [.. records.Select(r => (VmView)r.Source!)];
        return null;
    }

    private static string BeforeColon(string key)
    {
        var colon = key.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? key : key[..colon];
    }

    private XeError? VmStart(XeParams parameters, XePrinter printer)
    {
        var error = SelectVms(parameters, ["on", "paused", "progress"], includeControl: true, out var vms);
        if (error is not null)
        {
            return error;
        }

        foreach (var view in vms)
        {
            error = StartVm(view.Vm, parameters.Get("on"));
            if (error is not null)
            {
                return error;
            }
        }

        return null;
    }

    private XeError? StartVm(SimulatedVm vm, string? on)
    {
        if (vm.PowerState != VmPowerState.Halted)
        {
            return BadPowerState(vm, "halted");
        }

        object? target = _host.Enabled ? _host : null;
        if (on is not null)
        {
            target = on == _host.Uuid.ToString() || on == _host.Name
                ? _host
                : _host.PoolPeers.FirstOrDefault(p => p.Uuid.ToString() == on || p.NameLabel == on);
            if (target is null)
            {
                return XeError.Failure($"Host {on} not found");
            }
        }
        else if (target is null)
        {
            target = vm.OtherConfig.ContainsKey(PciAssignmentList.Key) ? null : _host.PoolPeers.FirstOrDefault(p => p.Enabled);
            if (target is null)
            {
                return XeError.Api("HOST_DISABLED", _records.HostRef());
            }
        }

        if (target is SimulatedPeerHost peer)
        {
            if (!peer.Enabled)
            {
                return XeError.Api("HOST_DISABLED", $"{peer.Uuid} ({peer.NameLabel})");
            }

            vm.PowerState = VmPowerState.Running;
            vm.ResidentOn = peer.Uuid;
            vm.DomId = 1 + _host.Uuids.NextInt(200);
            vm.StartTime = _now;
            return null;
        }

        if (!_host.Enabled)
        {
            return XeError.Api("HOST_DISABLED", _records.HostRef());
        }

        return BuildDomain(vm);
    }

    // xenopsd VM_create + PCI.plug: what decides whether a VM with other-config:pci starts.
    private XeError? BuildDomain(SimulatedVm vm)
    {
        var devices = XapiPciParsing.DevicesOfOtherConfig(vm.OtherConfig.GetValueOrDefault(PciAssignmentList.Key));
        var needsIommu = vm.GuestType != GuestType.PV;
        if (devices.Count > 0)
        {
            if (!_host.IommuEnabled && _host.Profile.PvPassthroughNeedsIommu)
            {
                return XeError.Internal("xenopsd internal error: Invalid_argument(\"IOMMU unavailable\")");
            }

            if (!_host.PcibackLoaded)
            {
                return XeError.Internal("pciback has not loaded");
            }
        }

        var inUse = _host.Vms.Where(v => v != vm && v.HasDomain && v.ResidentOn == _host.Uuid).SelectMany(v => v.AttachedPcis).ToHashSet();
        foreach (var address in devices)
        {
            var function = _host.FindFunction(address);
            if (function is null)
            {
                return CannotAdd(address, 19, "19: No such device");
            }

            if (inUse.Contains(address))
            {
                return CannotAdd(address, 16, "16: Device or resource busy");
            }

            if (function.BoundDriver != HostKernel.Pciback)
            {
                if (!_host.VmStartBindsToPciback)
                {
                    return CannotAdd(address, 16, "16: Device or resource busy");
                }

                if (function.BoundDriver is { } old)
                {
                    HostKernel.Unbind(_host, old, address.ToString());
                }

                HostKernel.NewSlot(_host, address.ToString());
                if (HostKernel.Bind(_host, _now, HostKernel.Pciback, address.ToString()) != SysfsError.None)
                {
                    return XeError.Internal("xenopsd internal error: Unix.Unix_error(Unix.ENODEV, \"write\", \"\")");
                }
            }

            if (needsIommu && !_host.IommuEnabled)
            {
                return CannotAdd(address, 30, "1: Operation not permitted");
            }
        }

        vm.PowerState = VmPowerState.Running;
        vm.DomId = _host.NextDomId++;
        vm.ResidentOn = _host.Uuid;
        vm.StartTime = _now;
        vm.AttachedPcis.Clear();
        vm.AttachedPcis.AddRange(devices);
        foreach (var address in devices)
        {
            HostKernel.Log(_host, _now, vm.GuestType == GuestType.PV
                ? $"pciback {address}: assigning to virtual slot for domain {vm.DomId}"
                : $"pciback {address}: enabling device (0000 -> 0003)");
        }

        return null;
    }

    private static XeError CannotAdd(PciAddress address, int code, string text) =>
        XeError.Internal(string.Create(CultureInfo.InvariantCulture, $"xenopsd internal error: Device.PCI.Cannot_add({address}, Xenctrlext.Unix_error({code}, \"{text}\"))"));

    private static XeError BadPowerState(SimulatedVm vm, string expected) =>
        XeError.Api("VM_BAD_POWER_STATE", XeRecords.RefOf(vm), expected, vm.PowerState.ToString().ToLowerInvariant());

    private XeError? VmShutdown(XeParams parameters, XePrinter printer)
    {
        var error = SelectVms(parameters, ["progress"], includeControl: false, out var vms);
        if (error is not null)
        {
            return error;
        }

        var force = parameters.Bool("force");
        foreach (var view in vms)
        {
            var vm = view.Vm;
            if (force ? vm.PowerState == VmPowerState.Halted : vm.PowerState != VmPowerState.Running)
            {
                return BadPowerState(vm, force ? "paused, suspended, running" : "running");
            }

            StopDomain(vm);
        }

        return null;
    }

    private void StopDomain(SimulatedVm vm)
    {
        foreach (var address in vm.AttachedPcis)
        {
            HostKernel.Log(_host, _now, $"pciback {address}: resetting (FLR, D3, etc) the device");
        }

        HostKernel.Halt(vm);
    }

    private XeError? VmSnapshot(XeParams parameters, XePrinter printer)
    {
        var error = SelectVms(parameters, ["new-name-label", "new-name-description", "ignore-vdi-uuids"], includeControl: false, out var vms);
        if (error is not null)
        {
            return error;
        }

        var created = new List<string>();
        foreach (var view in vms)
        {
            var vm = view.Vm;
            var snapshot = new SimulatedSnapshot
            {
                Uuid = _host.Uuids.Next(),
                NameLabel = parameters.Get("new-name-label")!,
                SnapshotTime = _now,
                PowerState = VmPowerState.Halted,
                GuestType = vm.GuestType,
                DiskUuid = vm.DiskUuid is null ? null : _host.Uuids.Next(),
            };
            foreach (var (key, value) in vm.OtherConfig)
            {
                snapshot.OtherConfig.Add(key, value);
            }

            vm.Snapshots.Add(snapshot);
            created.Add(snapshot.Uuid.ToString());
        }

        printer.List(created);
        return null;
    }

    private XeError? ResolveSnapshot(XeParams parameters, out SimulatedVm parent, out SimulatedSnapshot snapshot)
    {
        parent = null!;
        snapshot = null!;
        var uuid = parameters.Get("snapshot-uuid") ?? parameters.Get("uuid");
        if (uuid is null)
        {
            return XeError.Failure("Required parameter not found: snapshot-uuid or uuid.");
        }

        foreach (var vm in _host.Vms)
        {
            if (vm.Uuid.ToString() == uuid)
            {
                return XeError.Failure($"This operation can only be performed on a VM snapshot. {uuid} is not a VM snapshot.");
            }

            if (vm.Snapshots.FirstOrDefault(s => s.Uuid.ToString() == uuid) is { } found)
            {
                parent = vm;
                snapshot = found;
                return null;
            }
        }

        return XeError.Api("UUID_INVALID", "VM", uuid);
    }

    private XeError? SnapshotRevert(XeParams parameters, XePrinter printer)
    {
        var error = ResolveSnapshot(parameters, out var vm, out var snapshot);
        if (error is not null)
        {
            return error;
        }

        if (vm.HasDomain || vm.PowerState == VmPowerState.Suspended)
        {
            StopDomain(vm);
        }

        vm.OtherConfig.Clear();
        foreach (var (key, value) in snapshot.OtherConfig)
        {
            vm.OtherConfig.Add(key, value);
        }

        vm.GuestType = snapshot.GuestType;
        vm.PowerState = snapshot.PowerState;
        return null;
    }

    private XeError? SnapshotUninstall(XeParams parameters, XePrinter printer)
    {
        var error = ResolveSnapshot(parameters, out var vm, out var snapshot);
        if (error is not null)
        {
            return error;
        }

        var lines = new List<string> { "The following items are about to be destroyed", $"VM : {snapshot.Uuid} ({snapshot.NameLabel})" };
        if (snapshot.DiskUuid is { } disk)
        {
            lines.Add($"VDI: {disk} ({vm.NameLabel} 0)");
        }

        if (parameters.Bool("force"))
        {
            vm.Snapshots.Remove(snapshot);
            lines.Add("All objects destroyed");
        }
        else
        {
            lines.Add("Type 'yes' to continue");
            var answer = (_stdin ?? string.Empty).Split('\n')[0];
            if (answer.Trim().Equals("yes", StringComparison.OrdinalIgnoreCase))
            {
                vm.Snapshots.Remove(snapshot);
                lines.Add("All objects destroyed");
            }
            else
            {
                lines.Add($"Aborted (you typed: '{answer}')");
            }
        }

        printer.Raw(string.Concat(lines.Select(l => l + "\n")));
        return null;
    }

    // ---------------------------------------------------------------- host operations

    private XeError? SelectHost(XeParams parameters, string[] ignore, bool multiple, out List<object> hosts)
    {
        hosts = [];
        var records = _records.HostRecords().ToList();
        if (parameters.Get("host") is { } nameOrUuid)
        {
            records = [.. records.Where(r => r.Uuid == nameOrUuid || r.Field("name-label")?.Get() == nameOrUuid || r.Field("hostname")?.Get() == nameOrUuid)];
        }

        foreach (var (key, value) in parameters.Pairs.Where(p => p.Key != "host" && !StdParams.Contains(BeforeColon(p.Key)) && !ignore.Contains(BeforeColon(p.Key))))
        {
            var error = Filter(ref records, key, value);
            if (error is not null)
            {
                return error;
            }
        }

        if (records.Count == 0)
        {
            return XeError.Failure("No matching hosts found");
        }

        if (records.Count > 1 && !(multiple && parameters.Bool("multiple")))
        {
            return XeError.Failure(multiple
                ? "Multiple matching hosts found. --multiple required to complete the operation"
                : "Multiple matching hosts found. Operation can only be performed on one host at a time");
        }

        hosts = [.. records.Select(r => r.Source!)];
        return null;
    }

    private XeError? HostDisable(XeParams parameters, XePrinter printer)
    {
        var error = SelectHost(parameters, ["auto-enable"], multiple: true, out var hosts);
        if (error is not null)
        {
            return error;
        }

        foreach (var target in hosts)
        {
            if (target is SimulatedPeerHost peer)
            {
                peer.Enabled = false;
            }
            else
            {
                _host.Enabled = false;
                _host.AutoEnable = parameters.Bool("auto-enable", defaultValue: true);
            }
        }

        return null;
    }

    private XeError? HostEnable(XeParams parameters, XePrinter printer)
    {
        var error = SelectHost(parameters, [], multiple: true, out var hosts);
        if (error is not null)
        {
            return error;
        }

        foreach (var target in hosts)
        {
            if (target is SimulatedPeerHost peer)
            {
                peer.Enabled = true;
            }
            else
            {
                _host.Enabled = true;
                _host.AutoEnable = true;
            }
        }

        return null;
    }

    private XeError? HostEvacuate(XeParams parameters, XePrinter printer)
    {
        var error = SelectHost(parameters, ["network-uuid", "batch-size"], multiple: false, out var hosts);
        if (error is not null || hosts[0] is not SimulatedHost)
        {
            return error;
        }

        var resident = _host.Vms.Where(v => !v.IsControlDomain && v.HasDomain && v.ResidentOn == _host.Uuid).ToList();
        if (resident.FirstOrDefault(v => v.AttachedPcis.Count > 0) is { } pinned)
        {
            return XeError.Api("VM_HAS_PCI_ATTACHED", XeRecords.RefOf(pinned));
        }

        var destination = _host.PoolPeers.FirstOrDefault(p => p.Enabled);
        if (resident.Count > 0 && destination is null)
        {
            return XeError.Api("NO_HOSTS_AVAILABLE");
        }

        foreach (var vm in resident)
        {
            vm.ResidentOn = destination!.Uuid;
            vm.DomId = 1 + _host.Uuids.NextInt(200);
        }

        return null;
    }

    private XeError? HostReboot(XeParams parameters, XePrinter printer)
    {
        var error = SelectHost(parameters, [], multiple: true, out var hosts);
        if (error is not null)
        {
            return error;
        }

        foreach (var target in hosts.OfType<SimulatedHost>())
        {
            if (target.Enabled)
            {
                return XeError.Api("HOST_NOT_DISABLED");
            }

            var running = _host.Vms.FirstOrDefault(v => !v.IsControlDomain && v.PowerState == VmPowerState.Running && v.ResidentOn == _host.Uuid);
            if (running is not null)
            {
                return XeError.Api("HOST_IN_USE", _records.HostRef(), "vm", XeRecords.RefOf(running));
            }

            HostKernel.StartReboot(_host, _now);
        }

        return null;
    }

    // ---------------------------------------------------------------- PCI dom0 access (xapi 24.14+)

    private XeError? ResolvePci(XeParams parameters, out SimulatedPciFunction function)
    {
        var uuid = parameters.Get("uuid")!;
        function = _host.PciFunctions.FirstOrDefault(f => f.XapiUuid?.ToString() == uuid)!;
        return function is null ? XeError.Api("UUID_INVALID", "PCI", uuid) : null;
    }

    private XeError? Dom0AccessStatus(XeParams parameters, XePrinter printer)
    {
        var error = ResolvePci(parameters, out var function);
        if (error is not null)
        {
            return error;
        }

        error = AccessStatus(function, out var status);
        if (error is not null)
        {
            return error;
        }

        printer.Message(status);
        return null;
    }

    // Xapi_pci_helpers.determine_dom0_access_status: /proc/cmdline (substring) against the next boot (strict scan).
    private XeError? AccessStatus(SimulatedPciFunction function, out string status)
    {
        status = string.Empty;
        var id = function.Address.ToString();
        var bootedToken = _host.BootedDom0Cmdline.Split(' ').FirstOrDefault(t => t.StartsWith(Dom0HideList.ParameterName + "=", StringComparison.Ordinal));
        var hiddenNow = bootedToken is not null && bootedToken.Contains(id, StringComparison.Ordinal);
        if (!XapiPciParsing.TryScanHidden(_host.NextBootHideRaw ?? string.Empty, out var hidden, out var failure))
        {
            return XeError.Internal(failure);
        }

        var hiddenNext = hidden.Contains(function.Address);
        status = (hiddenNow, hiddenNext) switch
        {
            (true, true) => "disabled",
            (false, true) => "disable_on_reboot",
            (false, false) => "enabled",
            _ => "enable_on_reboot",
        };
        return null;
    }

    private XeError? Dom0Access(XeParams parameters, XePrinter printer, bool enable)
    {
        var error = ResolvePci(parameters, out var function);
        if (error is not null)
        {
            return error;
        }

        if (!enable && _host.Profile.RefusesBootDevicePassthrough && function.Address == _host.RootController)
        {
            return XeError.Api("BOOT_DEVICE_PASSTHROUGH_DISALLOWED", _host.RootDevice);
        }

        if (!XapiPciParsing.TryScanHidden(_host.NextBootHideRaw ?? string.Empty, out var hidden, out var failure))
        {
            return XeError.Internal(failure);
        }

        var key = Dom0HideList.ParameterName;
        if (!enable && !hidden.Contains(function.Address))
        {
            // Pciops.hide_pci: the new device first, then the scanned list (which xapi holds reversed).
            var value = string.Concat(new[] { function.Address }.Concat(hidden).Select(a => $"({a})"));
            _host.NextBootDom0Cmdline = KernelCommandLine.Set(_host.NextBootDom0Cmdline, key + "=" + value);
        }
        else if (enable && hidden.Contains(function.Address))
        {
            // Pciops.unhide_pci: cut every "(id)" out of the raw value; delete the parameter when nothing is left.
            var remaining = (_host.NextBootHideRaw ?? string.Empty).TrimEnd().Replace($"({function.Address})", string.Empty, StringComparison.Ordinal);
            _host.NextBootDom0Cmdline = remaining.Length == 0
                ? KernelCommandLine.Delete(_host.NextBootDom0Cmdline, key)
                : KernelCommandLine.Set(_host.NextBootDom0Cmdline, key + "=" + remaining);
        }

        error = AccessStatus(function, out var status);
        if (error is not null)
        {
            return error;
        }

        printer.Message(status);
        return null;
    }

    private sealed record XeCommand(string Name, string[] Reqd, string[] Optn, string Help, Func<XeParams, XePrinter, XeError?> Run);

    private sealed record XeClass(string Name, string UuidType, Func<IEnumerable<XeRecord>> All, (string Key, string Value)[] DefaultFilters, string[] DefaultParams, bool Standard);
}

/// <summary>The parsed <c>key=value</c> parameters, in order (the first occurrence of a key wins, as List.assoc).</summary>
internal sealed class XeParams
{
    private readonly List<KeyValuePair<string, string>> _pairs = [];

    public IReadOnlyList<KeyValuePair<string, string>> Pairs => _pairs;

    public void Add(string key, string value) => _pairs.Add(new(key, value));

    public bool Has(string key) => _pairs.Exists(p => p.Key == key);

    public string? Get(string key) => _pairs.Find(p => p.Key == key) is { Key: not null } pair ? pair.Value : null;

    public bool Bool(string key, bool defaultValue = false) =>
        Get(key) is { } value ? value.Equals("true", StringComparison.OrdinalIgnoreCase) : defaultValue;
}

/// <summary>
/// cli_printer.ml: tables print each record then two blank lines; lists print one item a line; in <c>--minimal</c> mode
/// tables print the first field of every record comma-joined (<c>,</c> escaped as <c>\,</c>) and messages nothing.
/// </summary>
internal sealed class XePrinter(bool minimal)
{
    private readonly StringBuilder _out = new();
    private readonly List<string> _minimal = [];

    public void Table(IEnumerable<IReadOnlyList<(string Label, string Value)>> records)
    {
        var list = records.ToList();
        if (minimal)
        {
            if (list.Count > 0 && list[0].Count > 0)
            {
                _minimal.Insert(0, string.Join(',', list.Select(r => Escape(r.Count > 0 ? r[0].Value : string.Empty))));
            }

            return;
        }

        _out.Append(XeRecords.PrintTable(list));
    }

    public void List(IEnumerable<string> items)
    {
        if (minimal)
        {
            _minimal.Insert(0, string.Join(',', items.Select(Escape)));
            return;
        }

        foreach (var item in items)
        {
            _out.Append(item).Append('\n');
        }
    }

    public void Message(string text)
    {
        if (!minimal)
        {
            _out.Append(text).Append('\n');
        }
    }

    /// <summary>Output the command writes itself (not through the printer), shown in every mode.</summary>
    public void Raw(string text) => _out.Append(text);

    public string Flush() => minimal ? _out + string.Join(',', _minimal) + "\n" : _out.ToString();

    private static string Escape(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace(",", "\\,", StringComparison.Ordinal);
}

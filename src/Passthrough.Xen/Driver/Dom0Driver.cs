using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Messaging;
using Passthrough.Contracts.Pci;
using Passthrough.Shell;
using Passthrough.Xen.Parsing;

namespace Passthrough.Xen;

/// <summary>
/// The dom0 driver: every read and change the agents make on a XenServer / XCP-ng host, as the command lines in
/// docs/dom0-commands.md, over one <see cref="ICommandRunner"/>. Every change checks the current state first (so a
/// repeat changes nothing) and returns what it changed so it can be undone exactly.
/// </summary>
public sealed partial class Dom0Driver
{
    /// <summary>The sysfs name of the pciback driver on XenServer dom0 kernels.</summary>
    public const string PcibackDriver = "pciback";

    private const string PciDevices = "/sys/bus/pci/devices";
    private const string PciDrivers = "/sys/bus/pci/drivers";
    private static readonly string[] IdFiles = ["vendor", "device", "subsystem_vendor", "subsystem_device", "class", "revision"];

    private readonly ICommandRunner _runner;
    private readonly Dom0DriverOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private HostFacts? _facts;

    public Dom0Driver(ICommandRunner runner, Dom0DriverOptions? options = null, TimeProvider? time = null, ILogger<Dom0Driver>? logger = null)
    {
        _runner = runner ?? throw new ArgumentNullException(nameof(runner));
        _options = options ?? new Dom0DriverOptions();
        _time = time ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    /// <summary>Where the commands run.</summary>
    public CommandTarget Target => _runner.Target;

    // ------------------------------------------------------------------ identity, versions, IOMMU

    /// <summary>Detects product, versions and APIs (cached after the first call; <paramref name="refresh"/> re-reads).</summary>
    public async Task<HostFacts> DetectAsync(bool refresh = false, CancellationToken cancellationToken = default)
    {
        if (_facts is not null && !refresh)
        {
            return _facts;
        }

        var inventory = ParseInventoryFile((await RunAsync("read /etc/xensource-inventory", "cat", ["/etc/xensource-inventory"], cancellationToken)).StandardOutput);
        if (!inventory.TryGetValue("INSTALLATION_UUID", out var uuidText) || !HostId.TryParse(uuidText, out var host, out var error))
        {
            throw new Dom0Exception(new Failure(FailureCause.CommandFailed,
                $"{Target}: /etc/xensource-inventory has no valid INSTALLATION_UUID; is this a XenServer / XCP-ng dom0?"));
        }

        var softwareText = (await Xe("read software-version", cancellationToken, "host-param-get", $"uuid={host}", "param-name=software-version")).StandardOutput;
        var software = Read("read software-version", () => XeParamValue.ParseMap(softwareText));
        var brand = software.GetValueOrDefault("product_brand") ?? inventory.GetValueOrDefault("PRODUCT_BRAND") ?? "unknown";
        var version = software.GetValueOrDefault("product_version") ?? inventory.GetValueOrDefault("PRODUCT_VERSION") ?? "unknown";
        var xapi = software.GetValueOrDefault("xapi_build") ?? software.GetValueOrDefault("xapi");
        var xenText = software.GetValueOrDefault("xen") ?? string.Empty;
        var hasPci = await HasXeCommandAsync("pci-list", cancellationToken);
        var hasDom0Access = hasPci && await HasXeCommandAsync("pci-disable-dom0-access", cancellationToken);
        var bootId = await ReadBootIdAsync(cancellationToken);
        _facts = new HostFacts(host, brand, version, xapi, xenText, ParseMajorMinor(xenText), hasPci, hasDom0Access, bootId);
        Log.Detected(_logger, Target, brand, version, xenText);
        return _facts;
    }

    /// <summary>The kernel boot id (<c>/proc/sys/kernel/random/boot_id</c>).</summary>
    public async Task<string> ReadBootIdAsync(CancellationToken cancellationToken = default) =>
        (await RunAsync("read the boot id", "cat", ["/proc/sys/kernel/random/boot_id"], cancellationToken)).StandardOutput.Trim();

    /// <summary>Reads the IOMMU state from XAPI, <c>xl info</c> and <c>xl dmesg</c>.</summary>
    public async Task<IommuReport> GetIommuAsync(CancellationToken cancellationToken = default)
    {
        var facts = await DetectAsync(false, cancellationToken);
        // A host that cannot answer chipset-info (exit 1: no such key) leaves that source unknown; a transport failure
        // (timeout, dropped connection) is not an answer and is thrown like every other.
        bool? chipset = null;
        var chipsetResult = await TryXe("read chipset-info:iommu", cancellationToken, "host-param-get", $"uuid={facts.Host}", "param-name=chipset-info", "param-key=iommu");
        if (chipsetResult.Succeeded && bool.TryParse(chipsetResult.StandardOutput.Trim(), out var parsed))
        {
            chipset = parsed;
        }

        var info = await RunAsync("read xl info", "xl", ["info"], cancellationToken);
        var virtCaps = Read("read xl info", () => XlInfo.Parse(info.StandardOutput)).Iommu;
        var dmesg = XlDmesg.ParseIommuState((await RunAsync("read xl dmesg", "xl", ["dmesg"], cancellationToken)).StandardOutput);
        return new IommuReport(chipset, virtCaps, dmesg);
    }

    // ------------------------------------------------------------------ inventory

    /// <summary>Reads the whole host: devices joined from sysfs, lspci and XAPI, dom0 access, owners, boot device and management NIC.</summary>
    public async Task<HostInventory> GetInventoryAsync(CancellationToken cancellationToken = default)
    {
        var facts = await DetectAsync(true, cancellationToken);
        var iommu = await GetIommuAsync(cancellationToken);
        var warnings = new List<string>();
        if (iommu.ConflictDescription is { } conflict)
        {
            warnings.Add(conflict);
        }

        var addresses = await ListFunctionsAsync(cancellationToken);
        var ids = await ReadIdsAsync(addresses, cancellationToken);
        var drivers = await ReadDriversAsync(cancellationToken);
        var names = await ReadLspciAsync(warnings, cancellationToken);
        var xapi = facts.HasPciCommands ? await ReadXapiPcisAsync(facts, cancellationToken) : new Dictionary<PciAddress, XeRecord>();
        var booted = KernelCommandLine.Parse((await RunAsync("read /proc/cmdline", "cat", ["/proc/cmdline"], cancellationToken)).StandardOutput);
        var bootedHide = TryHideList(booted.Contains(Dom0HideList.ParameterName) ? $"{Dom0HideList.ParameterName}={booted.GetValue(Dom0HideList.ParameterName)}" : string.Empty, "booted", warnings);
        var nextText = await ReadNextBootHideListTextAsync(cancellationToken);
        var nextHide = TryHideList(nextText, "next-boot", warnings);
        var vms = await ListVmsAsync(cancellationToken);
        var owners = new Dictionary<PciAddress, VmId>();
        foreach (var vm in vms)
        {
            if (vm.PciKey is not { } key)
            {
                continue;
            }

            if (PciAssignmentList.TryParse(key, out var list, out var keyError))
            {
                foreach (var address in list.Addresses)
                {
                    if (!owners.TryAdd(address, vm.Uuid))
                    {
                        warnings.Add($"{address} is in other-config:pci of both {owners[address]} and {vm.Uuid}");
                    }
                }
            }
            else
            {
                warnings.Add($"VM {vm.Uuid} ({vm.NameLabel}): {keyError}");
            }
        }

        var bootDevice = await FindBootDeviceAsync(warnings, cancellationToken);
        var managementNic = await FindManagementNicAsync(facts, warnings, cancellationToken);

        var devices = new List<HostPciDevice>();
        foreach (var address in addresses)
        {
            if (!ids.TryGetValue(address, out var id))
            {
                warnings.Add($"{address}: sysfs ids unreadable; skipped");
                continue;
            }

            names.TryGetValue(address, out var lspci);
            xapi.TryGetValue(address, out var record);
            drivers.TryGetValue(address, out var driver);
            // xapi's own definition (Xapi_pci_helpers): hidden in /proc/cmdline against hidden on the next boot. A function
            // bound to pciback dynamically is not "disabled" by that definition; its Driver says pciback.
            var computed = ComputeDom0Access(bootedHide?.Contains(address) == true, nextHide?.Contains(address) == true);
            var xapiUuid = record is null ? (XenUuid?)null : Read("list XAPI PCI objects", () => record.GetUuid());
            var access = computed;
            if (xapiUuid is { } pciUuid && facts.HasDom0AccessApi)
            {
                try
                {
                    access = await ReadDom0AccessAsync(pciUuid, cancellationToken);
                }
                catch (Dom0Exception unreadable) when (unreadable.Cause is not (FailureCause.Timeout or FailureCause.HostUnreachable))
                {
                    // xapi fails the status call when it cannot scan the next-boot hide list; the command lines still tell.
                    warnings.Add($"{address}: xe pci-get-dom0-access-status failed ({unreadable.Failure.OriginalText?.Trim() ?? unreadable.Message}); dom0 access computed from the kernel command lines");
                }
            }

            var siblings = addresses.Where(a => a.IsSiblingOf(address)).ToList();
            devices.Add(new HostPciDevice(
                address,
                id.Id,
                id.Class,
                // lspci prints vendor and device as one text that cannot be split reliably: it goes in DeviceName only.
                record?.FindField("vendor-name")?.Value,
                record?.FindField("device-name")?.Value ?? lspci?.VendorDeviceName,
                driver,
                access,
                owners.TryGetValue(address, out var owner) ? owner : null,
                xapiUuid,
                siblings,
                address == bootDevice,
                address == managementNic));
        }

        return new HostInventory(facts, iommu, devices, vms, bootDevice, managementNic,
            bootedHide?.ToString(), nextHide?.ToString(), warnings);
    }

    /// <summary>The functions in <c>/sys/bus/pci/devices</c>.</summary>
    public async Task<IReadOnlyList<PciAddress>> ListFunctionsAsync(CancellationToken cancellationToken = default)
    {
        var output = (await RunAsync("list PCI functions", "ls", ["-1", PciDevices], cancellationToken)).StandardOutput;
        var list = new List<PciAddress>();
        foreach (var line in OutputText.Lines(output))
        {
            if (line.Length > 0 && PciAddress.TryParse(line, out var address, out _))
            {
                list.Add(address);
            }
        }

        list.Sort();
        return list;
    }

    /// <summary>The driver bound to <paramref name="address"/> now, or null.</summary>
    public async Task<string?> GetDriverAsync(PciAddress address, CancellationToken cancellationToken = default)
    {
        var result = await TryRunAsync("read the bound driver", "readlink", [$"{PciDevices}/{address}/driver"], cancellationToken);
        return result.Succeeded && result.StandardOutput.Trim().Length > 0
            ? Read("read the bound driver", () => SysfsPci.DriverFromLink(result.StandardOutput.Trim()))
            : null;
    }

    // ------------------------------------------------------------------ VMs

    /// <summary>All guest VMs (no dom0, snapshots or templates).</summary>
    public Task<IReadOnlyList<VmInfo>> ListVmsAsync(CancellationToken cancellationToken = default) => QueryVmsAsync(null, cancellationToken);

    /// <summary>One VM by uuid, or null when it does not exist.</summary>
    public async Task<VmInfo?> GetVmAsync(VmId vm, CancellationToken cancellationToken = default) =>
        (await QueryVmsAsync($"uuid={vm}", cancellationToken)).SingleOrDefault();

    /// <summary>Finds a VM by uuid or by name-label; a name that several VMs share is refused with their uuids.</summary>
    /// <exception cref="Dom0Exception">No such VM, or the name is ambiguous.</exception>
    public async Task<VmInfo> FindVmAsync(string uuidOrName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(uuidOrName);
        if (VmId.TryParse(uuidOrName, out var id, out _))
        {
            return await GetVmAsync(id, cancellationToken)
                ?? throw new Dom0Exception(new Failure(FailureCause.VmNotFound, $"No VM with uuid {id} on {Target}."));
        }

        ShellQuoting.EnsureTransportable(uuidOrName, "VM name");
        var matches = await QueryVmsAsync($"name-label={uuidOrName}", cancellationToken);
        return matches.Count switch
        {
            1 => matches[0],
            0 => throw new Dom0Exception(new Failure(FailureCause.VmNotFound, $"No VM named {Contracts.InputText.Quote(uuidOrName)} on {Target}.")),
            _ => throw new Dom0Exception(new Failure(FailureCause.InvalidInput,
                $"{matches.Count} VMs are named {Contracts.InputText.Quote(uuidOrName)}: {string.Join(", ", matches.Select(m => m.Uuid))}; give the uuid.")),
        };
    }

    /// <summary>The functions a running domain has, from <c>xl pci-list &lt;domid&gt;</c>.</summary>
    public async Task<IReadOnlyList<PciAddress>> GetDomainPciAsync(int domId, CancellationToken cancellationToken = default)
    {
        var output = (await RunAsync("list the domain's PCI devices", "xl", ["pci-list", domId.ToString(CultureInfo.InvariantCulture)], cancellationToken)).StandardOutput;
        var list = new List<PciAddress>();
        foreach (var line in OutputText.Lines(output))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length >= 2 && PciAddress.TryParse(parts[1], out var address, out _))
            {
                list.Add(address);
            }
        }

        return list;
    }

    // ------------------------------------------------------------------ dom0 detach: sysfs binding

    /// <summary>
    /// Binds <paramref name="address"/> to pciback now (unbind from its driver, <c>new_slot</c>, <c>bind</c>), recording the
    /// original driver. Already on pciback: nothing changes. A failed bind is undone before the exception is thrown.
    /// </summary>
    /// <exception cref="Dom0Exception">
    /// <see cref="FailureCause.PcibackNotLoaded"/> (nothing touched); <see cref="FailureCause.FlrTimeout"/> or
    /// <see cref="FailureCause.DeviceBindFailed"/> with the tee text and the kernel's lines about the function in
    /// <see cref="Failure.OriginalText"/>; the message says whether the original driver could take the function back.
    /// </exception>
    public async Task<DriverBinding> BindToPcibackAsync(PciAddress address, CancellationToken cancellationToken = default)
    {
        await EnsureFunctionExistsAsync(address, cancellationToken);
        var original = await GetDriverAsync(address, cancellationToken);
        if (original == PcibackDriver)
        {
            return new DriverBinding(address, null, false);
        }

        await EnsurePcibackLoadedAsync(cancellationToken);

        // Where the kernel log ends now (its last line; lines carry timestamps): a failed bind is explained by the lines it
        // adds (an FLR timeout, a probe error), not by older lines about the same function.
        var kernelMark = await TryReadKernelLogAsync(cancellationToken) is { Count: > 0 } logBefore ? logBefore[^1] : null;
        if (original is not null)
        {
            await WriteSysfsAsync($"unbind {address} from {original}", $"{PciDevices}/{address}/driver/unbind", address.ToString(), cancellationToken);
        }

        try
        {
            await WriteSysfsAsync($"add {address} to pciback's slots", $"{PciDrivers}/{PcibackDriver}/new_slot", address.ToString(), cancellationToken);
            await WriteSysfsAsync($"bind {address} to pciback", $"{PciDrivers}/{PcibackDriver}/bind", address.ToString(), cancellationToken);
            var now = await GetDriverAsync(address, cancellationToken);
            if (now != PcibackDriver)
            {
                throw new Dom0Exception(new Failure(FailureCause.DeviceBindFailed, $"{address} is bound to {now ?? "no driver"} after binding to pciback on {Target}."));
            }
        }
        catch (Dom0Exception bindFailure)
        {
            Log.BindFailed(_logger, address, Target, bindFailure.Message);
            throw await UndoFailedBindAsync(address, original, kernelMark, bindFailure);
        }

        Log.Bound(_logger, address, original ?? "(none)", Target);
        return new DriverBinding(address, original, true);
    }

    // Puts the function back on its original driver, then builds the exception to throw: the kernel's reason (FLR timeout,
    // probe error) read from dmesg beside the tee text, and, when even the restore failed, what state the function is in.
    private async Task<Dom0Exception> UndoFailedBindAsync(PciAddress address, string? original, string? kernelMark, Dom0Exception bindFailure)
    {
        var log = await TryReadKernelLogAsync(CancellationToken.None) ?? [];
        var id = address.ToString();
        var markAt = kernelMark is null ? -1 : log.ToList().LastIndexOf(kernelMark);
        var added = log.Skip(markAt + 1); // mark gone (ring buffer wrapped, log cleared): every line is new
        var relevant = added.Where(l => l.Contains(id, StringComparison.OrdinalIgnoreCase)).TakeLast(5).ToList();
        var kernel = relevant.Count == 0 ? null : string.Join('\n', relevant);
        string? restoreProblem = null;
        try
        {
            await RestoreDriverAsync(new DriverBinding(address, original, true), CancellationToken.None);
        }
        catch (Dom0Exception restore)
        {
            var left = await TryGetDriverQuietlyAsync(address);
            restoreProblem = $"giving it back to {original ?? "no driver"} failed too ({restore.Failure.OriginalText?.Trim() ?? restore.Message}); it is left on {left ?? "no driver"}";
        }

        var text = string.Join('\n', new[] { bindFailure.Failure.OriginalText?.Trim(), kernel }.Where(t => !string.IsNullOrEmpty(t)));
        var classified = ToolstackError.Classify(text);
        var cause = bindFailure.Cause switch
        {
            // A transport failure keeps its cause: the bind may not have run at all.
            FailureCause.Timeout or FailureCause.HostUnreachable or FailureCause.HostKeyMismatch or FailureCause.AuthenticationFailed => bindFailure.Cause,
            _ when classified.Cause == ToolstackErrorCause.FlrTimeout => FailureCause.FlrTimeout,
            _ => FailureCause.DeviceBindFailed,
        };
        var hint = cause switch
        {
            FailureCause.FlrTimeout => ToolstackError.HintFor(ToolstackErrorCause.FlrTimeout),
            FailureCause.DeviceBindFailed => "pciback could not claim the function; read `dmesg | grep " + address + "` on the host. A host reboot with the function in xen-pciback.hide binds it at boot instead.",
            _ => bindFailure.Failure.FixHint,
        };
        var message = restoreProblem is null
            ? $"Binding {address} to pciback on {Target} failed and was undone ({original ?? "no driver"} as before): {bindFailure.Failure.Message}"
            : $"Binding {address} to pciback on {Target} failed and {restoreProblem}: {bindFailure.Failure.Message}";
        return new Dom0Exception(new Failure(cause, message, text.Length == 0 ? null : text, hint), bindFailure);
    }

    // The dom0 kernel log, or null when it cannot be read: it only ever explains a failure, so it never causes one.
    private async Task<IReadOnlyList<string>?> TryReadKernelLogAsync(CancellationToken cancellationToken)
    {
        try
        {
            var run = await _runner.RunAsync(new CommandRequest("dmesg") { Timeout = _options.CommandTimeout }, cancellationToken);
            return run.Succeeded ? OutputText.Lines(run.StandardOutput) : null;
        }
        catch (CommandException)
        {
            return null;
        }
    }

    private async Task<string?> TryGetDriverQuietlyAsync(PciAddress address)
    {
        try
        {
            return await GetDriverAsync(address, CancellationToken.None);
        }
        catch (Dom0Exception)
        {
            return "an unknown driver";
        }
    }

    /// <summary>
    /// Undoes <see cref="BindToPcibackAsync"/>: releases the function from pciback and binds the recorded original driver
    /// (nothing when it had none). Idempotent: a function already on its original driver is left alone.
    /// </summary>
    public async Task RestoreDriverAsync(DriverBinding binding, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(binding);
        if (!binding.BoundToPciback)
        {
            return;
        }

        var current = await GetDriverAsync(binding.Address, cancellationToken);
        if (current == binding.OriginalDriver)
        {
            await RemovePcibackSlotAsync(binding.Address, cancellationToken);
            return;
        }

        if (current is not null)
        {
            await WriteSysfsAsync($"unbind {binding.Address} from {current}", $"{PciDevices}/{binding.Address}/driver/unbind", binding.Address.ToString(), cancellationToken);
        }

        await RemovePcibackSlotAsync(binding.Address, cancellationToken);
        if (binding.OriginalDriver is { } driver)
        {
            EnsureDriverName(driver);
            await WriteSysfsAsync($"bind {binding.Address} to {driver}", $"{PciDrivers}/{driver}/bind", binding.Address.ToString(), cancellationToken);
        }
    }

    /// <summary>Gives a function back to dom0 without a record: release it from pciback and let the kernel probe its driver.</summary>
    public async Task<DriverBinding> ReattachToDom0Async(PciAddress address, string? knownOriginalDriver, CancellationToken cancellationToken = default)
    {
        var current = await GetDriverAsync(address, cancellationToken);
        if (current is not null && current != PcibackDriver)
        {
            return new DriverBinding(address, current, false);
        }

        if (current == PcibackDriver)
        {
            await WriteSysfsAsync($"unbind {address} from pciback", $"{PciDrivers}/{PcibackDriver}/unbind", address.ToString(), cancellationToken);
        }

        await RemovePcibackSlotAsync(address, cancellationToken);
        if (knownOriginalDriver is { } driver)
        {
            EnsureDriverName(driver);
            await WriteSysfsAsync($"bind {address} to {driver}", $"{PciDrivers}/{driver}/bind", address.ToString(), cancellationToken);
        }
        else
        {
            await WriteSysfsAsync($"probe a driver for {address}", "/sys/bus/pci/drivers_probe", address.ToString(), cancellationToken);
        }

        return new DriverBinding(address, await GetDriverAsync(address, cancellationToken), true);
    }

    // ------------------------------------------------------------------ dom0 detach: persisted hide list

    /// <summary>The next-boot hide list exactly as <c>xen-cmdline --get-dom0</c> prints it, without the final line break.</summary>
    public async Task<string> ReadNextBootHideListTextAsync(CancellationToken cancellationToken = default)
    {
        var output = (await RunAsync("read the dom0 hide list", _options.XenCmdlinePath, ["--get-dom0", Dom0HideList.ParameterName], cancellationToken)).StandardOutput;
        return OutputText.StripFinalNewline(output);
    }

    /// <summary>
    /// Merges <paramref name="addresses"/> into the next-boot hide list, written in full form. A list that is already
    /// malformed on the host is refused (it would break the next boot whatever we add); short forms are normalised.
    /// </summary>
    public async Task<HideListChange> PersistHideAsync(IEnumerable<PciAddress> addresses, CancellationToken cancellationToken = default)
    {
        var previous = await ReadNextBootHideListTextAsync(cancellationToken);
        if (!Dom0HideList.TryParse(previous, out var parsed, out var error))
        {
            throw new Dom0Exception(new Failure(FailureCause.MalformedHideList, $"The hide list on {Target} is malformed; not touching it: {error}", previous,
                ToolstackError.HintFor(ToolstackErrorCause.MalformedHideList)));
        }

        var merged = parsed.List.Add(addresses);
        var text = merged.ToString();
        if (text == previous)
        {
            return new HideListChange(previous, previous, false);
        }

        await RunCheckedAsync("write the dom0 hide list", _options.XenCmdlinePath, ["--set-dom0", text], cancellationToken);
        return new HideListChange(previous, text, true);
    }

    /// <summary>Removes <paramref name="addresses"/> from the next-boot hide list (deleting the parameter when it empties).</summary>
    public async Task<HideListChange> RemoveHideAsync(IEnumerable<PciAddress> addresses, CancellationToken cancellationToken = default)
    {
        var previous = await ReadNextBootHideListTextAsync(cancellationToken);
        if (!Dom0HideList.TryParse(previous, out var parsed, out var error))
        {
            throw new Dom0Exception(new Failure(FailureCause.MalformedHideList, $"The hide list on {Target} is malformed; not touching it: {error}", previous,
                ToolstackError.HintFor(ToolstackErrorCause.MalformedHideList)));
        }

        var reduced = parsed.List.Remove(addresses);
        if (reduced.Equals(parsed.List) && !parsed.NeedsNormalisation)
        {
            return new HideListChange(previous, previous, false);
        }

        await WriteHideListTextAsync(reduced.ToString(), cancellationToken);
        return new HideListChange(previous, reduced.ToString(), true);
    }

    /// <summary>Puts the hide list back to <see cref="HideListChange.PreviousText"/>, byte for byte (deleting it when that was empty).</summary>
    public async Task RestoreHideListAsync(HideListChange change, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(change);
        if (!change.Changed)
        {
            return;
        }

        var current = await ReadNextBootHideListTextAsync(cancellationToken);
        if (current == change.PreviousText)
        {
            return;
        }

        await WriteHideListTextAsync(change.PreviousText, cancellationToken);
    }

    private async Task WriteHideListTextAsync(string text, CancellationToken cancellationToken)
    {
        if (text.Length == 0)
        {
            await RunCheckedAsync("delete the dom0 hide list", _options.XenCmdlinePath, ["--delete-dom0", Dom0HideList.ParameterName], cancellationToken);
        }
        else
        {
            await RunCheckedAsync("write the dom0 hide list", _options.XenCmdlinePath, ["--set-dom0", text], cancellationToken);
        }
    }

    // ------------------------------------------------------------------ dom0-access API (xapi ≥ 24.14)

    /// <summary>The dom0-access state of a XAPI PCI object.</summary>
    public async Task<Dom0Access> ReadDom0AccessAsync(XenUuid pci, CancellationToken cancellationToken = default)
    {
        var text = (await Xe("read dom0 access", cancellationToken, "pci-get-dom0-access-status", $"uuid={pci}")).StandardOutput;
        return Read("read dom0 access", () => ParseDom0Access(text));
    }

    /// <summary>Disables dom0 access (takes effect at reboot). Returns the state before, so the change can be undone.</summary>
    public async Task<Dom0Access> DisableDom0AccessAsync(XenUuid pci, CancellationToken cancellationToken = default)
    {
        var before = await ReadDom0AccessAsync(pci, cancellationToken);
        if (before is Dom0Access.Enabled or Dom0Access.EnableOnReboot)
        {
            await Xe("disable dom0 access", cancellationToken, "pci-disable-dom0-access", $"uuid={pci}");
        }

        return before;
    }

    /// <summary>Re-enables dom0 access when <paramref name="before"/> says it was enabled.</summary>
    public async Task RestoreDom0AccessAsync(XenUuid pci, Dom0Access before, CancellationToken cancellationToken = default)
    {
        var now = await ReadDom0AccessAsync(pci, cancellationToken);
        if (now == before)
        {
            return;
        }

        if (before is Dom0Access.Enabled or Dom0Access.EnableOnReboot)
        {
            await Xe("enable dom0 access", cancellationToken, "pci-enable-dom0-access", $"uuid={pci}");
        }
        else
        {
            await Xe("disable dom0 access", cancellationToken, "pci-disable-dom0-access", $"uuid={pci}");
        }
    }

    // ------------------------------------------------------------------ other-config:pci

    /// <summary>The VM's <c>other-config:pci</c> value, or null when the key is absent.</summary>
    public async Task<string?> ReadPciKeyAsync(VmId vm, CancellationToken cancellationToken = default)
    {
        var text = (await Xe("read other-config", cancellationToken, "vm-param-get", $"uuid={vm}", "param-name=other-config")).StandardOutput;
        var map = Read("read other-config", () => XeParamValue.ParseMap(text));
        return map.TryGetValue(PciAssignmentList.Key, out var value) ? value ?? string.Empty : null;
    }

    /// <summary>Merges devices into <c>other-config:pci</c> (existing entries kept). A malformed existing value is refused, not overwritten.</summary>
    public async Task<PciKeyChange> MergePciKeyAsync(VmId vm, IEnumerable<PciAddress> devices, CancellationToken cancellationToken = default)
    {
        var previous = await ReadPciKeyAsync(vm, cancellationToken);
        var current = ParseKeyOrThrow(vm, previous);
        var merged = current.Merge(devices).ToString();
        if (merged == previous)
        {
            return new PciKeyChange(vm, previous, previous);
        }

        await Xe("set other-config:pci", cancellationToken, "vm-param-set", $"uuid={vm}", $"other-config:pci={merged}");
        return new PciKeyChange(vm, previous, merged);
    }

    /// <summary>Removes devices from <c>other-config:pci</c>; removes the key when no entry is left.</summary>
    public async Task<PciKeyChange> RemoveFromPciKeyAsync(VmId vm, IEnumerable<PciAddress> devices, CancellationToken cancellationToken = default)
    {
        var previous = await ReadPciKeyAsync(vm, cancellationToken);
        if (previous is null)
        {
            return new PciKeyChange(vm, null, null);
        }

        var current = ParseKeyOrThrow(vm, previous);
        var reduced = current.Remove(devices);
        if (reduced.Equals(current))
        {
            // Nothing to remove: leave the value exactly as written (even a non-canonical "00/…" plug order).
            return new PciKeyChange(vm, previous, previous);
        }

        var value = reduced.IsEmpty ? null : reduced.ToString();
        await SetPciKeyAsync(vm, previous, value, cancellationToken);
        return new PciKeyChange(vm, previous, value);
    }

    /// <summary>Sets <c>other-config:pci</c> back to exactly <paramref name="value"/> (null: remove the key).</summary>
    public async Task<PciKeyChange> RestorePciKeyAsync(VmId vm, string? value, CancellationToken cancellationToken = default)
    {
        var previous = await ReadPciKeyAsync(vm, cancellationToken);
        await SetPciKeyAsync(vm, previous, value, cancellationToken);
        return new PciKeyChange(vm, previous, value);
    }

    private async Task SetPciKeyAsync(VmId vm, string? previous, string? value, CancellationToken cancellationToken)
    {
        if (previous == value)
        {
            return;
        }

        if (value is null)
        {
            await Xe("remove other-config:pci", cancellationToken, "vm-param-remove", $"uuid={vm}", "param-name=other-config", "param-key=pci");
        }
        else
        {
            ShellQuoting.EnsureTransportable(value, "other-config:pci value");
            await Xe("set other-config:pci", cancellationToken, "vm-param-set", $"uuid={vm}", $"other-config:pci={value}");
        }
    }

    private PciAssignmentList ParseKeyOrThrow(VmId vm, string? value)
    {
        if (value is null)
        {
            return PciAssignmentList.Empty;
        }

        return PciAssignmentList.TryParse(value, out var list, out var error)
            ? list
            : throw new Dom0Exception(new Failure(FailureCause.InvalidInput, $"VM {vm} on {Target}: its other-config:pci is malformed and is left as it is: {error}", value));
    }

    // ------------------------------------------------------------------ VM power and snapshots

    /// <summary>Shuts the VM down cleanly; after <paramref name="cleanDeadline"/> forces it when <paramref name="allowForce"/>.</summary>
    public async Task<ShutdownResult> ShutdownVmAsync(VmId vm, TimeSpan cleanDeadline, bool allowForce, CancellationToken cancellationToken = default)
    {
        var info = await RequireVmAsync(vm, cancellationToken);
        if (info.PowerState == VmPowerState.Halted)
        {
            return new ShutdownResult(false, false);
        }

        try
        {
            await XeWithTimeout("shut the VM down", cleanDeadline, cancellationToken, "vm-shutdown", $"uuid={vm}");
            return new ShutdownResult(true, false);
        }
        catch (Dom0Exception timeout) when (timeout.Cause == FailureCause.Timeout)
        {
            // A clean shutdown may finish just after our deadline: look before forcing.
            if ((await RequireVmAsync(vm, cancellationToken)).PowerState == VmPowerState.Halted)
            {
                return new ShutdownResult(true, false);
            }

            if (!allowForce)
            {
                throw new Dom0Exception(new Failure(FailureCause.Timeout,
                    $"VM {vm} did not shut down cleanly within {cleanDeadline.TotalSeconds:0} s and forcing is not allowed.", null,
                    "Check the guest responds to ACPI / PV shutdown, or allow a forced shutdown."), timeout);
            }

            Log.ForcingShutdown(_logger, vm, cleanDeadline.TotalSeconds);
            await XeWithTimeout("force the VM off", _options.ForcedShutdownTimeout, cancellationToken, "vm-shutdown", $"uuid={vm}", "--force");
            return new ShutdownResult(true, true);
        }
    }

    /// <summary>Starts the VM on this host (cold start, so <c>other-config:pci</c> is read).</summary>
    public async Task<StartResult> StartVmAsync(VmId vm, CancellationToken cancellationToken = default)
    {
        var facts = await DetectAsync(false, cancellationToken);
        var info = await RequireVmAsync(vm, cancellationToken);
        if (info.PowerState == VmPowerState.Running)
        {
            return new StartResult(false, info.DomId);
        }

        await XeWithTimeout("start the VM", _options.VmStartTimeout, cancellationToken, "vm-start", $"uuid={vm}", $"on={facts.Host}");
        var after = await RequireVmAsync(vm, cancellationToken);
        return new StartResult(true, after.DomId);
    }

    /// <summary>Takes a snapshot and returns its uuid.</summary>
    public async Task<XenUuid> SnapshotVmAsync(VmId vm, string name, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ShellQuoting.EnsureTransportable(name, "snapshot name");
        var output = (await XeWithTimeout("snapshot the VM", _options.SnapshotTimeout, cancellationToken, "vm-snapshot", $"uuid={vm}", $"new-name-label={name}")).StandardOutput.Trim();
        return XenUuid.TryParse(output, out var uuid, out var error)
            ? uuid
            : throw new Dom0Exception(new Failure(FailureCause.CommandFailed, $"xe vm-snapshot on {Target} printed no snapshot uuid: {error}", output));
    }

    /// <summary>
    /// The snapshots of <paramref name="vm"/> named exactly <paramref name="name"/>, in xapi's order: lets a repeated
    /// snapshot request (same name) find the snapshot it already took instead of taking a second one.
    /// </summary>
    public async Task<IReadOnlyList<XenUuid>> FindSnapshotsAsync(VmId vm, string name, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ShellQuoting.EnsureTransportable(name, "snapshot name");
        var output = (await Xe("find the VM's snapshots", cancellationToken, "snapshot-list", $"snapshot-of={vm}", $"name-label={name}", "params=uuid", "--minimal")).StandardOutput;
        return Read("find the VM's snapshots", () => XeMinimal.ParseUuids(output));
    }

    /// <summary>Every snapshot of <paramref name="vm"/> with its name, in xapi's order.</summary>
    public async Task<IReadOnlyList<SnapshotInfo>> ListSnapshotsAsync(VmId vm, CancellationToken cancellationToken = default)
    {
        var output = (await Xe("list the VM's snapshots", cancellationToken, "snapshot-list", $"snapshot-of={vm}", "params=uuid,name-label")).StandardOutput;
        return Read("list the VM's snapshots", () => XeRecordParser.ParseRecords(output)
            .Select(r => new SnapshotInfo(XenUuid.Parse(r.Get("uuid")!), r.FindField("name-label")?.Value ?? string.Empty))
            .ToList());
    }

    /// <summary>Reverts the VM to a snapshot (the VM is left halted, other-config as it was at the snapshot).</summary>
    public async Task RevertSnapshotAsync(XenUuid snapshot, CancellationToken cancellationToken = default) =>
        await XeWithTimeout("revert to the snapshot", _options.SnapshotTimeout, cancellationToken, "snapshot-revert", $"snapshot-uuid={snapshot}");

    /// <summary>Destroys a snapshot and its disks; a snapshot already gone is not an error.</summary>
    public async Task DestroySnapshotAsync(XenUuid snapshot, CancellationToken cancellationToken = default)
    {
        var result = await TransportAsync("destroy the snapshot",
            new CommandRequest("xe", "snapshot-uninstall", $"snapshot-uuid={snapshot}", "force=true") { Timeout = _options.SnapshotTimeout }, cancellationToken);
        if (!result.Succeeded && !result.StandardError.Contains("uuid you supplied was invalid", StringComparison.OrdinalIgnoreCase))
        {
            throw Dom0Exception.FromCommand("destroy the snapshot", new CommandFailedException(result));
        }
    }

    // ------------------------------------------------------------------ host

    /// <summary>Disables the host (no new VMs start on it).</summary>
    public async Task DisableHostAsync(CancellationToken cancellationToken = default) =>
        await Xe("disable the host", cancellationToken, "host-disable", $"uuid={(await DetectAsync(false, cancellationToken)).Host}");

    /// <summary>Enables the host again.</summary>
    public async Task EnableHostAsync(CancellationToken cancellationToken = default) =>
        await Xe("enable the host", cancellationToken, "host-enable", $"uuid={(await DetectAsync(false, cancellationToken)).Host}");

    /// <summary>
    /// Reboots the host the way xapi requires: disable, evacuate, reboot, wait until it answers with a new boot id and
    /// xapi has finished starting, enable. VMs with passed-through devices cannot migrate: shut them down first.
    /// </summary>
    /// <exception cref="Dom0Exception">
    /// Evacuation or the reboot refused (<c>VM_HAS_PCI_ATTACHED</c>, <c>HOST_IN_USE</c>…): the host is enabled again first.
    /// <see cref="FailureCause.HostDidNotReturn"/> when no new boot id with a ready xapi appears within
    /// <paramref name="liveDeadline"/> (counted from <c>host-reboot</c>); a host still answering with its old boot id is
    /// enabled again.
    /// </exception>
    public async Task<RebootResult> RebootHostAsync(TimeSpan liveDeadline, CancellationToken cancellationToken = default)
    {
        var facts = await DetectAsync(true, cancellationToken);
        var previousBoot = facts.BootId;
        await Xe("disable the host", cancellationToken, "host-disable", $"uuid={facts.Host}");
        try
        {
            await XeWithTimeout("evacuate the host", _options.EvacuateTimeout, cancellationToken, "host-evacuate", $"uuid={facts.Host}");
        }
        catch (Dom0Exception)
        {
            await TryEnableHostAsync(facts.Host);
            throw;
        }

        var started = _time.GetTimestamp();
        try
        {
            await Xe("reboot the host", cancellationToken, "host-reboot", $"uuid={facts.Host}");
        }
        catch (Dom0Exception lost) when (lost.Cause is FailureCause.HostUnreachable or FailureCause.Timeout)
        {
            // The connection may drop (or the answer never come) while the host goes down, which is what we asked:
            // the boot id tells below whether it really rebooted.
        }
        catch (Dom0Exception)
        {
            // xapi refused (HOST_IN_USE, HOST_NOT_DISABLED…): the host is still up, so undo our host-disable.
            await TryEnableHostAsync(facts.Host);
            throw;
        }

        var deadline = started + (long)(liveDeadline.TotalSeconds * _time.TimestampFrequency);
        string? lastAnswer = null;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_time.GetTimestamp() > deadline)
            {
                // A host that still answers with its old boot id never went down: give it back its VMs.
                var sameBoot = lastAnswer is not null && lastAnswer == previousBoot;
                if (sameBoot)
                {
                    await TryEnableHostAsync(facts.Host);
                }

                throw new Dom0Exception(new Failure(FailureCause.HostDidNotReturn,
                    sameBoot
                        ? $"{Target} did not reboot within {liveDeadline.TotalMinutes:0.#} min (its boot id is unchanged); it was enabled again."
                        : $"{Target} did not come back from its reboot within {liveDeadline.TotalMinutes:0.#} min.",
                    lastAnswer,
                    "Check the host's console: a malformed xen-pciback.hide or a hung device can stop it booting; a toolstack that stays 'still initialising' points at the hide list too."));
            }

            await Task.Delay(_options.RebootPollInterval, _time, cancellationToken);
            var boot = await TryRunQuietAsync("cat", ["/proc/sys/kernel/random/boot_id"], cancellationToken);
            if (boot is null)
            {
                lastAnswer = null;
                continue;
            }

            var bootId = boot.StandardOutput.Trim();
            lastAnswer = boot.Succeeded ? bootId : (boot.StandardError + boot.StandardOutput).Trim();
            if (!boot.Succeeded || bootId.Length == 0 || bootId == previousBoot)
            {
                continue;
            }

            var enabled = await TryRunQuietAsync("xe", ["host-param-get", $"uuid={facts.Host}", "param-name=enabled"], cancellationToken);
            if (enabled is not { Succeeded: true })
            {
                // dom0 is up but xapi is not ready yet ("still initialising", "Connection refused").
                lastAnswer = enabled is null ? lastAnswer : (enabled.StandardError + enabled.StandardOutput).Trim();
                continue;
            }

            await Xe("enable the host", cancellationToken, "host-enable", $"uuid={facts.Host}");
            _facts = facts with { BootId = bootId };
            return new RebootResult(previousBoot, bootId, _time.GetElapsedTime(started));
        }
    }

    private async Task TryEnableHostAsync(HostId host)
    {
        // Best effort on a failure path: the original failure is what the caller must see.
        try
        {
            await _runner.RunAsync(new CommandRequest("xe", "host-enable", $"uuid={host}") { Timeout = _options.CommandTimeout }, CancellationToken.None);
        }
        catch (CommandException)
        {
        }
    }

    // ------------------------------------------------------------------ helpers

    private async Task<IReadOnlyList<VmInfo>> QueryVmsAsync(string? filter, CancellationToken cancellationToken)
    {
        var args = new List<string> { "vm-list", "is-control-domain=false", "is-a-snapshot=false", "is-a-template=false" };
        if (filter is not null)
        {
            args.Add(filter);
        }

        args.Add("params=uuid,name-label,power-state,resident-on,domain-type,HVM-boot-policy,dom-id,other-config");
        var output = (await Xe("list VMs", cancellationToken, [.. args])).StandardOutput;
        return Read("list VMs", () => XeRecordParser.ParseRecords(output).Select(ToVmInfo).ToList());
    }

    private static VmInfo ToVmInfo(XeRecord record)
    {
        var power = record.Get("power-state") switch
        {
            "running" => VmPowerState.Running,
            "paused" => VmPowerState.Paused,
            "suspended" => VmPowerState.Suspended,
            _ => VmPowerState.Halted,
        };
        var type = record.FindField("domain-type")?.Value switch
        {
            "hvm" => GuestType.HVM,
            "pv" => GuestType.PV,
            "pvh" => GuestType.PVH,
            "pv_in_pvh" => GuestType.PVInPVH,
            // Before 7.5 there is no domain-type: an empty HVM-boot-policy means PV.
            _ => record.FindField("HVM-boot-policy") is { } policy ? (string.IsNullOrEmpty(policy.Value) ? GuestType.PV : GuestType.HVM) : GuestType.Unknown,
        };
        var resident = record.FindField("resident-on")?.Value is { } r && XenUuid.TryParse(r, out var host, out _) ? host : (XenUuid?)null;
        var domId = record.FindField("dom-id")?.Value is { } d && int.TryParse(d, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var id) && id >= 0 ? id : (int?)null;
        var otherConfig = record.Contains("other-config") ? record.GetMap("other-config") : new Dictionary<string, string?>();
        return new VmInfo(VmId.Parse(record.Get("uuid")!), record.FindField("name-label")?.Value ?? string.Empty, power, type, resident, power == VmPowerState.Halted ? null : domId, otherConfig);
    }

    private async Task<VmInfo> RequireVmAsync(VmId vm, CancellationToken cancellationToken) =>
        await GetVmAsync(vm, cancellationToken) ?? throw new Dom0Exception(new Failure(FailureCause.VmNotFound, $"No VM with uuid {vm} on {Target}."));

    private async Task<Dictionary<PciAddress, (PciDeviceId Id, PciClass Class)>> ReadIdsAsync(IReadOnlyList<PciAddress> addresses, CancellationToken cancellationToken)
    {
        var result = new Dictionary<PciAddress, (PciDeviceId, PciClass)>();
        if (addresses.Count == 0)
        {
            return result;
        }

        var files = addresses.SelectMany(a => IdFiles.Select(f => $"{PciDevices}/{a}/{f}")).ToList();
        var run = await RunAsync("read sysfs ids", "grep", ["-H", string.Empty, .. files], cancellationToken, allowExitCodes: [0, 2]);
        var values = new Dictionary<(PciAddress, string), string>();
        foreach (var line in OutputText.Lines(run.StandardOutput))
        {
            // "/sys/bus/pci/devices/0000:00:14.0/class:0x0c0330": the value follows the first ':' after the file name.
            var match = SysfsLine().Match(line);
            if (match.Success && PciAddress.TryParse(match.Groups["bdf"].Value, out var address, out _))
            {
                values[(address, match.Groups["file"].Value)] = match.Groups["value"].Value;
            }
        }

        foreach (var address in addresses)
        {
            if (values.TryGetValue((address, "vendor"), out var vendor) && values.TryGetValue((address, "device"), out var device) &&
                values.TryGetValue((address, "class"), out var klass))
            {
                result[address] = (SysfsPci.ParseDeviceId(vendor, device), SysfsPci.ParseClass(klass));
            }
        }

        return result;
    }

    private async Task<Dictionary<PciAddress, string>> ReadDriversAsync(CancellationToken cancellationToken)
    {
        var run = await RunAsync("list bound drivers", "find", [PciDrivers, "-mindepth", "2", "-maxdepth", "2", "-name", "????:??:??.?"], cancellationToken);
        var drivers = new Dictionary<PciAddress, string>();
        foreach (var line in OutputText.Lines(run.StandardOutput))
        {
            var parts = line.Split('/', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length >= 2 && PciAddress.TryParse(parts[^1], out var address, out _))
            {
                drivers[address] = parts[^2];
            }
        }

        return drivers;
    }

    private async Task<Dictionary<PciAddress, LspciDevice>> ReadLspciAsync(List<string> warnings, CancellationToken cancellationToken)
    {
        var run = await TryRunAsync("read lspci", "lspci", ["-Dnn"], cancellationToken);
        if (!run.Succeeded)
        {
            warnings.Add("lspci is not available on the host: device names come from XAPI only");
            return [];
        }

        var listing = Read("read lspci", () => LspciParser.Parse(run.StandardOutput));
        warnings.AddRange(listing.Skipped.Select(s => $"lspci line skipped: {s.Reason}"));
        return listing.Devices.GroupBy(d => d.Address).ToDictionary(g => g.Key, g => g.First());
    }

    private async Task<Dictionary<PciAddress, XeRecord>> ReadXapiPcisAsync(HostFacts facts, CancellationToken cancellationToken)
    {
        var output = (await Xe("list XAPI PCI objects", cancellationToken, "pci-list", $"host-uuid={facts.Host}", "params=all")).StandardOutput;
        var map = new Dictionary<PciAddress, XeRecord>();
        foreach (var record in Read("list XAPI PCI objects", () => XeRecordParser.ParseRecords(output)))
        {
            if (record.FindField("pci-id")?.Value is { } id && PciAddress.TryParse(id, out var address, out _))
            {
                map[address] = record;
            }
        }

        return map;
    }

    private async Task<PciAddress?> FindBootDeviceAsync(List<string> warnings, CancellationToken cancellationToken)
    {
        var source = await TryRunAsync("find the root device", "findmnt", ["-no", "SOURCE", "/"], cancellationToken);
        if (!source.Succeeded)
        {
            warnings.Add("findmnt failed: dom0's boot device is unknown, so every storage controller is treated with care");
            return null;
        }

        var root = SysfsDevicePath.ParseFindmntSource(source.StandardOutput);
        if (!root.IsDeviceNode)
        {
            warnings.Add($"dom0's root is {root.Source}, not a device node: its controller is unknown");
            return null;
        }

        var path = await TryRunAsync("find the root device's sysfs path", "udevadm", ["info", "--query=path", $"--name={root.Source}"], cancellationToken);
        var address = path.Succeeded ? SysfsDevicePath.ParseUdevadmPath(path.StandardOutput) : null;
        if (address is null)
        {
            warnings.Add($"dom0's root device {root.Source} has no PCI controller in its sysfs path");
        }

        return address;
    }

    private async Task<PciAddress?> FindManagementNicAsync(HostFacts facts, List<string> warnings, CancellationToken cancellationToken)
    {
        var pif = await TryXe("find the management interface", cancellationToken, "pif-list", $"host-uuid={facts.Host}", "management=true", "params=device", "--minimal");
        var device = pif.Succeeded && Read("find the management interface", () => XeMinimal.Parse(pif.StandardOutput)) is { Count: > 0 } devices ? devices[0] : null;
        if (device is null || !NetDeviceName().IsMatch(device))
        {
            warnings.Add("the management interface's device is unknown");
            return null;
        }

        var link = await TryRunAsync("find the management NIC", "readlink", ["-f", $"/sys/class/net/{device}/device"], cancellationToken);
        var address = link.Succeeded ? SysfsDevicePath.FindPciAddress(link.StandardOutput.Trim()) : null;
        if (address is null)
        {
            warnings.Add($"the management interface {device} is not a PCI function (bond or VLAN?): check its members by hand");
        }

        return address;
    }

    private async Task EnsureFunctionExistsAsync(PciAddress address, CancellationToken cancellationToken)
    {
        if (!(await ListFunctionsAsync(cancellationToken)).Contains(address))
        {
            throw new Dom0Exception(new Failure(FailureCause.DeviceNotFound, $"{Target} has no PCI function {address}."));
        }
    }

    private async Task EnsurePcibackLoadedAsync(CancellationToken cancellationToken)
    {
        // libxl reports a missing pciback on stderr and xl still exits 0: read the text first, then the exit code.
        var run = await TryRunAsync("check pciback", "xl", ["pci-assignable-list"], cancellationToken);
        var text = (run.StandardError + run.StandardOutput).Trim();
        if (ToolstackError.Classify(run.StandardError).Cause is ToolstackErrorCause.PcibackNotLoaded or ToolstackErrorCause.MalformedHideList)
        {
            throw new Dom0Exception(new Failure(FailureCause.PcibackNotLoaded, $"pciback is not loaded on {Target}: nothing can be detached.", text,
                ToolstackError.HintFor(ToolstackErrorCause.PcibackNotLoaded)));
        }

        if (!run.Succeeded)
        {
            throw Dom0Exception.FromCommand("check pciback", new CommandFailedException(run));
        }
    }

    private async Task RemovePcibackSlotAsync(PciAddress address, CancellationToken cancellationToken)
    {
        // remove_slot answers an error when the slot is not there: that is the state we want.
        await TryRunAsync("remove the pciback slot", "tee", [$"{PciDrivers}/{PcibackDriver}/remove_slot"], cancellationToken, address.ToString());
    }

    private async Task WriteSysfsAsync(string what, string path, string value, CancellationToken cancellationToken)
    {
        var request = new CommandRequest("tee", path) { StandardInput = value, Timeout = _options.CommandTimeout };
        await CheckedAsync(what, request, cancellationToken);
    }

    private static void EnsureDriverName(string driver)
    {
        if (!DriverName().IsMatch(driver))
        {
            throw new Dom0Exception(new Failure(FailureCause.InvalidInput, $"{Contracts.InputText.Quote(driver)} is not a driver name."));
        }
    }

    private async Task<bool> HasXeCommandAsync(string command, CancellationToken cancellationToken)
    {
        // xe help exits 0 even for a command the host lacks: read the text, not the exit code. A non-zero exit is xe
        // failing altogether (xapi still starting, not reachable), which says nothing about the command.
        var what = $"ask xe about {command}";
        var help = await CheckedAsync(what, new CommandRequest("xe", "help", command) { Timeout = _options.CommandTimeout }, cancellationToken);
        return !Read(what, () => XeHelp.IsUnknownCommand(help.StandardOutput + help.StandardError));
    }

    private static Dom0HideList? TryHideList(string text, string which, List<string> warnings)
    {
        if (Dom0HideList.TryParse(text, out var parsed, out var error))
        {
            warnings.AddRange(parsed.Normalisations.Select(n => $"{which} hide list: {n}"));
            return parsed.List;
        }

        warnings.Add($"{which} hide list is malformed: {error}");
        return null;
    }

    private static Dom0Access ComputeDom0Access(bool hiddenNow, bool hiddenNext) => (hiddenNow, hiddenNext) switch
    {
        (true, true) => Dom0Access.Disabled,
        (true, false) => Dom0Access.EnableOnReboot,
        (false, true) => Dom0Access.DisableOnReboot,
        _ => Dom0Access.Enabled,
    };

    private static Dom0Access ParseDom0Access(string text) => text.Trim() switch
    {
        "enabled" => Dom0Access.Enabled,
        "disable_on_reboot" => Dom0Access.DisableOnReboot,
        "disabled" => Dom0Access.Disabled,
        "enable_on_reboot" => Dom0Access.EnableOnReboot,
        var other => throw new XenParseException("dom0 access status", "unknown state", other),
    };

    internal static Dictionary<string, string> ParseInventoryFile(string text)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in OutputText.Lines(text))
        {
            var match = InventoryLine().Match(line);
            if (match.Success)
            {
                map[match.Groups["key"].Value] = match.Groups["value"].Value;
            }
        }

        return map;
    }

    internal static Version? ParseMajorMinor(string text)
    {
        var match = MajorMinor().Match(text);
        return match.Success
            ? new Version(int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture))
            : null;
    }

    private Task<CommandResult> Xe(string what, CancellationToken cancellationToken, params string[] args) =>
        CheckedAsync(what, new CommandRequest("xe", args) { Timeout = _options.CommandTimeout }, cancellationToken);

    private Task<CommandResult> XeWithTimeout(string what, TimeSpan timeout, CancellationToken cancellationToken, params string[] args) =>
        CheckedAsync(what, new CommandRequest("xe", args) { Timeout = timeout }, cancellationToken);

    /// <summary>Runs xe and returns its result whatever the exit code; transport failures are thrown as <see cref="Dom0Exception"/>.</summary>
    private Task<CommandResult> TryXe(string what, CancellationToken cancellationToken, params string[] args) =>
        TransportAsync(what, new CommandRequest("xe", args) { Timeout = _options.CommandTimeout }, cancellationToken);

    /// <summary>Runs a parser over a command's output; output it cannot read becomes a <see cref="Dom0Exception"/> naming the operation.</summary>
    private T Read<T>(string what, Func<T> parse)
    {
        try
        {
            return parse();
        }
        catch (XenParseException unreadable)
        {
            throw Dom0Exception.FromUnreadableOutput(what, Target, unreadable);
        }
    }

    private Task<CommandResult> RunCheckedAsync(string what, string program, string[] args, CancellationToken cancellationToken) =>
        CheckedAsync(what, new CommandRequest(program, args) { Timeout = _options.CommandTimeout }, cancellationToken);

    private async Task<CommandResult> RunAsync(string what, string program, string[] args, CancellationToken cancellationToken, int[]? allowExitCodes = default)
    {
        allowExitCodes ??= [0];
        var result = await TransportAsync(what, new CommandRequest(program, args) { Timeout = _options.CommandTimeout }, cancellationToken);
        if (!allowExitCodes.Contains(result.ExitCode))
        {
            throw Dom0Exception.FromCommand(what, new CommandFailedException(result));
        }

        return result;
    }

    private Task<CommandResult> TryRunAsync(string what, string program, string[] args, CancellationToken cancellationToken, string? stdin = null) =>
        TransportAsync(what, new CommandRequest(program, args) { Timeout = _options.CommandTimeout, StandardInput = stdin }, cancellationToken);

    private async Task<CommandResult?> TryRunQuietAsync(string program, string[] args, CancellationToken cancellationToken)
    {
        try
        {
            return await _runner.RunAsync(new CommandRequest(program, args) { Timeout = _options.RebootPollTimeout }, cancellationToken);
        }
        catch (CommandException)
        {
            return null;
        }
    }

    private async Task<CommandResult> CheckedAsync(string what, CommandRequest request, CancellationToken cancellationToken)
    {
        var result = await TransportAsync(what, request, cancellationToken);
        return result.Succeeded ? result : throw Dom0Exception.FromCommand(what, new CommandFailedException(result));
    }

    private async Task<CommandResult> TransportAsync(string what, CommandRequest request, CancellationToken cancellationToken)
    {
        try
        {
            return await _runner.RunAsync(request, cancellationToken);
        }
        catch (CommandException transport)
        {
            throw Dom0Exception.FromTransport($"{what} ({request.Display})", transport);
        }
    }

    [GeneratedRegex(@"^/sys/bus/pci/devices/(?<bdf>[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7])/(?<file>[a-z_]+):(?<value>.*)$")]
    private static partial Regex SysfsLine();

    [GeneratedRegex(@"^(?<key>[A-Z_][A-Z0-9_]*)='(?<value>[^']*)'\s*$")]
    private static partial Regex InventoryLine();

    [GeneratedRegex(@"(\d+)\.(\d+)")]
    private static partial Regex MajorMinor();

    [GeneratedRegex(@"^[a-z0-9_.-]{1,64}$")]
    private static partial Regex DriverName();

    [GeneratedRegex(@"^[A-Za-z0-9_.:-]{1,15}$")]
    private static partial Regex NetDeviceName();

    private static partial class Log
    {
        [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "{Target} is {Brand} {Version}, Xen {Xen}")]
        public static partial void Detected(ILogger logger, CommandTarget target, string brand, string version, string xen);

        [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "{Address} bound to pciback on {Target} (was {Original})")]
        public static partial void Bound(ILogger logger, PciAddress address, string original, CommandTarget target);

        [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "Binding {Address} to pciback on {Target} failed, restoring: {Reason}")]
        public static partial void BindFailed(ILogger logger, PciAddress address, CommandTarget target, string reason);

        [LoggerMessage(EventId = 3004, Level = LogLevel.Warning, Message = "VM {Vm} did not shut down within {Seconds} s; forcing")]
        public static partial void ForcingShutdown(ILogger logger, VmId vm, double seconds);
    }
}

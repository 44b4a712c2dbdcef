using Passthrough.Contracts.HostCommands;
using Passthrough.Contracts.HostEvents;
using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Messaging;
using Passthrough.Contracts.Pci;
using Passthrough.Xen;

namespace Passthrough.HostAgent.Preflight;

/// <summary>
/// The preflight and release checks as pure functions over what the driver read (the host's inventory and the exact
/// next-boot hide-list text): no I/O, so every refusal is unit-tested on a fixed inventory. Every reason found is
/// reported at once, so an operator fixes them in one round.
/// </summary>
public static class PreflightCheck
{
    /// <summary>
    /// Checks a passthrough request. Returns <see cref="PreflightPassed"/> with the before-state facts, or
    /// <see cref="PreflightRefused"/> with every reason and, when sibling functions are missing, the siblings to add.
    /// </summary>
    /// <param name="command">The request.</param>
    /// <param name="inventory">The host now.</param>
    /// <param name="nextBootHideListText">The hide list exactly as <c>xen-cmdline --get-dom0</c> printed it (without the final line break; empty when absent).</param>
    public static ISagaReply Run(RunPreflight command, HostInventory inventory, string nextBootHideListText)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(inventory);
        ArgumentNullException.ThrowIfNull(nextBootHideListText);
        var reasons = new List<Failure>();
        var warnings = new List<string>(inventory.Warnings);
        var suggested = new List<PciAddress>();
        var facts = inventory.Facts;

        if (command.Host != facts.Host)
        {
            reasons.Add(new Failure(FailureCause.InvalidInput, $"The request is for host {command.Host} but the inventory is of host {facts.Host}."));
        }

        if (command.Options is null)
        {
            reasons.Add(new Failure(FailureCause.InvalidInput, "The request carries no preflight options."));
        }
        else if (!Enum.IsDefined(command.Options.HideMode))
        {
            reasons.Add(new Failure(FailureCause.InvalidInput, $"Hide mode {(int)command.Options.HideMode} is not one of Auto, Dynamic, PersistWithReboot, Dom0AccessApi."));
        }

        var requested = CheckDeviceList(command.Devices, reasons);
        var vm = CheckVm(command.Vm, facts.Host, inventory, reasons);
        var options = command.Options ?? new PreflightOptions(HideMode.Auto, false, false);
        var byAddress = inventory.Devices.ToDictionary(d => d.Address);

        // The final set: the request, plus the missing siblings when the request allows adding them.
        var devices = new List<HostPciDevice>();
        foreach (var address in requested)
        {
            if (byAddress.TryGetValue(address, out var device))
            {
                devices.Add(device);
            }
            else
            {
                reasons.Add(new Failure(FailureCause.DeviceNotFound, $"Host {facts.Host} has no PCI function {address}.", null,
                    "List the host's functions with 'passthrough host inventory' (BDFs are DDDD:BB:DD.F)."));
            }
        }

        var missingSiblings = devices.SelectMany(d => d.Siblings).Where(s => !requested.Contains(s)).Distinct().Order().ToList();
        if (missingSiblings.Count > 0)
        {
            if (options.IncludeSiblings)
            {
                foreach (var sibling in missingSiblings)
                {
                    if (byAddress.TryGetValue(sibling, out var device))
                    {
                        devices.Add(device);
                        warnings.Add($"{sibling} added: it is a sibling function of a requested device.");
                    }
                }
            }
            else
            {
                suggested.AddRange(missingSiblings);
                reasons.Add(new Failure(FailureCause.SiblingFunctionsMissing,
                    $"The request leaves out sibling functions of the same device: {string.Join(", ", missingSiblings)}.", null,
                    "Add them to the request (a device's functions share one reset and go to one VM), or allow IncludeSiblings."));
            }
        }

        foreach (var device in devices)
        {
            CheckDevice(device, vm?.Uuid ?? command.Vm, facts, reasons);
        }

        if (vm is not null)
        {
            CheckIommu(vm, inventory, options, reasons);
        }

        CheckMode(options, facts, devices, reasons);

        if (reasons.Count > 0)
        {
            return new PreflightRefused(command.SagaId, command.CommandId, command.Step, command.Host, reasons, suggested);
        }

        if (AlreadyDone(devices, vm!, nextBootHideListText))
        {
            warnings.Add("Nothing to do: every device is already bound to pciback, hidden from dom0 and in this VM's other-config:pci.");
        }

        return Passed(command.SagaId, command.CommandId, command.Step, command.Host, vm!, inventory, devices, warnings, nextBootHideListText);
    }

    /// <summary>
    /// Checks a release: the VM exists on the host and each device is in its <c>other-config:pci</c> or still taken from
    /// dom0 (bound to pciback or hidden at next boot). Answers with the same before-state facts as the preflight.
    /// </summary>
    public static ISagaReply RunRelease(RunReleaseCheck command, HostInventory inventory, string nextBootHideListText)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(inventory);
        ArgumentNullException.ThrowIfNull(nextBootHideListText);
        var reasons = new List<Failure>();
        var facts = inventory.Facts;
        if (command.Host != facts.Host)
        {
            reasons.Add(new Failure(FailureCause.InvalidInput, $"The request is for host {command.Host} but the inventory is of host {facts.Host}."));
        }

        var requested = CheckDeviceList(command.Devices, reasons);
        var vm = CheckVm(command.Vm, facts.Host, inventory, reasons);
        var byAddress = inventory.Devices.ToDictionary(d => d.Address);
        var assigned = vm?.PciKey is { } key && PciAssignmentList.TryParse(key, out var list, out _) ? list.Addresses.ToHashSet() : [];
        var hidden = HiddenAtNextBoot(nextBootHideListText);
        var devices = new List<HostPciDevice>();
        foreach (var address in requested)
        {
            if (!byAddress.TryGetValue(address, out var device))
            {
                reasons.Add(new Failure(FailureCause.DeviceNotFound, $"Host {facts.Host} has no PCI function {address}."));
                continue;
            }

            devices.Add(device);
            if (vm is not null && !assigned.Contains(address) && device.Driver != Dom0Driver.PcibackDriver && !hidden.Contains(address))
            {
                reasons.Add(new Failure(FailureCause.InvalidInput,
                    $"{address} is neither in VM {vm.Uuid}'s other-config:pci nor taken from dom0 (driver {device.Driver ?? "none"}, not hidden): there is nothing to release.",
                    vm.PciKey, "Check the device address and the VM; 'passthrough host inventory' shows each function's owner VM."));
            }
        }

        if (reasons.Count > 0)
        {
            return new PreflightRefused(command.SagaId, command.CommandId, command.Step, command.Host, reasons, []);
        }

        return Passed(command.SagaId, command.CommandId, command.Step, command.Host, vm!, inventory, devices, [.. inventory.Warnings], nextBootHideListText);
    }

    private static PreflightPassed Passed(
        Guid sagaId, Guid commandId, SagaStep step, HostId host, VmInfo vm, HostInventory inventory, List<HostPciDevice> devices,
        List<string> warnings, string nextBootHideListText)
    {
        var facts = inventory.Facts;
        return new PreflightPassed(
            sagaId, commandId, step, host, vm.Uuid, vm.PowerState, vm.DomainType, facts.XenVersionText, inventory.Iommu.Enabled,
            facts.HasDom0AccessApi, devices, warnings, vm.NameLabel, vm.PciKey,
            // The protocol's convention: null = the parameter is absent (xen-cmdline prints an empty line then).
            nextBootHideListText.Length == 0 ? null : nextBootHideListText,
            facts.BootId);
    }

    private static List<PciAddress> CheckDeviceList(IReadOnlyList<PciAddress>? devices, List<Failure> reasons)
    {
        if (devices is null || devices.Count == 0)
        {
            reasons.Add(new Failure(FailureCause.InvalidInput, "The request names no device."));
            return [];
        }

        var duplicates = devices.GroupBy(d => d).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        if (duplicates.Count > 0)
        {
            reasons.Add(new Failure(FailureCause.InvalidInput, $"The request names {string.Join(", ", duplicates)} more than once."));
        }

        return [.. devices.Distinct()];
    }

    private static VmInfo? CheckVm(VmId vmId, HostId host, HostInventory inventory, List<Failure> reasons)
    {
        var vm = inventory.Vms.FirstOrDefault(v => v.Uuid == vmId);
        if (vm is null)
        {
            reasons.Add(new Failure(FailureCause.VmNotFound, $"No VM with uuid {vmId} in the pool of host {host}.", null,
                "Check the VM uuid with 'xe vm-list'; templates, snapshots and dom0 are not VMs here."));
            return null;
        }

        // A halted VM has no residence and may start here; a VM resident elsewhere would start there, without our devices.
        if (vm.ResidentOn is { } resident && resident != host.Uuid)
        {
            reasons.Add(new Failure(FailureCause.VmNotOnHost, $"VM {vm.Uuid} ({vm.NameLabel}) runs on host {resident}, not on {host}.", null,
                "Shut the VM down or migrate it to this host first: passed-through devices belong to one host."));
        }

        return vm;
    }

    private static void CheckDevice(HostPciDevice device, VmId vm, HostFacts facts, List<Failure> reasons)
    {
        if (device.IsBootDevice)
        {
            reasons.Add(new Failure(FailureCause.BootDevice,
                $"{device.Address} ({Describe(device)}) backs dom0's root filesystem: taking it would leave the host without its disk at the next boot.", null,
                "Pass through another controller; dom0's boot device is never taken."));
        }

        if (device.IsManagementNic)
        {
            reasons.Add(new Failure(FailureCause.ManagementNic,
                $"{device.Address} ({Describe(device)}) carries the host's management interface: taking it cuts the host off from the pool and from this agent.", null,
                "Pass through another NIC, or move the management interface first (xe host-management-reconfigure)."));
        }

        if (device.Class.IsDisplay && IsXenServer(facts))
        {
            reasons.Add(new Failure(FailureCause.DisplayDeviceOnXenServer,
                $"{device.Address} ({Describe(device)}) is a display device (class {device.Class}); {facts.ProductBrand} gives GPUs to VMs through its GPU path, not plain PCI passthrough.", null,
                "Assign it in XenCenter as GPU passthrough (VM properties → GPU → pass-through whole GPU) or as a vGPU type."));
        }

        if (device.OwnerVm is { } owner && owner != vm)
        {
            reasons.Add(new Failure(FailureCause.DeviceOwnedByAnotherVm,
                $"{device.Address} ({Describe(device)}) is already in the other-config:pci of VM {owner}.", null,
                "Release it from that VM first (passthrough release), or pick another device."));
        }
    }

    private static void CheckIommu(VmInfo vm, HostInventory inventory, PreflightOptions options, List<Failure> reasons)
    {
        if (inventory.Iommu.Enabled)
        {
            return;
        }

        var facts = inventory.Facts;
        var why = inventory.Iommu.ConflictDescription ?? "the host has no IOMMU enabled (VT-d / AMD-Vi)";
        if (vm.DomainType != GuestType.PV)
        {
            reasons.Add(new Failure(FailureCause.IommuOff,
                $"VM {vm.Uuid} is {vm.DomainType}: passthrough to it needs an IOMMU, and {why}.", null,
                "Enable VT-d / AMD-Vi (IOMMU) in the host's firmware and check 'xl dmesg | grep \"I/O virtualisation\"'."));
        }
        else if (facts.IommuMandatoryForPv)
        {
            reasons.Add(new Failure(FailureCause.IommuOff,
                $"Xen {facts.XenVersionText} needs an IOMMU for PV passthrough too, and {why}.", null,
                "Enable VT-d / AMD-Vi (IOMMU) in the host's firmware."));
        }
        else if (!options.AllowPvWithoutIommu)
        {
            reasons.Add(new Failure(FailureCause.IommuOff,
                $"{why}: PV passthrough without an IOMMU works on Xen {facts.XenVersionText} but lets the device DMA anywhere in host memory.", null,
                "Enable the IOMMU, or accept the risk explicitly with AllowPvWithoutIommu."));
        }
    }

    private static void CheckMode(PreflightOptions options, HostFacts facts, List<HostPciDevice> devices, List<Failure> reasons)
    {
        if (options.HideMode is HideMode.PersistWithReboot or HideMode.Dom0AccessApi && !options.AllowHostReboot)
        {
            reasons.Add(new Failure(FailureCause.InvalidInput,
                $"Hide mode {options.HideMode} takes effect only after a host reboot, and the request does not allow rebooting the host.", null,
                "Allow the host reboot, or use the Dynamic or Auto hide mode (bind to pciback now)."));
        }

        if (options.HideMode == HideMode.Dom0AccessApi)
        {
            if (!facts.HasDom0AccessApi)
            {
                reasons.Add(new Failure(FailureCause.InvalidInput,
                    $"Hide mode Dom0AccessApi needs xe pci-disable-dom0-access (xapi 24.14 or later); {facts.ProductBrand} {facts.ProductVersion} has none.", null,
                    "Use PersistWithReboot (xen-cmdline) or Dynamic on this host."));
            }
            else
            {
                foreach (var device in devices.Where(d => d.XapiUuid is null))
                {
                    reasons.Add(new Failure(FailureCause.InvalidInput,
                        $"{device.Address} ({Describe(device)}) has no XAPI PCI object, so the dom0-access API cannot hide it.", null,
                        "Use PersistWithReboot or Dynamic for this device (XAPI models display, storage and network functions only)."));
                }
            }
        }
    }

    private static bool AlreadyDone(List<HostPciDevice> devices, VmInfo vm, string nextBootHideListText)
    {
        var hidden = HiddenAtNextBoot(nextBootHideListText);
        var assigned = vm.PciKey is { } key && PciAssignmentList.TryParse(key, out var list, out _) ? list.Addresses.ToHashSet() : [];
        return devices.Count > 0 && devices.All(d =>
            d.Driver == Dom0Driver.PcibackDriver &&
            (hidden.Contains(d.Address) || d.Dom0Access is Dom0Access.DisableOnReboot or Dom0Access.Disabled) &&
            assigned.Contains(d.Address));
    }

    private static HashSet<PciAddress> HiddenAtNextBoot(string text) =>
        Dom0HideList.TryParse(text, out var parsed, out _) ? [.. parsed.List.Entries] : [];

    // XenServer and Citrix Hypervisor route GPUs through pGPU/vGPU; XCP-ng accepts the plain PCI path (DOMAIN.md §1).
    private static bool IsXenServer(HostFacts facts) =>
        facts.ProductBrand.Contains("XenServer", StringComparison.OrdinalIgnoreCase) ||
        facts.ProductBrand.Contains("Citrix", StringComparison.OrdinalIgnoreCase);

    private static string Describe(HostPciDevice device) =>
        device.DeviceName is { Length: > 0 } name ? $"{device.Id} {name}" : device.Id.ToString();
}

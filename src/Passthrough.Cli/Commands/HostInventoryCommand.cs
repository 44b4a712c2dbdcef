using System.CommandLine;
using System.Text.Json;
using Passthrough.Cli.Output;
using Passthrough.Contracts.Messaging;
using Passthrough.Xen;

namespace Passthrough.Cli.Commands;

/// <summary><c>passthrough host inventory</c>: product, versions, IOMMU and every PCI function of one host.</summary>
internal static class HostInventoryCommand
{
    public static Command Build(CliEnvironment environment)
    {
        var target = new TargetOptions();
        var output = OutputOptions.Create();
        var command = new Command("inventory", "Show the host's product and version, IOMMU state and PCI devices (BDF, class, ids, driver, dom0 access, owner VM, XAPI uuid, boot-device and management-NIC flags).");
        target.AddTo(command);
        command.Options.Add(output);
        command.SetAction(async (parse, cancellationToken) =>
        {
            try
            {
                var parsed = target.Parse(parse);
                await using var runner = environment.Runners(parsed);
                var driver = new Dom0Driver(runner, time: environment.Time);
                var inventory = await driver.GetInventoryAsync(cancellationToken);
                var view = InventoryView.From(inventory) with { Target = parsed.ToString() };
                if (parse.GetValue(output) == OutputFormat.Json)
                {
                    await environment.Out.WriteLineAsync(JsonSerializer.Serialize(view, OutputOptions.Json));
                }
                else
                {
                    WriteTable(view, environment.Out);
                }

                return ExitCodes.Ok;
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                return await Failures.ReportAsync(exception, environment.Error);
            }
        });
        return command;
    }

    private static void WriteTable(InventoryView view, TextWriter writer)
    {
        writer.WriteLine($"Host        {view.Host} ({view.Target})");
        writer.WriteLine($"Product     {view.Product} {view.ProductVersion}, xapi {view.XapiVersion ?? "unknown"}, Xen {view.XenVersion}");
        writer.WriteLine($"APIs        xe pci-*: {(view.XapiPciCommands ? "yes" : "no")}, dom0-access API: {(view.Dom0AccessApi ? "yes" : "no")}");
        writer.WriteLine($"IOMMU       {(view.Iommu.Enabled ? "enabled" : "disabled")} (chipset-info {Show(view.Iommu.ChipsetInfo)}, xl info {Show(view.Iommu.VirtCaps)}, xl dmesg {Show(view.Iommu.Dmesg)})");
        writer.WriteLine($"Hide list   booted: {Empty(view.BootedHideList)}; next boot: {Empty(view.NextBootHideList)}");
        writer.WriteLine();
        var table = new TextTable("BDF", "CLASS", "VENDOR:DEVICE", "NAME", "DRIVER", "DOM0 ACCESS", "OWNER VM", "XAPI UUID", "FLAGS");
        foreach (var device in view.Devices)
        {
            var flags = string.Join(",", new[] { device.BootDevice ? "boot-device" : null, device.ManagementNic ? "management-nic" : null }.Where(f => f is not null));
            table.AddRow(
                device.Bdf,
                $"{device.ClassCode} {device.ClassName}",
                device.VendorDevice,
                Name(device),
                device.Driver ?? "-",
                device.Dom0Access,
                device.OwnerVm ?? "-",
                device.XapiUuid ?? "none",
                flags.Length == 0 ? "-" : flags);
        }

        table.WriteTo(writer);
        foreach (var warning in view.Warnings)
        {
            writer.WriteLine($"warning: {warning}");
        }
    }

    private static string Name(DeviceView device) =>
        device.VendorName is { } vendor && device.DeviceName is { } name && !name.StartsWith(vendor, StringComparison.Ordinal)
            ? $"{vendor} {name}"
            : device.DeviceName ?? device.VendorName ?? string.Empty;

    private static string Show(bool? value) => value switch { true => "on", false => "off", null => "unknown" };

    private static string Empty(string? text) => string.IsNullOrEmpty(text) ? "(none)" : text;
}

/// <summary>The inventory as printed: the same fields in the table and in JSON.</summary>
internal sealed record InventoryView(
    string Target,
    string Host,
    string Product,
    string ProductVersion,
    string? XapiVersion,
    string XenVersion,
    bool XapiPciCommands,
    bool Dom0AccessApi,
    string BootId,
    IommuView Iommu,
    string? BootedHideList,
    string? NextBootHideList,
    IReadOnlyList<DeviceView> Devices,
    IReadOnlyList<string> Warnings)
{
    public static InventoryView From(HostInventory inventory)
    {
        ArgumentNullException.ThrowIfNull(inventory);
        var facts = inventory.Facts;
        var vmNames = inventory.Vms.ToDictionary(v => v.Uuid, v => v.NameLabel);
        return new InventoryView(
            string.Empty,
            facts.Host.ToString(),
            facts.ProductBrand,
            facts.ProductVersion,
            facts.XapiVersion,
            facts.XenVersionText,
            facts.HasPciCommands,
            facts.HasDom0AccessApi,
            facts.BootId,
            new IommuView(inventory.Iommu.Enabled, inventory.Iommu.Chipset, inventory.Iommu.VirtCaps, inventory.Iommu.Dmesg, inventory.Iommu.ConflictDescription),
            inventory.CurrentHideList,
            inventory.NextBootHideList,
            [.. inventory.Devices.Select(d => new DeviceView(
                d.Address.ToString(),
                d.Class.ToString(),
                d.Class.Describe(),
                d.Id.ToString(),
                d.VendorName,
                d.DeviceName,
                d.Driver,
                AccessText(d.Dom0Access),
                d.OwnerVm is { } owner ? (vmNames.TryGetValue(owner, out var name) && name.Length > 0 ? $"{owner} ({name})" : owner.ToString()) : null,
                d.XapiUuid?.ToString(),
                [.. d.Siblings.Select(s => s.ToString())],
                d.IsBootDevice,
                d.IsManagementNic))],
            inventory.Warnings);
    }

    private static string AccessText(Dom0Access access) => access switch
    {
        Dom0Access.Enabled => "enabled",
        Dom0Access.DisableOnReboot => "disable_on_reboot",
        Dom0Access.Disabled => "disabled",
        Dom0Access.EnableOnReboot => "enable_on_reboot",
        _ => access.ToString(),
    };
}

internal sealed record IommuView(bool Enabled, bool? ChipsetInfo, bool? VirtCaps, bool? Dmesg, string? Conflict);

internal sealed record DeviceView(
    string Bdf,
    string ClassCode,
    string ClassName,
    string VendorDevice,
    string? VendorName,
    string? DeviceName,
    string? Driver,
    string Dom0Access,
    string? OwnerVm,
    string? XapiUuid,
    IReadOnlyList<string> Siblings,
    bool BootDevice,
    bool ManagementNic);

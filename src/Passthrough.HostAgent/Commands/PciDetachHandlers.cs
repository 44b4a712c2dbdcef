using Microsoft.Extensions.Logging;
using Passthrough.Contracts.HostCommands;
using Passthrough.Contracts.HostEvents;
using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Messaging;
using Passthrough.Contracts.Pci;
using Passthrough.Shell;
using Passthrough.Xen;

namespace Passthrough.HostAgent.Commands;

/// <summary>
/// Taking devices from dom0 and giving them back: the detach (bind now and/or persist the hide, as the mode says, undone
/// by itself when it fails halfway), its exact undo, and the release's reattach.
/// </summary>
public sealed class PciDetachHandlers
{
    private readonly ILogger _logger;

    /// <summary>Creates the handlers.</summary>
    public PciDetachHandlers(ILogger<PciDetachHandlers> logger)
    {
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
    }

    /// <summary>
    /// Detaches the devices as <see cref="DetachPciDevices.Mode"/> says and answers the <see cref="DetachRecord"/> that
    /// undoes it exactly. On a failure halfway, everything this command changed is undone before the failure is answered.
    /// </summary>
    public async Task<ISagaReply> DetachAsync(CommandExecution execution, DetachPciDevices command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(execution);
        ArgumentNullException.ThrowIfNull(command);
        if (VmCommandHandlers.NoDevices(execution, command.Devices) is { } invalid)
        {
            return invalid;
        }

        if (!Enum.IsDefined(command.Mode))
        {
            return execution.Invalid($"Hide mode {(int)command.Mode} is not one of Auto, Dynamic, PersistWithReboot, Dom0AccessApi.");
        }

        var driver = execution.Driver;
        var devices = command.Devices.ToList();
        if (await MissingAsync(driver, devices, cancellationToken).ConfigureAwait(false) is { } missing)
        {
            return execution.Failed(missing);
        }

        var facts = await driver.DetectAsync(false, cancellationToken).ConfigureAwait(false);
        var useApi = command.Mode == HideMode.Dom0AccessApi || (command.Mode == HideMode.Auto && facts.HasDom0AccessApi);
        var bindNow = command.Mode is HideMode.Dynamic or HideMode.Auto;
        var xapi = new Dictionary<PciAddress, XenUuid>();
        if (useApi)
        {
            var inventory = await driver.GetInventoryAsync(cancellationToken).ConfigureAwait(false);
            foreach (var device in inventory.Devices.Where(d => devices.Contains(d.Address) && d.XapiUuid is not null))
            {
                xapi[device.Address] = device.XapiUuid!.Value;
            }

            var unmodelled = devices.Where(d => !xapi.ContainsKey(d)).ToList();
            if (command.Mode == HideMode.Dom0AccessApi && unmodelled.Count > 0)
            {
                return execution.Invalid($"{string.Join(", ", unmodelled)} ha{(unmodelled.Count == 1 ? "s" : "ve")} no XAPI PCI object: the dom0-access API cannot hide {(unmodelled.Count == 1 ? "it" : "them")}.",
                    "Use PersistWithReboot or Dynamic for devices XAPI does not model (USB controllers, audio, serial).");
            }
        }

        // The state before this command changed anything, kept in the command record: a re-run after a crash sees
        // pciback where the first run bound it, but must still record the driver from before.
        var before = await execution.RememberAsync(async () => new DetachBefore(
            await driver.ReadNextBootHideListTextAsync(cancellationToken).ConfigureAwait(false),
            await ReadDriversAsync(driver, devices, cancellationToken).ConfigureAwait(false)), cancellationToken).ConfigureAwait(false);
        var original = before.Drivers.ToDictionary(d => d.Address, d => d.Driver);

        var progress = new DetachProgress();
        var rebootRequired = command.Mode is HideMode.PersistWithReboot or HideMode.Dom0AccessApi;
        try
        {
            if (bindNow)
            {
                foreach (var address in devices)
                {
                    try
                    {
                        var binding = await driver.BindToPcibackAsync(address, cancellationToken).ConfigureAwait(false);
                        if (binding.BoundToPciback)
                        {
                            progress.Bound.Add(address);
                        }
                    }
                    catch (Dom0Exception bindFailed) when (command.Mode == HideMode.Auto &&
                        bindFailed.Cause is FailureCause.DeviceBindFailed or FailureCause.FlrTimeout or FailureCause.PcibackNotLoaded)
                    {
                        // The driver gave the function back to its driver already. The persisted hide binds it at boot instead.
                        HostAgentLog.BindDeferredToReboot(_logger, address, execution.Host.Id, bindFailed.Message);
                        rebootRequired = true;
                    }
                }
            }

            var viaCmdline = devices.Where(d => !xapi.ContainsKey(d)).ToList();
            foreach (var (address, pci) in xapi)
            {
                progress.HideTouched = true;
                var access = await driver.DisableDom0AccessAsync(pci, cancellationToken).ConfigureAwait(false);
                if (access is Dom0Access.Enabled or Dom0Access.EnableOnReboot)
                {
                    progress.Dom0AccessDisabled.Add(pci);
                }
            }

            if (viaCmdline.Count > 0)
            {
                progress.HideTouched = true;
                await driver.PersistHideAsync(viaCmdline, cancellationToken).ConfigureAwait(false);
            }

            var after = await driver.ReadNextBootHideListTextAsync(cancellationToken).ConfigureAwait(false);
            var record = new DetachRecord(
                command.Mode,
                [.. devices.Select(d => new DriverBinding(d, original[d], progress.Bound.Contains(d)))],
                progress.HideTouched ? before.HideList : null,
                progress.HideTouched ? after : null,
                [.. progress.Dom0AccessDisabled],
                rebootRequired);
            return new PciDevicesDetached(command.SagaId, command.CommandId, command.Step, command.Host, record);
        }
        catch (Exception failure) when (failure is Dom0Exception or CommandException)
        {
            var cause = failure is Dom0Exception dom0
                ? dom0.Failure
                : Dom0Exception.FromTransport($"detach on {driver.Target}", (CommandException)failure).Failure;
            var undone = await UndoOwnChangesAsync(driver, progress, before, original).ConfigureAwait(false);
            return execution.Failed(cause with { Message = $"{cause.Message} {undone}" });
        }
    }

    /// <summary>
    /// Restores what a detach changed (state-checking, idempotent): each function's dom0 driver back to its original
    /// ("pciback": bound to pciback; null: no driver), then the next-boot hide list to exactly the previous text when the
    /// record says it was touched ("" = absent), then dom0 access on the XAPI objects the detach disabled.
    /// </summary>
    public static async Task<ISagaReply> UndoAsync(CommandExecution execution, UndoPciDetach command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(execution);
        ArgumentNullException.ThrowIfNull(command);
        if (command.Record is null)
        {
            return execution.Invalid("UndoPciDetach carries no detach record.");
        }

        var driver = execution.Driver;
        var restored = new List<DriverBinding>();
        foreach (var binding in command.Record.Bindings ?? [])
        {
            if (await RestoreBindingAsync(driver, binding.Address, binding.OriginalDriver, cancellationToken).ConfigureAwait(false))
            {
                restored.Add(binding);
            }
        }

        string? hideList = null;
        if (command.Record.PreviousHideList is { } previous)
        {
            await RestoreOwnHideEntriesAsync(driver, command.Record, previous, cancellationToken).ConfigureAwait(false);
            hideList = await driver.ReadNextBootHideListTextAsync(cancellationToken).ConfigureAwait(false);
        }

        foreach (var pci in command.Record.Dom0AccessDisabled ?? [])
        {
            await driver.RestoreDom0AccessAsync(pci, Dom0Access.Enabled, cancellationToken).ConfigureAwait(false);
        }

        return new PciDetachUndone(command.SagaId, command.CommandId, command.Step, command.Host, restored, hideList);
    }

    /// <summary>
    /// Release: gives each device back to dom0 (its known original driver, otherwise the kernel's probe) and removes it
    /// from the next-boot hide list.
    /// </summary>
    public static async Task<ISagaReply> ReattachAsync(CommandExecution execution, ReattachPciDevices command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(execution);
        ArgumentNullException.ThrowIfNull(command);
        if (VmCommandHandlers.NoDevices(execution, command.Devices) is { } invalid)
        {
            return invalid;
        }

        var driver = execution.Driver;
        if (await MissingAsync(driver, command.Devices, cancellationToken).ConfigureAwait(false) is { } missing)
        {
            return execution.Failed(missing);
        }

        var known = (command.KnownOriginalDrivers ?? []).GroupBy(b => b.Address).ToDictionary(g => g.Key, g => g.First().OriginalDriver);
        var restored = new List<DriverBinding>();
        foreach (var address in command.Devices)
        {
            // A device that was on pciback before the passthrough has no dom0 driver to go back to: let the kernel probe one.
            var original = known.GetValueOrDefault(address) is { } driverName && driverName != Dom0Driver.PcibackDriver ? driverName : null;
            restored.Add(await driver.ReattachToDom0Async(address, original, cancellationToken).ConfigureAwait(false));
        }

        var hide = await driver.RemoveHideAsync(command.Devices, cancellationToken).ConfigureAwait(false);
        return new PciDevicesReattached(command.SagaId, command.CommandId, command.Step, command.Host, restored,
            hide.Changed ? hide.PreviousText : null, hide.Changed ? hide.NewText : null);
    }

    // Makes the function's driver equal to `original`; false when it already was (nothing ran that changes anything).
    private static async Task<bool> RestoreBindingAsync(Dom0Driver driver, PciAddress address, string? original, CancellationToken cancellationToken)
    {
        var current = await driver.GetDriverAsync(address, cancellationToken).ConfigureAwait(false);
        if (current == original)
        {
            return false;
        }

        if (original == Dom0Driver.PcibackDriver)
        {
            await driver.BindToPcibackAsync(address, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            // Releases it from whatever holds it now (pciback after a detach) and binds the original driver, or none.
            await driver.RestoreDriverAsync(new DriverBinding(address, original, true), cancellationToken).ConfigureAwait(false);
        }

        return true;
    }

    // The hide list belongs to the host, not to one saga: between this detach and its undo, other sagas on the host may
    // have hidden or released their own devices (host commands are serialised, sagas are not). Writing the previous text
    // back blindly would erase their entries. So: make each of this record's devices hidden or not exactly as before,
    // leave every other entry as it is now, and write the previous text byte for byte when that comes to the same set
    // (always the case when nobody else touched the list).
    private static async Task RestoreOwnHideEntriesAsync(Dom0Driver driver, DetachRecord record, string previous, CancellationToken cancellationToken)
    {
        var current = await driver.ReadNextBootHideListTextAsync(cancellationToken).ConfigureAwait(false);
        if (current == previous)
        {
            return;
        }

        if (!Dom0HideList.TryParse(previous, out var before, out _) || !Dom0HideList.TryParse(current, out var now, out _))
        {
            // Entries cannot be told apart in a malformed list: the exact previous text is the only faithful undo.
            await RestoreHideListAsync(driver, previous, cancellationToken).ConfigureAwait(false);
            return;
        }

        // This record's devices: those it bound, and those its write added to the list (a reboot mode binds none now).
        var added = record.NewHideList is { } newText && Dom0HideList.TryParse(newText, out var written, out _)
            ? written.List.Entries.Where(address => !before.List.Contains(address))
            : [];
        var ours = (record.Bindings ?? []).Select(b => b.Address).Concat(added).Distinct().ToList();
        var hiddenBefore = ours.Where(before.List.Contains).ToList();
        var notHiddenBefore = ours.Where(address => !before.List.Contains(address)).ToList();
        var target = now.List.Remove(notHiddenBefore).Add(hiddenBefore);
        if (target.Entries.ToHashSet().SetEquals(before.List.Entries))
        {
            await RestoreHideListAsync(driver, previous, cancellationToken).ConfigureAwait(false);
            return;
        }

        if (notHiddenBefore.Any(now.List.Contains))
        {
            await driver.RemoveHideAsync(notHiddenBefore, cancellationToken).ConfigureAwait(false);
        }

        if (hiddenBefore.Any(address => !now.List.Contains(address)))
        {
            await driver.PersistHideAsync(hiddenBefore, cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task RestoreHideListAsync(Dom0Driver driver, string previous, CancellationToken cancellationToken)
    {
        var current = await driver.ReadNextBootHideListTextAsync(cancellationToken).ConfigureAwait(false);
        if (current != previous)
        {
            await driver.RestoreHideListAsync(new HideListChange(previous, current, true), cancellationToken).ConfigureAwait(false);
        }
    }

    // Undoes a failed detach's own changes, in reverse: dom0 access, the hide list, then the bindings. Returns the sentence
    // for the failure message. Runs uncancellable: a half-changed host is worse than a late answer.
    private async Task<string> UndoOwnChangesAsync(Dom0Driver driver, DetachProgress progress, DetachBefore before, Dictionary<PciAddress, string?> original)
    {
        var problems = new List<string>();
        foreach (var pci in Enumerable.Reverse(progress.Dom0AccessDisabled))
        {
            await TryAsync(() => driver.RestoreDom0AccessAsync(pci, Dom0Access.Enabled, CancellationToken.None), $"dom0 access of PCI object {pci}", problems).ConfigureAwait(false);
        }

        if (progress.HideTouched)
        {
            await TryAsync(() => RestoreHideListAsync(driver, before.HideList, CancellationToken.None), "the next-boot hide list", problems).ConfigureAwait(false);
        }

        foreach (var address in Enumerable.Reverse(progress.Bound))
        {
            await TryAsync(() => RestoreBindingAsync(driver, address, original[address], CancellationToken.None), $"the driver of {address}", problems).ConfigureAwait(false);
        }

        if (problems.Count == 0)
        {
            return progress.Bound.Count == 0 && !progress.HideTouched
                ? "Nothing had changed on the host."
                : $"The detach was undone: {progress.Bound.Count} binding(s) restored{(progress.HideTouched ? ", hide list restored" : string.Empty)}.";
        }

        var left = string.Join("; ", problems);
        HostAgentLog.DetachUndoFailed(_logger, driver.Target, left);
        return $"Undoing the detach failed too, the host is left partly changed: {left}.";
    }

    private static async Task TryAsync(Func<Task> restore, string what, List<string> problems)
    {
        try
        {
            await restore().ConfigureAwait(false);
        }
        catch (Exception failure) when (failure is Dom0Exception or CommandException)
        {
            problems.Add($"{what} not restored ({failure.Message})");
        }
    }

    private static async Task<Failure?> MissingAsync(Dom0Driver driver, IEnumerable<PciAddress> devices, CancellationToken cancellationToken)
    {
        var present = (await driver.ListFunctionsAsync(cancellationToken).ConfigureAwait(false)).ToHashSet();
        var missing = devices.Where(d => !present.Contains(d)).ToList();
        return missing.Count == 0
            ? null
            : new Failure(FailureCause.DeviceNotFound, $"{driver.Target} has no PCI function {string.Join(", ", missing)}; nothing was changed.");
    }

    private static async Task<List<DeviceDriver>> ReadDriversAsync(Dom0Driver driver, List<PciAddress> devices, CancellationToken cancellationToken)
    {
        var drivers = new List<DeviceDriver>();
        foreach (var address in devices)
        {
            drivers.Add(new DeviceDriver(address, await driver.GetDriverAsync(address, cancellationToken).ConfigureAwait(false)));
        }

        return drivers;
    }

    /// <summary>The before-state a detach remembers in the command record.</summary>
    internal sealed record DetachBefore(string HideList, IReadOnlyList<DeviceDriver> Drivers);

    /// <summary>A function and its dom0 driver (null: none).</summary>
    internal sealed record DeviceDriver(PciAddress Address, string? Driver);

    private sealed class DetachProgress
    {
        public List<PciAddress> Bound { get; } = [];

        public List<XenUuid> Dom0AccessDisabled { get; } = [];

        public bool HideTouched { get; set; }
    }
}

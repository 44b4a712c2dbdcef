using Passthrough.Contracts.HostCommands;
using Passthrough.Contracts.HostEvents;
using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Messaging;
using Passthrough.Contracts.Pci;
using Passthrough.Xen;

namespace Passthrough.HostAgent.Commands;

/// <summary>The VM commands: snapshots, power, <c>other-config:pci</c>, and the host-side attachment check.</summary>
public static class VmCommandHandlers
{
    /// <summary>
    /// The name a <see cref="SnapshotVm"/> gives its snapshot: the requested name plus the command id, so a re-run of the
    /// same command finds the snapshot it took (and a different command never reuses another's).
    /// </summary>
    public static string SnapshotNameOf(SnapshotVm command)
    {
        ArgumentNullException.ThrowIfNull(command);
        return $"{command.SnapshotName} [{command.CommandId:D}]";
    }

    /// <summary>Takes the snapshot, or finds the one this command took before a crash.</summary>
    public static async Task<ISagaReply> SnapshotAsync(CommandExecution execution, SnapshotVm command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(execution);
        ArgumentNullException.ThrowIfNull(command);
        if (string.IsNullOrWhiteSpace(command.SnapshotName))
        {
            return execution.Invalid("SnapshotVm names no snapshot.");
        }

        var name = SnapshotNameOf(command);
        var existing = await execution.Driver.FindSnapshotsAsync(command.Vm, name, cancellationToken).ConfigureAwait(false);
        var snapshot = existing.Count > 0
            ? existing[0]
            : await execution.Driver.SnapshotVmAsync(command.Vm, name, cancellationToken).ConfigureAwait(false);
        return new VmSnapshotted(command.SagaId, command.CommandId, command.Step, command.Host, command.Vm, snapshot);
    }

    /// <summary>Reverts the VM to the snapshot.</summary>
    public static async Task<ISagaReply> RevertAsync(CommandExecution execution, RevertVmSnapshot command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(execution);
        ArgumentNullException.ThrowIfNull(command);
        await execution.Driver.RevertSnapshotAsync(command.Snapshot, cancellationToken).ConfigureAwait(false);
        return new VmSnapshotReverted(command.SagaId, command.CommandId, command.Step, command.Host, command.Vm, command.Snapshot);
    }

    /// <summary>Destroys the snapshot; one already gone is the state asked for.</summary>
    public static async Task<ISagaReply> DestroyAsync(CommandExecution execution, DestroyVmSnapshot command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(execution);
        ArgumentNullException.ThrowIfNull(command);
        await execution.Driver.DestroySnapshotAsync(command.Snapshot, cancellationToken).ConfigureAwait(false);
        return new VmSnapshotDestroyed(command.SagaId, command.CommandId, command.Step, command.Host, command.Vm, command.Snapshot);
    }

    /// <summary>
    /// Destroys every snapshot of the VM that a <see cref="SnapshotVm"/> with this name took, whatever its command id
    /// (<see cref="SnapshotNameOf"/>); none found answers an empty list.
    /// </summary>
    public static async Task<ISagaReply> DestroyNamedAsync(CommandExecution execution, DestroySnapshotsNamed command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(execution);
        ArgumentNullException.ThrowIfNull(command);
        if (string.IsNullOrWhiteSpace(command.SnapshotName))
        {
            return execution.Invalid("DestroySnapshotsNamed names no snapshot.");
        }

        var snapshots = await execution.Driver.ListSnapshotsAsync(command.Vm, cancellationToken).ConfigureAwait(false);
        var taken = snapshots.Where(s => IsTakenUnder(s.Name, command.SnapshotName)).Select(s => s.Uuid).ToList();
        foreach (var snapshot in taken)
        {
            await execution.Driver.DestroySnapshotAsync(snapshot, cancellationToken).ConfigureAwait(false);
        }

        return new VmSnapshotsDestroyed(command.SagaId, command.CommandId, command.Step, command.Host, command.Vm, taken);
    }

    /// <summary>Whether <paramref name="label"/> is the name <see cref="SnapshotNameOf"/> gives a snapshot requested as <paramref name="requested"/>.</summary>
    internal static bool IsTakenUnder(string label, string requested)
    {
        var prefix = requested + " [";
        return label.Length == prefix.Length + 37 && label.StartsWith(prefix, StringComparison.Ordinal) && label[^1] == ']' &&
               Guid.TryParseExact(label.AsSpan(prefix.Length, 36), "D", out _);
    }

    /// <summary>Shuts the VM down (clean, forced after the deadline when allowed); a halted VM answers WasRunning = false.</summary>
    public static async Task<ISagaReply> ShutdownAsync(CommandExecution execution, ShutdownVm command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(execution);
        ArgumentNullException.ThrowIfNull(command);
        if (command.CleanShutdownDeadline <= TimeSpan.Zero)
        {
            return execution.Invalid($"ShutdownVm's clean shutdown deadline must be positive (was {command.CleanShutdownDeadline}).");
        }

        var result = await execution.Driver.ShutdownVmAsync(command.Vm, command.CleanShutdownDeadline, command.AllowForce, cancellationToken).ConfigureAwait(false);
        return new VmShutDown(command.SagaId, command.CommandId, command.Step, command.Host, command.Vm, result.WasRunning, result.Forced);
    }

    /// <summary>Cold-starts the VM on this host; a running VM answers WasHalted = false.</summary>
    public static async Task<ISagaReply> StartAsync(CommandExecution execution, StartVm command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(execution);
        ArgumentNullException.ThrowIfNull(command);
        var result = await execution.Driver.StartVmAsync(command.Vm, cancellationToken).ConfigureAwait(false);
        return new VmStarted(command.SagaId, command.CommandId, command.Step, command.Host, command.Vm, result.WasHalted, result.DomId);
    }

    /// <summary>Merges the devices into the halted VM's <c>other-config:pci</c>.</summary>
    public static async Task<ISagaReply> AssignAsync(CommandExecution execution, AssignPciDevices command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(execution);
        ArgumentNullException.ThrowIfNull(command);
        if (NoDevices(execution, command.Devices) is { } invalid)
        {
            return invalid;
        }

        var vm = await execution.Driver.GetVmAsync(command.Vm, cancellationToken).ConfigureAwait(false);
        if (vm is null)
        {
            return VmNotFound(execution, command.Vm);
        }

        if (vm.PowerState != VmPowerState.Halted)
        {
            // xapi reads the key only when it builds the domain: writing it into a running VM would look done and do nothing.
            return execution.Invalid($"VM {command.Vm} ({vm.NameLabel}) is {vm.PowerState}: other-config:pci is read only at a cold start, so it is assigned only while the VM is halted.",
                "Shut the VM down first (the saga's Shutdown step).");
        }

        var change = await execution.Driver.MergePciKeyAsync(command.Vm, command.Devices, cancellationToken).ConfigureAwait(false);
        return KeyChanged(command, command.Host, command.Vm, change);
    }

    /// <summary>Sets <c>other-config:pci</c> back to exactly the given value (null: removes the key).</summary>
    public static async Task<ISagaReply> RestorePciKeyAsync(CommandExecution execution, RestoreVmPciKey command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(execution);
        ArgumentNullException.ThrowIfNull(command);
        var change = await execution.Driver.RestorePciKeyAsync(command.Vm, command.Value, cancellationToken).ConfigureAwait(false);
        return KeyChanged(command, command.Host, command.Vm, change);
    }

    /// <summary>Removes the devices from <c>other-config:pci</c>, keeping the other entries.</summary>
    public static async Task<ISagaReply> UnassignAsync(CommandExecution execution, UnassignPciDevices command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(execution);
        ArgumentNullException.ThrowIfNull(command);
        if (NoDevices(execution, command.Devices) is { } invalid)
        {
            return invalid;
        }

        var change = await execution.Driver.RemoveFromPciKeyAsync(command.Vm, command.Devices, cancellationToken).ConfigureAwait(false);
        return KeyChanged(command, command.Host, command.Vm, change);
    }

    /// <summary>Which of the devices the VM's running domain has attached (<c>xl pci-list &lt;domid&gt;</c>).</summary>
    public static async Task<ISagaReply> CheckAttachmentAsync(CommandExecution execution, CheckPciAttachment command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(execution);
        ArgumentNullException.ThrowIfNull(command);
        if (NoDevices(execution, command.Devices) is { } invalid)
        {
            return invalid;
        }

        var vm = await execution.Driver.GetVmAsync(command.Vm, cancellationToken).ConfigureAwait(false);
        if (vm is null)
        {
            return VmNotFound(execution, command.Vm);
        }

        if (vm.DomId is not { } domId)
        {
            return execution.Invalid($"VM {command.Vm} ({vm.NameLabel}) is {vm.PowerState}: it has no domain whose PCI devices could be checked.",
                "Start the VM first; attachment is checked on the running domain.");
        }

        var attached = (await execution.Driver.GetDomainPciAsync(domId, cancellationToken).ConfigureAwait(false)).ToHashSet();
        var requested = command.Devices.Distinct().ToList();
        return new PciAttachmentChecked(command.SagaId, command.CommandId, command.Step, command.Host, command.Vm,
            [.. requested.Where(attached.Contains)], [.. requested.Where(d => !attached.Contains(d))]);
    }

    internal static HostCommandFailed? NoDevices(CommandExecution execution, IReadOnlyList<PciAddress>? devices)
    {
        if (devices is null || devices.Count == 0)
        {
            return execution.Invalid($"{execution.Command.GetType().Name} names no device.");
        }

        var duplicates = devices.GroupBy(d => d).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        return duplicates.Count > 0
            ? execution.Invalid($"{execution.Command.GetType().Name} names {string.Join(", ", duplicates)} more than once.")
            : null;
    }

    private static HostCommandFailed VmNotFound(CommandExecution execution, VmId vm) =>
        execution.Failed(new Failure(FailureCause.VmNotFound, $"No VM with uuid {vm} on {execution.Driver.Target}."));

    private static VmPciKeyChanged KeyChanged(ISagaCommand command, HostId host, VmId vm, PciKeyChange change) =>
        new(command.SagaId, command.CommandId, command.Step, host, vm, change.Previous, change.Current);
}

using Passthrough.Contracts.HostCommands;
using Passthrough.Contracts.HostEvents;
using Passthrough.Contracts.Messaging;
using Passthrough.Contracts.Pci;
using Passthrough.HostAgent.Preflight;

namespace Passthrough.HostAgent.Commands;

/// <summary>The checks (preflight, release check: read-only) and the host reboot.</summary>
public static class HostCheckHandlers
{
    /// <summary>Reads the host and runs <see cref="PreflightCheck.Run"/> over it; nothing changes on the host.</summary>
    public static async Task<ISagaReply> PreflightAsync(CommandExecution execution, RunPreflight command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(execution);
        ArgumentNullException.ThrowIfNull(command);
        var inventory = await execution.Driver.GetInventoryAsync(cancellationToken).ConfigureAwait(false);
        var hideList = await execution.Driver.ReadNextBootHideListTextAsync(cancellationToken).ConfigureAwait(false);
        return PreflightCheck.Run(command, inventory, hideList);
    }

    /// <summary>Reads the host and runs <see cref="PreflightCheck.RunRelease"/> over it; nothing changes on the host.</summary>
    public static async Task<ISagaReply> ReleaseCheckAsync(CommandExecution execution, RunReleaseCheck command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(execution);
        ArgumentNullException.ThrowIfNull(command);
        var inventory = await execution.Driver.GetInventoryAsync(cancellationToken).ConfigureAwait(false);
        var hideList = await execution.Driver.ReadNextBootHideListTextAsync(cancellationToken).ConfigureAwait(false);
        return PreflightCheck.RunRelease(command, inventory, hideList);
    }

    /// <summary>
    /// Reboots the host (disable, evacuate, reboot, wait for a new boot id, enable). Refused before anything changes while
    /// a VM with passed-through devices runs on it: such a VM cannot migrate, so the evacuation would fail with the host
    /// already disabled, and the command's contract is that passthrough VMs are halted first.
    /// </summary>
    public static async Task<ISagaReply> RebootAsync(CommandExecution execution, RebootHost command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(execution);
        ArgumentNullException.ThrowIfNull(command);
        if (command.LiveDeadline <= TimeSpan.Zero)
        {
            return execution.Invalid($"RebootHost's live deadline must be positive (was {command.LiveDeadline}).");
        }

        var driver = execution.Driver;
        var vms = await driver.ListVmsAsync(cancellationToken).ConfigureAwait(false);
        var blocking = vms
            .Where(v => v.PowerState != VmPowerState.Halted && v.ResidentOn == command.Host.Uuid)
            .Where(v => v.PciKey is { } key && PciAssignmentList.TryParse(key, out var list, out _) && !list.IsEmpty)
            .ToList();
        if (blocking.Count > 0)
        {
            return execution.Failed(new Failure(FailureCause.VmHasPciAttached,
                $"Host {command.Host} was not rebooted: VM(s) with passed-through devices are {string.Join(", ", blocking.Select(v => $"{v.NameLabel} ({v.Uuid}) {v.PowerState}"))}; they cannot migrate.",
                null, "Shut those VMs down first; the host reboot then evacuates the others."));
        }

        var result = await driver.RebootHostAsync(command.LiveDeadline, cancellationToken).ConfigureAwait(false);
        return new HostRebooted(command.SagaId, command.CommandId, command.Step, command.Host, result.PreviousBootId, result.BootId);
    }
}

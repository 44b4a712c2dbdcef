using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Passthrough.Contracts.Ids;
using Passthrough.GuestAgent;
using Passthrough.GuestAgent.MassTransit;

namespace Passthrough.Lab;

/// <summary>Options of the <see cref="GuestAgentSupervisor"/> (section-less: set through <c>AddSimulatedFleet</c>).</summary>
public sealed class GuestAgentSupervisorOptions
{
    /// <summary>How often the supervisor compares VMs with agents; default 100 ms.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The longest wait after failed passes (the wait doubles from <see cref="PollInterval"/>); default 5 s.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long starting one agent may take (its first probe and boot report); default 10 s. An agent whose VM stopped
    /// while it started would otherwise retry its probe for ever and hold up every other VM.
    /// </summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>Checks <see cref="GuestAgentSupervisorOptions"/> at start, naming the offending key.</summary>
internal sealed class GuestAgentSupervisorOptionsValidator : IValidateOptions<GuestAgentSupervisorOptions>
{
    public ValidateOptionsResult Validate(string? name, GuestAgentSupervisorOptions options)
    {
        var failures = new List<string>();
        if (options.PollInterval <= TimeSpan.Zero)
        {
            failures.Add($"{nameof(GuestAgentSupervisorOptions.PollInterval)} must be positive, not {options.PollInterval}.");
        }

        if (options.MaxBackoff < options.PollInterval)
        {
            failures.Add($"{nameof(GuestAgentSupervisorOptions.MaxBackoff)} ({options.MaxBackoff}) must be at least {nameof(GuestAgentSupervisorOptions.PollInterval)} ({options.PollInterval}).");
        }

        if (options.StartTimeout <= TimeSpan.Zero)
        {
            failures.Add($"{nameof(GuestAgentSupervisorOptions.StartTimeout)} must be positive, not {options.StartTimeout}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>
/// Keeps guest agents in step with the simulated VMs, as a VM's own agent would be: on every poll it refreshes each
/// guest's tree, starts the agent of a VM that runs (unless its guest has <c>AgentNeverStarts</c>) and has none, stops
/// the agent of a VM that halted, and restarts the agent of a VM that booted again (new boot id), so every boot
/// publishes its own <c>GuestBooted</c>. A failed pass is logged and the next waits longer (doubling, capped).
/// </summary>
public sealed partial class GuestAgentSupervisor : BackgroundService
{
    private readonly SimulatedFleet _fleet;
    private readonly GuestAgentFleet _agents;
    private readonly GuestAgentSettings _agentSettings;
    private readonly GuestAgentSupervisorOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<GuestAgentSupervisor> _logger;
    private readonly SemaphoreSlim _pass = new(1, 1);

    /// <summary>Creates the supervisor of <paramref name="fleet"/>'s guests.</summary>
    public GuestAgentSupervisor(
        SimulatedFleet fleet,
        GuestAgentFleet agents,
        IOptions<GuestAgentSupervisorOptions> options,
        IOptions<GuestAgentFleetOptions> agentOptions,
        TimeProvider timeProvider,
        ILogger<GuestAgentSupervisor> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(agentOptions);
        _fleet = fleet ?? throw new ArgumentNullException(nameof(fleet));
        _agents = agents ?? throw new ArgumentNullException(nameof(agents));
        _options = options.Value;
        _agentSettings = agentOptions.Value.Settings;
        _time = timeProvider ?? throw new ArgumentNullException(nameof(timeProvider));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
    }

    /// <summary>
    /// One pass over every VM (what each poll runs; the lab and tests may call it to act at once). Passes never overlap.
    /// A VM whose agent cannot be started or stopped does not stop the pass for the others.
    /// </summary>
    /// <returns>How many VMs failed (0 when every VM is in step).</returns>
    public async Task<int> ReconcileAsync(CancellationToken cancellationToken)
    {
        await _pass.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var failed = 0;
            foreach (var vm in _fleet.Vms)
            {
                cancellationToken.ThrowIfCancellationRequested();
                try
                {
                    await ReconcileAsync(vm, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    failed++;
                    Log.VmFailed(_logger, vm.VmId, vm.Name, ex);
                }
            }

            return failed;
        }
        finally
        {
            _pass.Release();
        }
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.PollInterval, _time);
        var failures = 0;
        try
        {
            do
            {
                try
                {
                    failures = await ReconcileAsync(stoppingToken).ConfigureAwait(false) == 0 ? 0 : failures + 1;
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    failures++;
                    Log.PassFailed(_logger, failures, ex);
                }

                if (failures > 0)
                {
                    // Back off on top of the tick: a failing pass (a bus that is down) should not be retried ten times a second.
                    var wait = Backoff(failures);
                    Log.BackingOff(_logger, wait);
                    await Task.Delay(wait, _time, stoppingToken).ConfigureAwait(false);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    /// <inheritdoc />
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        // The agents run on the bus: stop them before the bus stops (it stops after this service, registered earlier).
        foreach (var vm in _fleet.Vms)
        {
            if (await _agents.StopAsync(vm.VmId).ConfigureAwait(false))
            {
                Log.AgentStopped(_logger, vm.VmId, vm.Name, "the lab stops");
            }
        }
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        _pass.Dispose();
        base.Dispose();
    }

    private TimeSpan Backoff(int failures)
    {
        var factor = Math.Pow(2, Math.Min(failures - 1, 16));
        var wait = _options.PollInterval * factor;
        return wait > _options.MaxBackoff ? _options.MaxBackoff : wait;
    }

    private async Task ReconcileAsync(FleetVm vm, CancellationToken cancellationToken)
    {
        // The boot id comes from the host model, not the tree: a halted VM's agent is stopped before its tree is removed,
        // as a real agent dies with its VM, rather than watching its devices vanish and reporting faults.
        var bootId = vm.Guest.BootId;
        if (_agents.Agents.TryGetValue(vm.VmId, out var running))
        {
            if (bootId is null)
            {
                await _agents.StopAsync(vm.VmId).ConfigureAwait(false);
                Log.AgentStopped(_logger, vm.VmId, vm.Name, "the VM halted");
            }
            else if (!string.Equals(running.Logic.BootId, bootId, StringComparison.Ordinal))
            {
                await _agents.StopAsync(vm.VmId).ConfigureAwait(false);
                Log.AgentStopped(_logger, vm.VmId, vm.Name, "the VM booted again");
            }
        }

        vm.Guest.Refresh();
        if (bootId is null || vm.Guest.Faults.AgentNeverStarts || _agents.Agents.ContainsKey(vm.VmId))
        {
            return;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.StartTimeout);
        try
        {
            var agent = await _agents.StartLinuxAsync(vm.VmId, vm.Guest.Root, _agentSettings, timeout.Token).ConfigureAwait(false);
            Log.AgentStarted(_logger, vm.VmId, vm.Name, agent.Logic.BootId);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"The guest agent of VM {vm.VmId} ({vm.Name}) did not start within {_options.StartTimeout}.");
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Guest agent of VM {Vm} ({VmName}) started, boot id {BootId}")]
        public static partial void AgentStarted(ILogger logger, VmId vm, string vmName, string bootId);

        [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Guest agent of VM {Vm} ({VmName}) stopped: {Reason}")]
        public static partial void AgentStopped(ILogger logger, VmId vm, string vmName, string reason);

        [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "Could not bring the guest agent of VM {Vm} ({VmName}) in step with the VM")]
        public static partial void VmFailed(ILogger logger, VmId vm, string vmName, Exception exception);

        [LoggerMessage(EventId = 4, Level = LogLevel.Error, Message = "Guest agent supervision pass failed ({Failures} in a row)")]
        public static partial void PassFailed(ILogger logger, int failures, Exception exception);

        [LoggerMessage(EventId = 5, Level = LogLevel.Warning, Message = "Guest agent supervision backs off for {Wait}")]
        public static partial void BackingOff(ILogger logger, TimeSpan wait);
    }
}

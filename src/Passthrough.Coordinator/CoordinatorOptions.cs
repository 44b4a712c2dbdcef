using Microsoft.Extensions.Options;

namespace Passthrough.Coordinator;

/// <summary>
/// How long the coordinator waits for each step before it counts as failed, how often compensations are retried, and
/// the watchdog (section <see cref="SectionName"/>). Every duration is multiplied by <see cref="TimeScale"/>, so the lab
/// and the tests can compress time without changing the ratios between steps.
/// </summary>
public sealed class CoordinatorOptions
{
    /// <summary>The configuration section: <c>Coordinator</c>.</summary>
    public const string SectionName = "Coordinator";

    /// <summary>Preflight and the release check; default 2 minutes.</summary>
    public TimeSpan PreflightTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Taking the snapshot, and reverting or destroying it; default 10 minutes.</summary>
    public TimeSpan SnapshotTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long the host agent waits for a clean shutdown before forcing (when allowed); default 2 minutes.</summary>
    public TimeSpan CleanShutdownDeadline { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Added to <see cref="CleanShutdownDeadline"/> for the shutdown step's deadline (the forced stop and the answer); default 1 minute.</summary>
    public TimeSpan ShutdownGrace { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Detaching the devices from dom0; default 5 minutes.</summary>
    public TimeSpan DetachTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The whole host reboot (disable, reboot, live again, enable); default 30 minutes.</summary>
    public TimeSpan RebootTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>How long the host agent waits for the host to be live again after a reboot; default 25 minutes (less than <see cref="RebootTimeout"/>).</summary>
    public TimeSpan HostLiveDeadline { get; set; } = TimeSpan.FromMinutes(25);

    /// <summary>Changing the VM's <c>other-config:pci</c> (assign, unassign); default 2 minutes.</summary>
    public TimeSpan AssignTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Starting the VM; default 5 minutes.</summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The guest's verification when the request names no timeout; default 5 minutes.</summary>
    public TimeSpan VerifyTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The host-side attachment check after the guest verified; default 2 minutes.</summary>
    public TimeSpan AttachmentCheckTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Each compensation attempt; default 5 minutes.</summary>
    public TimeSpan CompensationTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How many times a compensation is tried before it is left for an operator; default 3.</summary>
    public int CompensationAttempts { get; set; } = 3;

    /// <summary>Multiplies every duration here and the request's verify timeout; default 1 (the lab and tests compress time with less).</summary>
    public double TimeScale { get; set; } = 1.0;

    /// <summary>How often the watchdog looks for sagas whose deadline message was lost; default 30 seconds.</summary>
    public TimeSpan WatchdogInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long past a pending command's deadline the watchdog waits for the scheduled deadline before raising it itself; default 30 seconds.</summary>
    public TimeSpan WatchdogGrace { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How old a claim without any saga must be before the watchdog releases it (a request whose send was lost); default 5 minutes.</summary>
    public TimeSpan OrphanClaimGrace { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The HTTP listen URL of the coordinator's API; default <c>http://127.0.0.1:5080</c>.</summary>
    public string ListenUrl { get; set; } = "http://127.0.0.1:5080";

    /// <summary><paramref name="duration"/> after <see cref="TimeScale"/>, never below one millisecond.</summary>
    public TimeSpan Scale(TimeSpan duration) =>
        TimeSpan.FromMilliseconds(Math.Max(1, duration.TotalMilliseconds * TimeScale));
}

/// <summary>Validates <see cref="CoordinatorOptions"/> at start; each message names the configuration key.</summary>
internal sealed class CoordinatorOptionsValidator : IValidateOptions<CoordinatorOptions>
{
    private static readonly TimeSpan MaxDuration = TimeSpan.FromDays(1);

    public ValidateOptionsResult Validate(string? name, CoordinatorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        List<string> failures = [];
        void Duration(string key, TimeSpan value)
        {
            if (value <= TimeSpan.Zero || value > MaxDuration)
            {
                failures.Add($"{CoordinatorOptions.SectionName}:{key} must be more than 00:00:00 and at most 1.00:00:00 (was {value}).");
            }
        }

        Duration(nameof(options.PreflightTimeout), options.PreflightTimeout);
        Duration(nameof(options.SnapshotTimeout), options.SnapshotTimeout);
        Duration(nameof(options.CleanShutdownDeadline), options.CleanShutdownDeadline);
        Duration(nameof(options.ShutdownGrace), options.ShutdownGrace);
        Duration(nameof(options.DetachTimeout), options.DetachTimeout);
        Duration(nameof(options.RebootTimeout), options.RebootTimeout);
        Duration(nameof(options.HostLiveDeadline), options.HostLiveDeadline);
        Duration(nameof(options.AssignTimeout), options.AssignTimeout);
        Duration(nameof(options.StartTimeout), options.StartTimeout);
        Duration(nameof(options.VerifyTimeout), options.VerifyTimeout);
        Duration(nameof(options.AttachmentCheckTimeout), options.AttachmentCheckTimeout);
        Duration(nameof(options.CompensationTimeout), options.CompensationTimeout);
        Duration(nameof(options.WatchdogInterval), options.WatchdogInterval);
        Duration(nameof(options.WatchdogGrace), options.WatchdogGrace);
        Duration(nameof(options.OrphanClaimGrace), options.OrphanClaimGrace);

        // The host agent must give up waiting for the host before the saga's deadline, or the saga would compensate
        // while the agent still reports on the reboot.
        if (options.HostLiveDeadline >= options.RebootTimeout)
        {
            failures.Add($"{CoordinatorOptions.SectionName}:{nameof(options.HostLiveDeadline)} must be less than {nameof(options.RebootTimeout)} " +
                         $"({options.HostLiveDeadline} >= {options.RebootTimeout}).");
        }

        if (options.CompensationAttempts is < 1 or > 20)
        {
            failures.Add($"{CoordinatorOptions.SectionName}:{nameof(options.CompensationAttempts)} must be 1 to 20 (was {options.CompensationAttempts}).");
        }

        if (!double.IsFinite(options.TimeScale) || options.TimeScale <= 0 || options.TimeScale > 100)
        {
            failures.Add($"{CoordinatorOptions.SectionName}:{nameof(options.TimeScale)} must be more than 0 and at most 100 (was {options.TimeScale}).");
        }

        if (!Uri.TryCreate(options.ListenUrl, UriKind.Absolute, out var listen) || listen.Scheme is not ("http" or "https"))
        {
            failures.Add($"{CoordinatorOptions.SectionName}:{nameof(options.ListenUrl)} must be an absolute http or https URL (was '{options.ListenUrl}').");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

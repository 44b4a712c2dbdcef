using Passthrough.Contracts.Messaging;
using Passthrough.Shell;

namespace Passthrough.Guest;

/// <summary>What the pcifront remedy may do.</summary>
public sealed record PcifrontRemedyPolicy
{
    /// <summary>A policy that never changes the guest (the default).</summary>
    public static PcifrontRemedyPolicy Never { get; } = new();

    /// <summary>A policy that loads the module when it is available but not loaded.</summary>
    public static PcifrontRemedyPolicy LoadModule { get; } = new() { AllowLoadModule = true };

    /// <summary>Whether <c>modprobe xen-pcifront</c> may be run; default false.</summary>
    public bool AllowLoadModule { get; init; }

    /// <summary>The modprobe program: a name on PATH or a path; default <c>modprobe</c>.</summary>
    public string ModprobeProgram { get; init; } = "modprobe";

    /// <summary>How many times to re-probe while the frontend settles after loading; default 5.</summary>
    public int SettleAttempts
    {
        get => _settleAttempts;
        init => _settleAttempts = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(SettleAttempts), value, "At least one re-probe is needed.");
    }

    /// <summary>The pause between re-probes; default 200 ms.</summary>
    public TimeSpan SettleDelay
    {
        get => _settleDelay;
        init => _settleDelay = value >= TimeSpan.Zero ? value : throw new ArgumentOutOfRangeException(nameof(SettleDelay), value, "The delay cannot be negative.");
    }

    private readonly int _settleAttempts = 5;
    private readonly TimeSpan _settleDelay = TimeSpan.FromMilliseconds(200);
}

/// <summary>What the remedy did.</summary>
public enum PcifrontRemedyOutcome
{
    /// <summary>pcifront was not in the AvailableNotLoaded state: nothing to do.</summary>
    NotNeeded = 0,

    /// <summary>The module could be loaded but the policy does not allow it.</summary>
    NotAllowed,

    /// <summary>modprobe succeeded and the re-probe no longer sees the module as merely available.</summary>
    Loaded,

    /// <summary>modprobe failed, or the re-probe still sees the module as not loaded.</summary>
    Failed,
}

/// <summary>The remedy's outcome and the report to use from now on.</summary>
/// <param name="Outcome">What happened.</param>
/// <param name="Report">The re-probed report after a load attempt, else the report given.</param>
/// <param name="Detail">modprobe's error output or another explanation, when there is one.</param>
public sealed record PcifrontRemedyResult(PcifrontRemedyOutcome Outcome, GuestReport Report, string? Detail);

/// <summary>
/// Loads <c>xen-pcifront</c> in a PV guest whose kernel has it as a module that nothing loaded, when the policy allows,
/// then probes again (a few times, as the frontend device binds asynchronously) so the caller acts on fresh facts.
/// The argument vector is fixed (<c>modprobe xen-pcifront</c>); nothing from the guest or operator reaches it.
/// </summary>
public sealed class PcifrontRemedy
{
    /// <summary>The module name passed to modprobe.</summary>
    public const string ModuleName = "xen-pcifront";

    private readonly ICommandRunner _runner;
    private readonly PcifrontRemedyPolicy _policy;
    private readonly TimeProvider _time;

    /// <summary>Creates the remedy.</summary>
    /// <param name="runner">Runs modprobe in the guest (local for the agent, SSH for agentless); needs root there.</param>
    /// <param name="policy">What is allowed; default <see cref="PcifrontRemedyPolicy.Never"/>.</param>
    /// <param name="time">The clock for the settle delay; default the system clock.</param>
    public PcifrontRemedy(ICommandRunner runner, PcifrontRemedyPolicy? policy = null, TimeProvider? time = null)
    {
        _runner = runner ?? throw new ArgumentNullException(nameof(runner));
        _policy = policy ?? PcifrontRemedyPolicy.Never;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Applies the remedy if <paramref name="report"/> calls for it and the policy allows; re-probes with <paramref name="probe"/>.</summary>
    /// <exception cref="GuestProbeException">The re-probe could not look at the guest.</exception>
    public async Task<PcifrontRemedyResult> ApplyAsync(IGuestProbe probe, GuestReport report, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(probe);
        ArgumentNullException.ThrowIfNull(report);
        if (report.Pcifront.State != PcifrontState.AvailableNotLoaded)
        {
            return new PcifrontRemedyResult(PcifrontRemedyOutcome.NotNeeded, report, null);
        }

        if (!_policy.AllowLoadModule)
        {
            return new PcifrontRemedyResult(
                PcifrontRemedyOutcome.NotAllowed, report, "xen-pcifront is available but not loaded, and the policy does not allow loading it.");
        }

        CommandResult result;
        try
        {
            result = await _runner.RunAsync(new CommandRequest(_policy.ModprobeProgram, ModuleName) { Timeout = TimeSpan.FromSeconds(30) }, cancellationToken).ConfigureAwait(false);
        }
        catch (CommandException ex)
        {
            return new PcifrontRemedyResult(PcifrontRemedyOutcome.Failed, report, ex.Message);
        }

        if (!result.Succeeded)
        {
            var detail = result.StandardError.Trim();
            return new PcifrontRemedyResult(
                PcifrontRemedyOutcome.Failed,
                report,
                $"{result.Request.Display} exited with status {result.ExitCode}{(detail.Length > 0 ? ": " + detail : string.Empty)}");
        }

        var fresh = report;
        for (var attempt = 1; attempt <= _policy.SettleAttempts; attempt++)
        {
            fresh = await probe.ProbeAsync(cancellationToken).ConfigureAwait(false);
            if (fresh.Pcifront.State is not (PcifrontState.AvailableNotLoaded or PcifrontState.LoadedNoDevice) || attempt == _policy.SettleAttempts)
            {
                break;
            }

            await Task.Delay(_policy.SettleDelay, _time, cancellationToken).ConfigureAwait(false);
        }

        return fresh.Pcifront.State == PcifrontState.AvailableNotLoaded
            ? new PcifrontRemedyResult(PcifrontRemedyOutcome.Failed, fresh, $"{result.Request.Display} succeeded, but the guest still shows xen-pcifront as not loaded.")
            : new PcifrontRemedyResult(PcifrontRemedyOutcome.Loaded, fresh, null);
    }
}

using Microsoft.Extensions.Logging;
using Passthrough.Contracts.Api;
using Passthrough.Contracts.CoordinatorCommands;
using Passthrough.Contracts.CoordinatorEvents;
using Passthrough.Contracts.Messaging;
using Passthrough.Simulation;
using Passthrough.HostAgent;

namespace Passthrough.Lab.Runs;

/// <summary>
/// Runs a scenario on a simulated fleet with the whole system in this process (<see cref="LabRuntime"/>): builds the
/// fleet, injects the scenario's faults, captures every host, submits the sagas through the coordinator's HTTP API (at
/// most one per VM and per device, as the coordinator requires), follows each to its outcome, then checks the
/// invariants on the simulated hosts themselves and returns the report.
/// </summary>
public static class LabRun
{
    private const string Requester = "passthrough-lab";

    // The guest of the fleet scenario's injected fault (and the faults scenario's first fault) lacks pcifront.
    private const string PcifrontFault = "guest kernel without xen-pcifront (expected: RolledBack, GuestLacksPcifront)";
    private const string IommuFault = "host IOMMU off, HVM guest (expected: RolledBack at preflight, IommuOff)";
    private const string RebootFault = "hide persisted with a host reboot that hangs (expected: RolledBack, HostDidNotReturn)";

    // Dynamic: bound to pciback now and the hide persisted, no host reboot; a failed step rolls back, and reverting to the
    // saga's snapshot leaves the VM exactly as it was (the default keeps the snapshot as evidence, which a state
    // comparison would count as a change).
    private static readonly PassthroughOptionsBody DefaultOptions = new(HideMode: HideMode.Dynamic, Snapshot: SnapshotPolicy.RevertOnFailure, AllowForcedShutdown: true);

    /// <summary>Runs <paramref name="options"/>' scenario and returns its report; <see cref="LabReport.Passed"/> says whether every invariant held.</summary>
    /// <param name="options">What to run (validated here).</param>
    /// <param name="progress">Told the stage and every saga's current step as they change; null for none.</param>
    /// <param name="loggers">Logging of the coordinator and agents; null logs nothing.</param>
    /// <param name="cancellationToken">Stops the run (the runtime is stopped and the fleet disposed).</param>
    /// <exception cref="ArgumentException">The options are invalid (the message names each one).</exception>
    public static async Task<LabReport> RunAsync(LabRunOptions options, IProgress<LabProgress>? progress, ILoggerFactory? loggers, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var ownsDirectory = options.StateDirectory is null;
        var directory = options.StateDirectory ?? Directory.CreateTempSubdirectory("passthrough-lab-").FullName;
        try
        {
            var fleet = SimulatedFleet.Create(new FleetSpec
            {
                Hosts = options.Hosts,
                VmsPerHost = options.VmsPerHost,
                Seed = options.Seed,
                Latency = SimulatedLatency.Realistic,
                TimeScale = options.TimeScale,
                // Running VMs: each saga snapshots, shuts down and starts its VM again, as on a production host.
                InitialPowerState = VmPowerState.Running,
                WorkingDirectory = Path.Combine(directory, "guests"),
            });
            await using (fleet.ConfigureAwait(false))
            {
                return await RunOnFleetAsync(options, fleet, directory, progress, loggers, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            if (ownsDirectory)
            {
                TryDelete(directory);
            }
        }
    }

    /// <summary>The jobs of the first phase: what each saga asks for and which fault it meets.</summary>
    internal static IReadOnlyList<LabJob> PlanJobs(LabRunOptions options, SimulatedFleet fleet)
    {
        var plan = fleet.PlanAssignments().Assignments;
        switch (options.Scenario)
        {
            case LabScenario.Assign:
                return [new LabJob(plan[0], DefaultOptions, null)];
            case LabScenario.Fleet or LabScenario.Release:
                var faulty = options.InjectFault ? plan.FirstOrDefault(a => a.GuestType == GuestType.PV) : null;
                return [.. plan.Select(a => new LabJob(a, DefaultOptions, a == faulty ? PcifrontFault : null))];
            default:
                var (pcifrontHost, iommuHost, rebootHost) = (fleet.Hosts[0].HostId, fleet.Hosts[1].HostId, fleet.Hosts[2].HostId);
                var pv = plan.First(a => a.Host == pcifrontHost && a.GuestType == GuestType.PV);
                var hvm = plan.First(a => a.Host == iommuHost && a.GuestType == GuestType.HVM);
                var reboot = plan.First(a => a.Host == rebootHost);
                return
                [
                    new LabJob(pv, DefaultOptions, PcifrontFault),
                    new LabJob(hvm, DefaultOptions, IommuFault),
                    new LabJob(reboot, DefaultOptions with { HideMode = HideMode.PersistWithReboot, AllowHostReboot = true }, RebootFault),
                ];
        }
    }

    private static void Inject(SimulatedFleet fleet, LabJob job)
    {
        var vm = fleet.Vm(job.Assignment.Vm);
        switch (job.Fault)
        {
            case PcifrontFault:
                vm.Guest.Faults.ModuleMissing = true;
                break;
            case IommuFault:
                vm.Host.Host.Mutate(h => h.IommuEnabled = false);
                break;
            case RebootFault:
                // xapi takes the reboot request and never answers, and the host keeps running its old boot: the host
                // agent waits for a new boot id until its deadline, enables the host again and reports HostDidNotReturn.
                vm.Host.Runner.Faults.HangCommand("xe host-reboot");
                break;
            default:
                break;
        }
    }

    private static async Task<LabReport> RunOnFleetAsync(
        LabRunOptions options, SimulatedFleet fleet, string directory, IProgress<LabProgress>? progress, ILoggerFactory? loggers, CancellationToken cancellationToken)
    {
        var time = fleet.Time;
        var started = time.GetTimestamp();
        var startedAt = time.GetUtcNow();
        progress?.Report(new LabProgress(LabStage.Starting, 1, $"starting the coordinator and agents for {fleet.Hosts.Count} hosts and {fleet.Vms.Count} VMs", []));
        var jobs = PlanJobs(options, fleet);
        foreach (var job in jobs)
        {
            Inject(fleet, job);
        }

        var start = FleetState.Capture(fleet);
        var phases = new List<(IReadOnlyList<LabSagaReport> Sagas, FleetStateCapture Before, FleetStateCapture After)>();
        var runtime = await LabRuntime.StartAsync(RuntimeOptions(options, fleet, directory, loggers), cancellationToken).ConfigureAwait(false);
        try
        {
            var first = await RunPhaseAsync(runtime, options, 1, jobs, progress, cancellationToken).ConfigureAwait(false);
            var afterFirst = FleetState.Capture(fleet);
            phases.Add((first, start, afterFirst));
            if (options.Scenario == LabScenario.Release)
            {
                var releases = first.Where(s => s.Outcome == SagaOutcome.Completed)
                    .Select(s => new LabJob(jobs.Single(j => j.Assignment.Vm.ToString() == s.Vm).Assignment, null, null))
                    .ToList();
                var second = await RunPhaseAsync(runtime, options, 2, releases, progress, cancellationToken).ConfigureAwait(false);
                phases.Add((second, afterFirst, FleetState.Capture(fleet)));
            }
        }
        finally
        {
            // Stopped before the final checks, so that nothing changes a host while it is read.
            await runtime.DisposeAsync().ConfigureAwait(false);
        }

        var sagas = phases.SelectMany(p => p.Sagas).ToList();
        progress?.Report(new LabProgress(LabStage.Checking, phases.Count, "checking the invariants on the simulated hosts", []));
        List<LabInvariant> invariants = [LabInvariants.CheckEnded(sagas), .. LabInvariants.CheckDevices(fleet, start, sagas), LabInvariants.CheckRollbacks(phases)];
        var report = new LabReport(
            new LabReportOptions(options.Scenario, options.Hosts, options.VmsPerHost, options.Seed, options.TimeScale, options.InjectFault,
                options.RabbitMq is null ? "in-memory" : "rabbitmq", options.Postgres is null ? "sqlite" : "postgresql"),
            Summarise(fleet, start),
            sagas,
            invariants,
            new LabTotals(
                sagas.Count,
                sagas.Count(s => s.Outcome == SagaOutcome.Completed),
                sagas.Count(s => s.Outcome == SagaOutcome.RolledBack),
                sagas.Count(s => s.Outcome == SagaOutcome.RollbackFailed),
                sagas.Count(s => s.Outcome is null)),
            startedAt,
            time.GetUtcNow(),
            time.GetElapsedTime(started).TotalMilliseconds);
        progress?.Report(new LabProgress(LabStage.Finished, phases.Count, report.Passed ? "every invariant held" : "an invariant failed", []));
        return report;
    }

    private static LabRuntimeOptions RuntimeOptions(LabRunOptions options, SimulatedFleet fleet, string directory, ILoggerFactory? loggers)
    {
        var scale = options.TimeScale;
        var defaults = new HostAgentDom0Options();
        // Real-host timeouts compressed like the simulated latencies, but never so short that a busy 2-core machine
        // misses one: a 3 s floor for commands (a scaled xe call takes milliseconds), 50 ms between reboot polls.
        TimeSpan Scaled(TimeSpan real, TimeSpan floor) => TimeSpan.FromMilliseconds(Math.Max(floor.TotalMilliseconds, real.TotalMilliseconds * scale));
        var commandFloor = TimeSpan.FromSeconds(3);
        return new LabRuntimeOptions
        {
            Fleet = fleet,
            StateDirectory = Path.Combine(directory, "state"),
            RabbitMq = options.RabbitMq,
            Postgres = options.Postgres,
            Loggers = loggers,
            Coordinator = o =>
            {
                // Deadlines are compressed 2.5 times less than the simulated latencies: a deadline only costs time when
                // something hangs, and a busy 2-core machine running 12 sagas must not miss a 2-minute one (6 s here).
                o.TimeScale = Math.Min(1.0, scale * 2.5);
                o.WatchdogInterval = TimeSpan.FromSeconds(1);
                o.WatchdogGrace = TimeSpan.FromSeconds(1);
                // The simulated hosts reboot in 90 s (scaled): waiting the real-hardware 25 minutes for a host that
                // never comes back would make the reboot fault dominate the run; 4 minutes is still twice their reboot
                // (90 s down, 30 s xapi start) at any time scale, and the step's deadline covers it with room.
                o.HostLiveDeadline = TimeSpan.FromMinutes(4);
                o.RebootTimeout = TimeSpan.FromMinutes(5);
            },
            HostAgent = o =>
            {
                o.Dom0.CommandTimeout = Scaled(defaults.CommandTimeout, commandFloor);
                o.Dom0.VmStartTimeout = Scaled(defaults.VmStartTimeout, commandFloor);
                o.Dom0.SnapshotTimeout = Scaled(defaults.SnapshotTimeout, commandFloor);
                o.Dom0.ForcedShutdownTimeout = Scaled(defaults.ForcedShutdownTimeout, commandFloor);
                o.Dom0.EvacuateTimeout = Scaled(defaults.EvacuateTimeout, commandFloor);
                o.Dom0.RebootPollInterval = Scaled(defaults.RebootPollInterval, TimeSpan.FromMilliseconds(50));
                o.Dom0.RebootPollTimeout = Scaled(defaults.RebootPollTimeout, commandFloor);
            },
            Supervisor = o => o.PollInterval = TimeSpan.FromMilliseconds(50),
        };
    }

    private static async Task<IReadOnlyList<LabSagaReport>> RunPhaseAsync(
        LabRuntime runtime, LabRunOptions options, int phase, IReadOnlyList<LabJob> jobs, IProgress<LabProgress>? progress, CancellationToken cancellationToken)
    {
        var fleet = runtime.Fleet;
        var what = phase == 1 ? "passthrough" : "release";
        progress?.Report(new LabProgress(LabStage.Running, phase, $"submitting {jobs.Count} {what} sagas", []));
        // All at once: the plan holds at most one group per VM and each device once, so no two sagas contend for a claim.
        var accepted = await Task.WhenAll(jobs.Select(job => SubmitAsync(runtime, job, cancellationToken))).ConfigureAwait(false);
        var submittedAt = fleet.Time.GetUtcNow();
        var followed = jobs.Zip(accepted, (job, a) => new FollowedSaga(job, a.Id, a.Kind, submittedAt)).ToList();
        var deadline = fleet.Time.GetTimestamp() + (long)(options.PhaseTimeout(jobs.Count).TotalSeconds * fleet.Time.TimestampFrequency);
        var lastReported = string.Empty;
        while (true)
        {
            var open = followed.Where(f => f.View?.Outcome is null).ToList();
            var views = await Task.WhenAll(open.Select(f => runtime.GetSagaAsync(f.Id, cancellationToken))).ConfigureAwait(false);
            foreach (var (saga, view) in open.Zip(views))
            {
                saga.View = view ?? saga.View;
            }

            var statuses = followed.Select(f => f.Status(fleet)).ToList();
            var fingerprint = string.Join('|', statuses.Select(s => $"{s.State}/{s.CurrentStep}/{s.Outcome}"));
            var done = followed.All(f => f.View?.Outcome is not null);
            var late = fleet.Time.GetTimestamp() > deadline;
            if (fingerprint != lastReported || done || late)
            {
                lastReported = fingerprint;
                var finished = statuses.Count(s => s.Outcome is not null);
                progress?.Report(new LabProgress(LabStage.Running, phase, $"{finished} of {statuses.Count} {what} sagas ended", statuses));
            }

            if (done || late)
            {
                break;
            }

            await Task.Delay(options.PollInterval, fleet.Time, cancellationToken).ConfigureAwait(false);
        }

        return [.. followed.Select(f => f.Report(fleet, phase))];
    }

    private static async Task<SagaAccepted> SubmitAsync(LabRuntime runtime, LabJob job, CancellationToken cancellationToken)
    {
        var a = job.Assignment;
        IReadOnlyList<string> devices = [.. a.Devices.Select(d => d.ToString())];
        try
        {
            return job.Options is { } passthrough
                ? await runtime.SubmitPassthroughAsync(new PassthroughRequestBody(a.Host.ToString(), a.Vm.ToString(), devices, passthrough, Requester), cancellationToken).ConfigureAwait(false)
                : await runtime.SubmitReleaseAsync(new ReleaseRequestBody(a.Host.ToString(), a.Vm.ToString(), devices, AllowForcedShutdown: true, RequestedBy: Requester), cancellationToken).ConfigureAwait(false);
        }
        catch (LabApiException refused)
        {
            // The plan never asks for a claimed device or VM, so a refusal is a bug in the lab or the coordinator.
            throw new InvalidOperationException(
                $"The coordinator refused the {(job.Options is null ? "release" : "passthrough")} of {string.Join(", ", devices)} for VM {a.VmName}: {refused.Message}", refused);
        }
    }

    private static LabFleetSummary Summarise(SimulatedFleet fleet, FleetStateCapture start) => new(
        [.. fleet.Hosts.Select(h => new LabHostSummary(
            h.Name,
            h.HostId.ToString(),
            $"{h.Profile.Brand} {h.Profile.ProductVersion}",
            h.Host.Read(m => m.IommuEnabled),
            [.. h.Vms.Select(v => $"{v.Name} ({v.GuestType})")],
            [.. h.Devices.Select(d => $"{d.Address} {d.Kind} ({start[h.HostId].Functions.FirstOrDefault(f => f.Address == d.Address)?.Driver ?? "no driver"})")]))],
        fleet.Vms.Count,
        fleet.PlanAssignments().Assignments.Count);

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // A store file still closing: the directory is under the system's temp directory, which is cleaned anyway.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>One saga to submit: the assignment, the passthrough options (null: a release) and the injected fault.</summary>
    internal sealed record LabJob(PlannedAssignment Assignment, PassthroughOptionsBody? Options, string? Fault);

    private sealed class FollowedSaga(LabJob job, Guid id, SagaKind kind, DateTimeOffset submittedAt)
    {
        public Guid Id { get; } = id;

        public SagaView? View { get; set; }

        public LabSagaStatus Status(SimulatedFleet fleet)
        {
            var a = job.Assignment;
            return new LabSagaStatus(
                Id, kind, fleet.Host(a.Host).Name, a.VmName, a.GuestType, string.Join(",", a.Devices), View?.State ?? "Submitted",
                View?.Outcome is null ? View?.CurrentStep : null, View?.Outcome, View?.Cause?.Cause);
        }

        public LabSagaReport Report(SimulatedFleet fleet, int phase)
        {
            var a = job.Assignment;
            var end = View?.Outcome is null ? null : View.FinishedAt;
            return new LabSagaReport(
                Id, kind, phase, fleet.Host(a.Host).Name, a.Host.ToString(), a.VmName, a.Vm.ToString(), a.GuestType, a.Kind,
                View?.Devices is { Count: > 0 } devices ? devices : [.. a.Devices.Select(d => d.ToString())],
                job.Fault, View?.Outcome, View?.State ?? "Submitted", View?.Cause, View?.LeftForOperator ?? [],
                View?.CreatedAt ?? submittedAt, end, end is { } finished ? Milliseconds(finished - (View?.CreatedAt ?? submittedAt)) : null,
                [.. (View?.Steps ?? []).Select(s => new LabStepReport(
                    s.Step, s.Attempt, s.StartedAt, s.FinishedAt, s.FinishedAt is { } f ? Milliseconds(f - s.StartedAt) : null, s.Succeeded, s.Failure, s.Detail))]);
        }

        private static double Milliseconds(TimeSpan span) => Math.Round(span.TotalMilliseconds, 1, MidpointRounding.AwayFromZero);
    }
}

using System.Diagnostics;
using Passthrough.Contracts.Api;
using Passthrough.Contracts.CoordinatorEvents;
using Passthrough.Contracts.Messaging;
using Passthrough.Lab;
using Passthrough.Simulation;
using Passthrough.Simulation.Model;
using Passthrough.Testing;

namespace Passthrough.Bench;

/// <summary>Results of the saga measurements.</summary>
internal sealed record SagaBenchResult(
    LatencyStats HostStepRoundTrip,
    IReadOnlyDictionary<string, LatencyStats> PerStep,
    int SequentialSagas,
    int ConcurrentSagas,
    int ConcurrentHosts,
    double ConcurrentSeconds,
    double SagasPerSecond,
    int Completed);

/// <summary>
/// Saga measurements on the whole system over RabbitMQ with the durable SQLite store and zero-latency simulated hosts:
/// (1) the step round trip — the time from the coordinator recording a host step's command (just before the saga's
/// state is saved and the command leaves through the outbox) to it recording the host agent's answer (the host agent
/// having checked its SQLite command record and run the simulated dom0 commands), read from saga histories of
/// sequential assign/release pairs on one host; (2) full passthrough sagas per second, all of a fleet's planned
/// assignments submitted at once.
/// </summary>
internal static class SagaBench
{
    private static readonly SagaStep[] HostSteps =
        [SagaStep.Preflight, SagaStep.Snapshot, SagaStep.Shutdown, SagaStep.Detach, SagaStep.Assign, SagaStep.Start, SagaStep.Unassign, SagaStep.Reattach];

    public static async Task<SagaBenchResult> MeasureAsync(int sequentialPairs, int fleetHosts, CancellationToken cancellationToken)
    {
        var perStep = new Dictionary<SagaStep, List<TimeSpan>>();
        var all = new List<TimeSpan>();

        // (1) Sequential assign + release pairs on one host, one saga at a time: the step round trip with nothing queued.
        await using (var run = await BenchRun.StartAsync(hosts: 1, vmsPerHost: 2, cancellationToken).ConfigureAwait(false))
        {
            var vm = run.Fleet.Vms.First(v => v.GuestType == GuestType.HVM);
            var device = vm.Host.Devices.First(d => d.Kind == FleetDeviceKind.Nic);
            string[] devices = [device.Address.ToString()];
            for (var i = 0; i < sequentialPairs; i++)
            {
                var assign = await run.Runtime.SubmitPassthroughAsync(new PassthroughRequestBody(vm.Host.HostId.ToString(), vm.VmId.ToString(), devices, null, "bench"), cancellationToken).ConfigureAwait(false);
                await CollectAsync(run, assign.Id, perStep, all, cancellationToken).ConfigureAwait(false);
                var release = await run.Runtime.SubmitReleaseAsync(new ReleaseRequestBody(vm.Host.HostId.ToString(), vm.VmId.ToString(), devices, RequestedBy: "bench"), cancellationToken).ConfigureAwait(false);
                await CollectAsync(run, release.Id, perStep, all, cancellationToken).ConfigureAwait(false);
            }
        }

        // (2) Throughput: every planned assignment of a fleet at once.
        double seconds;
        int submitted;
        int completed;
        await using (var run = await BenchRun.StartAsync(hosts: fleetHosts, vmsPerHost: 4, cancellationToken).ConfigureAwait(false))
        {
            var plan = run.Fleet.PlanAssignments().Assignments;
            var started = Stopwatch.GetTimestamp();
            var accepted = await Task.WhenAll(plan.Select(a => run.Runtime.SubmitPassthroughAsync(
                new PassthroughRequestBody(a.Host.ToString(), a.Vm.ToString(), [.. a.Devices.Select(d => d.ToString())], null, "bench"), cancellationToken))).ConfigureAwait(false);
            var outcomes = await Task.WhenAll(accepted.Select(a => run.Runtime.WaitForOutcomeAsync(a.Id, TimeSpan.FromMinutes(5), cancellationToken))).ConfigureAwait(false);
            seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            submitted = accepted.Length;
            completed = outcomes.Count(o => o.Outcome == SagaOutcome.Completed);
        }

        return new SagaBenchResult(
            LatencyStats.From(all),
            perStep.ToDictionary(p => p.Key.ToString(), p => LatencyStats.From(p.Value)),
            sequentialPairs * 2,
            submitted,
            fleetHosts,
            seconds,
            submitted / seconds,
            completed);
    }

    private static async Task CollectAsync(BenchRun run, Guid id, Dictionary<SagaStep, List<TimeSpan>> perStep, List<TimeSpan> all, CancellationToken cancellationToken)
    {
        var saga = await run.Runtime.WaitForOutcomeAsync(id, TimeSpan.FromMinutes(2), cancellationToken).ConfigureAwait(false);
        if (saga.Outcome != SagaOutcome.Completed)
        {
            throw new InvalidOperationException($"A benchmark saga did not complete: {saga.Kind} {saga.Outcome} {saga.Cause?.Message}");
        }

        foreach (var step in saga.Steps.Where(s => HostSteps.Contains(s.Step) && s.FinishedAt is not null))
        {
            var duration = step.FinishedAt!.Value - step.StartedAt;
            all.Add(duration);
            if (!perStep.TryGetValue(step.Step, out var list))
            {
                perStep[step.Step] = list = [];
            }

            list.Add(duration);
        }
    }
}

/// <summary>
/// One <see cref="LabRuntime"/> over the broker in a RabbitMQ virtual host of its own (so no queue or stale message of
/// another run is shared) with a fresh state directory; both removed afterwards.
/// </summary>
internal sealed class BenchRun : IAsyncDisposable
{
    private readonly string _directory;

    private readonly RabbitMqVirtualHost _vhost;

    private BenchRun(SimulatedFleet fleet, LabRuntime runtime, string directory, RabbitMqVirtualHost vhost)
    {
        _vhost = vhost;
        Fleet = fleet;
        Runtime = runtime;
        _directory = directory;
    }

    public SimulatedFleet Fleet { get; }

    public LabRuntime Runtime { get; }

    public static async Task<BenchRun> StartAsync(int hosts, int vmsPerHost, CancellationToken cancellationToken)
    {
        var vhost = await RabbitMqVirtualHost.CreateAsync("bench", cancellationToken).ConfigureAwait(false);
        var directory = Directory.CreateTempSubdirectory("passthrough-bench-").FullName;
        var fleet = SimulatedFleet.Create(new FleetSpec
        {
            Hosts = hosts,
            VmsPerHost = vmsPerHost,
            Seed = 11,
            Profiles = [ProductProfile.XcpNg83],
            Latency = SimulatedLatency.None,
            InitialPowerState = VmPowerState.Running,
            WorkingDirectory = Path.Combine(directory, "guests"),
        });
        var runtime = await LabRuntime.StartAsync(new LabRuntimeOptions
        {
            Fleet = fleet,
            StateDirectory = directory,
            RabbitMq = vhost.Uri,
            Supervisor = o => o.PollInterval = TimeSpan.FromMilliseconds(20),
        }, cancellationToken).ConfigureAwait(false);
        return new BenchRun(fleet, runtime, directory, vhost);
    }

    public async ValueTask DisposeAsync()
    {
        await Runtime.DisposeAsync().ConfigureAwait(false);
        await Fleet.DisposeAsync().ConfigureAwait(false);
        Directory.Delete(_directory, recursive: true);
        await _vhost.DisposeAsync().ConfigureAwait(false);
    }
}

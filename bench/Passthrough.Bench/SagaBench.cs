using System.Diagnostics;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Passthrough.Contracts.Api;
using Passthrough.Contracts.CoordinatorEvents;
using Passthrough.Contracts.Messaging;
using Passthrough.Coordinator.Persistence;
using Passthrough.Coordinator.Sagas;
using Passthrough.Hosting;
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
    int Completed,
    IReadOnlyList<(string Segment, LatencyStats Stats)> Breakdown,
    IReadOnlyList<(string Consumer, LatencyStats Stats)> Consumers);

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

    public static async Task<SagaBenchResult> MeasureAsync(int sequentialPairs, int fleetHosts, SqliteDurability durability, CancellationToken cancellationToken)
    {
        var perStep = new Dictionary<SagaStep, List<TimeSpan>>();
        var all = new List<TimeSpan>();
        var segments = new Dictionary<string, List<TimeSpan>>(StringComparer.Ordinal);
        IReadOnlyList<(string, LatencyStats)> consumers;

        // (1) Sequential assign + release pairs on one host, one saga at a time: the step round trip with nothing queued.
        await using (var run = await BenchRun.StartAsync(hosts: 1, vmsPerHost: 2, durability, cancellationToken).ConfigureAwait(false))
        {
            var vm = run.Fleet.Vms.First(v => v.GuestType == GuestType.HVM);
            var device = vm.Host.Devices.First(d => d.Kind == FleetDeviceKind.Nic);
            string[] devices = [device.Address.ToString()];
            var bus = run.Runtime.Services.GetRequiredService<IBus>();
            var timeline = new StepTimeline();
            using var consumeObserver = bus.ConnectConsumeObserver(timeline);
            using var sendObserver = bus.ConnectSendObserver(timeline);
            using var publishObserver = bus.ConnectPublishObserver(timeline);
            for (var i = 0; i < sequentialPairs; i++)
            {
                var assign = await run.Runtime.SubmitPassthroughAsync(new PassthroughRequestBody(vm.Host.HostId.ToString(), vm.VmId.ToString(), devices, null, "bench"), cancellationToken).ConfigureAwait(false);
                await CollectAsync(run, assign.Id, perStep, all, timeline, segments, cancellationToken).ConfigureAwait(false);
                var release = await run.Runtime.SubmitReleaseAsync(new ReleaseRequestBody(vm.Host.HostId.ToString(), vm.VmId.ToString(), devices, RequestedBy: "bench"), cancellationToken).ConfigureAwait(false);
                await CollectAsync(run, release.Id, perStep, all, timeline, segments, cancellationToken).ConfigureAwait(false);
            }

            consumers = [.. timeline.Consumes.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => (c.Key, LatencyStats.From(c.Value)))];
        }

        // (2) Throughput: every planned assignment of a fleet at once.
        double seconds;
        int submitted;
        int completed;
        await using (var run = await BenchRun.StartAsync(hosts: fleetHosts, vmsPerHost: 4, durability, cancellationToken).ConfigureAwait(false))
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
            completed,
            [.. SegmentNames.Where(segments.ContainsKey).Select(name => (name, LatencyStats.From(segments[name])))],
            consumers);
    }

    /// <summary>The segments of a step round trip, in order; they add up to the step's time.</summary>
    private static readonly string[] SegmentNames =
    [
        "1 coordinator: step decided -> command handed to the transport (saga saved, outbox released)",
        "2 command: send -> host agent consume starts (broker, prefetch, endpoint queueing)",
        "3 host agent: consume starts -> reply publish starts (record lookup + started row, dom0, completed row)",
        "4 reply: publish starts -> saga consume starts (confirm, broker, saga endpoint)",
        "5 coordinator: saga consume starts -> reply recorded (load + deserialise the saga)",
        "  (after the step: reply recorded -> saga consume ends: save, outbox sends of the next command, events, deadline)",
    ];

    private static async Task CollectAsync(BenchRun run, Guid id, Dictionary<SagaStep, List<TimeSpan>> perStep, List<TimeSpan> all,
        StepTimeline timeline, Dictionary<string, List<TimeSpan>> segments, CancellationToken cancellationToken)
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

        // The command ids are in the stored history (the API view leaves them out).
        var stored = await run.Runtime.Services.GetRequiredService<ISagaStateReader<PassthroughSagaState>>().GetAsync(id, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"Saga {id} is not in the store.");
        foreach (var record in stored.Instance.History.Where(r => HostSteps.Contains(r.Step) && r.FinishedAt is not null))
        {
            if (timeline.Find(record.CommandId) is not
                {
                    CommandSendStart: { } send, AgentConsumeStart: { } agent, ReplyPublishStart: { } reply, SagaConsumeStart: { } sagaIn,
                } stamps)
            {
                continue;
            }

            var finished = record.FinishedAt!.Value;
            TimeSpan[] parts = [send - record.StartedAt, agent - send, reply - agent, sagaIn - reply, finished - sagaIn];
            for (var i = 0; i < parts.Length; i++)
            {
                Add(segments, SegmentNames[i], parts[i]);
            }

            if (stamps.SagaConsumeEnd is { } sagaOut)
            {
                Add(segments, SegmentNames[5], sagaOut - finished);
            }
        }
    }

    private static void Add(Dictionary<string, List<TimeSpan>> segments, string name, TimeSpan value)
    {
        if (!segments.TryGetValue(name, out var list))
        {
            segments[name] = list = [];
        }

        list.Add(value);
    }
}

/// <summary>
/// One <see cref="LabRuntime"/> over the broker in a RabbitMQ virtual host of its own (so no queue or stale message of
/// another run is shared) with a fresh state directory; both removed afterwards.
/// </summary>
internal sealed class BenchRun : IAsyncDisposable
{
    // MassTransit keeps the first bus's logger factory in a static: every runtime of this process must share one, or
    // the second runtime's bus asks the first one's disposed factory for loggers.
    private static readonly Microsoft.Extensions.Logging.ILoggerFactory Loggers = Microsoft.Extensions.Logging.LoggerFactory.Create(_ => { });

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

    public static async Task<BenchRun> StartAsync(int hosts, int vmsPerHost, SqliteDurability durability, CancellationToken cancellationToken)
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
            Loggers = Loggers,
            Store = store => store.SqliteDurability = durability,
            HostAgent = agent => agent.CommandRecordDurability = durability,
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

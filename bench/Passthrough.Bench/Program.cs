using System.Globalization;
using System.Text.Json;
using Passthrough.Bench;
using Passthrough.Testing;

// Saga step round trip vs a raw RabbitMQ.Client round trip, and full sagas per second (issue 5's first benchmark).
// Needs the broker the tests use (PASSTHROUGH_TEST_RABBITMQ, default amqp://guest:guest@127.0.0.1:5672/) and root for
// rabbitmqctl (each measurement runs in a throwaway virtual host).
var arguments = BenchArguments.Parse(args);
using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(20));

double raw50;
LatencyStats raw;
await using (var vhost = await RabbitMqVirtualHost.CreateAsync("bench-raw", cancel.Token))
{
    raw = await RawRabbitRoundTrip.MeasureAsync(vhost.Uri, warmup: 200, samples: arguments.RawSamples, cancel.Token);
    raw50 = raw.P50;
}

var (agentAlone, agentDom0) = await HostAgentRoundTrip.MeasureAsync(200, arguments.Durability, cancel.Token);
var sagas = await SagaBench.MeasureAsync(arguments.Pairs, arguments.FleetHosts, arguments.Durability, cancel.Token);
var ratio = sagas.HostStepRoundTrip.P50 / raw50;

var inv = CultureInfo.InvariantCulture;
Console.WriteLine();
Console.WriteLine($"SQLite durability of the saga store and the command record: {arguments.Durability} (synchronous = {arguments.Durability.ToString().ToUpperInvariant()})");
Console.WriteLine("| round trip (one outstanding) | n | p50 ms | p90 ms | p99 ms | max ms |");
Console.WriteLine("|---|---:|---:|---:|---:|---:|");
Row("raw RabbitMQ.Client: persistent publish + confirm, manual-ack consume, reply the same way", raw);
Row("saga step: coordinator -> host agent -> coordinator (SQLite store, zero-latency host)", sagas.HostStepRoundTrip);
Row("host agent alone: RestoreVmPciKey sent to its queue -> reply (no coordinator)", agentAlone);
Row("  of which simulated dom0 commands", agentDom0);
foreach (var (step, stats) in sagas.PerStep.OrderBy(p => p.Key, StringComparer.Ordinal))
{
    Row($"  step {step}", stats);
}

Console.WriteLine();
Console.WriteLine("Where one step's time goes (sequential sagas, medians are per segment and need not add up to the step's median):");
Console.WriteLine("| segment | n | p50 ms | p90 ms | p99 ms | max ms |");
Console.WriteLine("|---|---:|---:|---:|---:|---:|");
foreach (var (segment, stats) in sagas.Breakdown)
{
    Row(segment, stats);
}

Console.WriteLine();
Console.WriteLine("Consumer time per message (sequential sagas):");
Console.WriteLine("| endpoint: message | n | p50 ms | p90 ms | p99 ms | max ms |");
Console.WriteLine("|---|---:|---:|---:|---:|---:|");
foreach (var (consumer, stats) in sagas.Consumers)
{
    Row(consumer, stats);
}

Console.WriteLine();
Console.WriteLine(string.Create(inv, $"step p50 / raw p50 = {ratio:0.00} (target <= 2.00: {(ratio <= 2.0 ? "met" : $"MISSED by {(ratio - 2.0) * raw50:0.000} ms per step")})"));
Console.WriteLine(string.Create(inv, $"throughput: {sagas.ConcurrentSagas} passthrough sagas on {sagas.ConcurrentHosts} hosts at once: {sagas.Completed} completed in {sagas.ConcurrentSeconds:0.00} s = {sagas.SagasPerSecond:0.0} sagas/s"));

var report = new
{
    measuredAt = DateTimeOffset.UtcNow,
    sqliteDurability = arguments.Durability.ToString(),
    machine = new { Environment.ProcessorCount, os = System.Runtime.InteropServices.RuntimeInformation.OSDescription },
    raw,
    sagaStep = sagas.HostStepRoundTrip,
    perStep = sagas.PerStep,
    breakdown = sagas.Breakdown.ToDictionary(b => b.Segment, b => b.Stats),
    consumers = sagas.Consumers.ToDictionary(c => c.Consumer, c => c.Stats),
    hostAgentAlone = agentAlone,
    hostAgentDom0 = agentDom0,
    stepP50OverRawP50 = ratio,
    targetMet = ratio <= 2.0,
    throughput = new { sagas = sagas.ConcurrentSagas, hosts = sagas.ConcurrentHosts, completed = sagas.Completed, seconds = sagas.ConcurrentSeconds, sagasPerSecond = sagas.SagasPerSecond },
    sequentialSagas = sagas.SequentialSagas,
};
Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(arguments.JsonPath))!);
await File.WriteAllTextAsync(arguments.JsonPath, JsonSerializer.Serialize(report, new JsonSerializerOptions(JsonSerializerDefaults.Web) { WriteIndented = true }), cancel.Token);
Console.WriteLine($"JSON: {Path.GetFullPath(arguments.JsonPath)}");
return 0;

void Row(string name, LatencyStats s) =>
    Console.WriteLine(string.Create(inv, $"| {name} | {s.Count} | {LatencyStats.Ms(s.P50)} | {LatencyStats.Ms(s.P90)} | {LatencyStats.Ms(s.P99)} | {LatencyStats.Ms(s.Max)} |"));

using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Passthrough.Cli.Output;
using Passthrough.Contracts.CoordinatorEvents;
using Passthrough.Lab.Runs;
using Spectre.Console;

namespace Passthrough.Cli.Commands;

/// <summary>
/// <c>passthrough lab</c>: the whole system in this process on a simulated fleet (<see cref="LabRun"/>), with live
/// progress, a summary table and a report (JSON and a Markdown twin). Exit codes: <see cref="ExitCodes.Ok"/> when every
/// invariant held, <see cref="ExitCodes.InvariantFailed"/> when one did not, <see cref="ExitCodes.Usage"/> for bad options.
/// </summary>
internal static class LabCommand
{
    // LabRunOptions names its properties in its problems; the operator typed options.
    private static readonly (string Property, string Option)[] OptionNames =
    [
        (nameof(LabRunOptions.Hosts), "--hosts"),
        (nameof(LabRunOptions.VmsPerHost), "--vms"),
        (nameof(LabRunOptions.TimeScale), "--time-scale"),
        (nameof(LabRunOptions.RabbitMq), "--rabbitmq"),
        (nameof(LabRunOptions.Postgres), "--postgres"),
        (nameof(LabRunOptions.Scenario), "--scenario"),
    ];

    public static Command Build(CliEnvironment environment)
    {
        var scenario = new Option<string>("--scenario") { Description = "fleet (default: every planned passthrough, one injected fault), assign, faults or release", DefaultValueFactory = _ => "fleet" };
        var hosts = new Option<int>("--hosts") { Description = "simulated hosts (default 3; faults needs at least 3)", DefaultValueFactory = _ => 3 };
        var vms = new Option<int>("--vms") { Description = "VMs per host, PV and HVM alternating (default 4)", DefaultValueFactory = _ => 4 };
        var seed = new Option<long>("--seed") { Description = "fixes every uuid and the assignment plan (default 1)", DefaultValueFactory = _ => 1 };
        var timeScale = new Option<double>("--time-scale") { Description = "compresses real durations: 1 is real time (default 0.02)", DefaultValueFactory = _ => LabRunOptions.DefaultTimeScale };
        var rabbitMq = new Option<string?>("--rabbitmq") { Description = "run on this RabbitMQ broker (amqp://user:password@host/vhost) instead of the in-memory bus" };
        var postgres = new Option<string?>("--postgres") { Description = "keep sagas in this PostgreSQL database instead of SQLite" };
        var reportPath = new Option<string?>("--report") { Description = "where to write the JSON report (a .md twin goes beside it); default artifacts/lab/lab-report-<time>.json" };
        var noFault = new Option<bool>("--no-fault") { Description = "fleet and release scenarios: inject no fault" };
        var output = OutputOptions.Create();
        var command = new Command("lab", "Run the whole system on a simulated fleet in this process: coordinator, host and guest agents, sagas, invariants, report.");
        foreach (var option in new Option[] { scenario, hosts, vms, seed, timeScale, rabbitMq, postgres, reportPath, noFault, output })
        {
            command.Options.Add(option);
        }

        command.SetAction(async (parse, cancellationToken) =>
        {
            LabRunOptions options;
            try
            {
                options = new LabRunOptions
                {
                    Scenario = Scenario(parse.GetValue(scenario)),
                    Hosts = parse.GetValue(hosts),
                    VmsPerHost = parse.GetValue(vms),
                    Seed = parse.GetValue(seed),
                    TimeScale = parse.GetValue(timeScale),
                    RabbitMq = Broker(parse.GetValue(rabbitMq)),
                    Postgres = parse.GetValue(postgres),
                    InjectFault = !parse.GetValue(noFault),
                };
                var problems = options.Problems();
                if (problems.Count > 0)
                {
                    throw new FormatException(string.Join(" ", problems.Select(ForOperator)));
                }
            }
            catch (FormatException invalid)
            {
                return await Failures.ReportAsync(invalid, environment.Error);
            }

            var json = parse.GetValue(output) == OutputFormat.Json;
            var path = parse.GetValue(reportPath) ?? LabReportWriter.DefaultPath(Environment.CurrentDirectory, environment.Time.GetUtcNow());
            try
            {
                var report = json
                    ? await LabRun.RunAsync(options, null, null, cancellationToken)
                    : environment.Interactive
                        ? await RunLiveAsync(environment, options, cancellationToken)
                        : await LabRun.RunAsync(options, new PlainProgress(environment), null, cancellationToken);
                var (jsonPath, markdownPath) = await LabReportWriter.WriteAsync(report, path, cancellationToken);
                if (json)
                {
                    await environment.Out.WriteLineAsync(JsonSerializer.Serialize(report, LabReportWriter.Json));
                }
                else
                {
                    WriteSummary(environment, report);
                    await environment.Out.WriteLineAsync($"report: {jsonPath}");
                    await environment.Out.WriteLineAsync($"markdown: {markdownPath}");
                }

                return ExitCode(report);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                return await Failures.ReportAsync(exception, environment.Error);
            }
        });
        return command;
    }

    /// <summary>0 when every invariant held, <see cref="ExitCodes.InvariantFailed"/> otherwise.</summary>
    public static int ExitCode(LabReport report) => report.Passed ? ExitCodes.Ok : ExitCodes.InvariantFailed;

    private static LabScenario Scenario(string? text) => text switch
    {
        "fleet" => LabScenario.Fleet,
        "assign" => LabScenario.Assign,
        "faults" => LabScenario.Faults,
        "release" => LabScenario.Release,
        _ => throw new FormatException($"--scenario '{text}' is not one of fleet, assign, faults, release."),
    };

    private static Uri? Broker(string? text) =>
        text is null ? null
        : Uri.TryCreate(text, UriKind.Absolute, out var uri) ? uri
        : throw new FormatException($"--rabbitmq '{text}' is not an absolute URL (amqp://user:password@host:5672/vhost).");

    private static string ForOperator(string problem)
    {
        foreach (var (property, option) in OptionNames)
        {
            if (problem.StartsWith(property + " ", StringComparison.Ordinal))
            {
                return option + problem[property.Length..];
            }
        }

        return problem;
    }

    private static async Task<LabReport> RunLiveAsync(CliEnvironment environment, LabRunOptions options, CancellationToken cancellationToken)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(environment.Out) });
        LabReport? report = null;
        await console.Live(new Markup("[grey]starting the lab…[/]")).AutoClear(false).StartAsync(async context =>
        {
            // Progress arrives on the run's threads; the live display redraws on its own timer, so only swap its target.
            var progress = new CallbackProgress(p => context.UpdateTarget(LiveTable(p)));
            report = await LabRun.RunAsync(options, progress, null, cancellationToken);
        });
        return report!;
    }

    private static Table LiveTable(LabProgress progress)
    {
        var table = new Table().Border(TableBorder.Rounded).Title(Markup.Escape($"{progress.Stage}: {progress.Message}"));
        foreach (var header in new[] { "host", "VM", "guest", "devices", "kind", "step", "outcome" })
        {
            table.AddColumn(header);
        }

        foreach (var saga in progress.Sagas)
        {
            table.AddRow(
                Markup.Escape(saga.HostName), Markup.Escape(saga.VmName), saga.GuestType.ToString(), Markup.Escape(saga.Devices), saga.Kind.ToString(),
                saga.CurrentStep?.ToString() ?? (saga.Outcome is null ? Markup.Escape(saga.State) : "-"),
                Outcome(saga.Outcome, saga.Cause?.ToString()));
        }

        return table;
    }

    private static string Outcome(SagaOutcome? outcome, string? cause) => outcome switch
    {
        SagaOutcome.Completed => "[green]Completed[/]",
        SagaOutcome.RolledBack => $"[yellow]RolledBack[/] {Markup.Escape(cause ?? string.Empty)}",
        SagaOutcome.RollbackFailed => $"[red]RollbackFailed[/] {Markup.Escape(cause ?? string.Empty)}",
        _ => "[grey]running[/]",
    };

    private static void WriteSummary(CliEnvironment environment, LabReport report)
    {
        var o = report.Options;
        var t = report.Totals;
        var writer = environment.Out;
        writer.WriteLine();
        writer.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"lab {o.Scenario.ToString().ToLowerInvariant()}: {o.Hosts} hosts x {o.VmsPerHost} VMs, seed {o.Seed}, time scale {o.TimeScale}, {o.Bus} bus, {o.Store} store, {report.WallTimeMs / 1000:0.0} s"));
        var sagas = new TextTable("HOST", "VM", "GUEST", "KIND", "DEVICES", "OUTCOME", "CAUSE", "STEPS", "DURATION");
        foreach (var saga in report.Sagas)
        {
            sagas.AddRow(
                saga.HostName, saga.VmName, saga.GuestType.ToString(), saga.Kind.ToString(), $"{saga.DeviceKind} {string.Join(",", saga.Devices)}",
                saga.Outcome?.ToString() ?? $"unfinished ({saga.State})", saga.Cause?.Cause.ToString() ?? "-",
                saga.Steps.Count.ToString(CultureInfo.InvariantCulture),
                saga.DurationMs is { } ms ? string.Create(CultureInfo.InvariantCulture, $"{ms / 1000:0.00} s") : "-");
        }

        sagas.WriteTo(writer);
        writer.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{t.Sagas} sagas: {t.Completed} Completed, {t.RolledBack} RolledBack, {t.RollbackFailed} RollbackFailed, {t.Unfinished} unfinished"));
        writer.WriteLine();
        foreach (var invariant in report.Invariants)
        {
            writer.WriteLine($"{(invariant.Passed ? "PASS" : "FAIL")}  {invariant.Name}");
            foreach (var detail in invariant.Details)
            {
                writer.WriteLine($"      {detail}");
            }
        }
    }

    // Plain progress for pipes, logs and tests: one line per stage and per saga step change, nothing redrawn.
    private sealed class PlainProgress(CliEnvironment environment) : IProgress<LabProgress>
    {
        private readonly Lock _gate = new();
        private readonly Dictionary<Guid, string> _seen = [];
        private string? _stage;

        public void Report(LabProgress value)
        {
            lock (_gate)
            {
                var clock = environment.Time.GetUtcNow().UtcDateTime.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture);
                var stage = $"{value.Stage}/{value.Phase}";
                if (value.Sagas.Count == 0 || stage != _stage)
                {
                    _stage = stage;
                    environment.Out.WriteLine($"{clock}  {value.Message}");
                }

                foreach (var saga in value.Sagas)
                {
                    var now = saga.Outcome is { } outcome ? $"{outcome}{(saga.Cause is { } cause ? $" ({cause})" : string.Empty)}" : saga.CurrentStep?.ToString() ?? saga.State;
                    if (_seen.GetValueOrDefault(saga.Id) != now)
                    {
                        _seen[saga.Id] = now;
                        environment.Out.WriteLine($"{clock}  {saga.VmName,-20} {saga.Kind,-11} {now}");
                    }
                }
            }
        }
    }

    private sealed class CallbackProgress(Action<LabProgress> report) : IProgress<LabProgress>
    {
        public void Report(LabProgress value) => report(value);
    }
}

using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Passthrough.Contracts.Messaging;

namespace Passthrough.Lab.Runs;

/// <summary>Writes a <see cref="LabReport"/> as JSON and, beside it, a Markdown twin with the same facts as tables.</summary>
public static class LabReportWriter
{
    /// <summary>The JSON settings of the report (camelCase, enums as names, indented); also what reads it back.</summary>
    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>The default report path under <paramref name="root"/>: <c>artifacts/lab/lab-report-yyyyMMdd-HHmmss.json</c> (UTC).</summary>
    public static string DefaultPath(string root, DateTimeOffset now) =>
        Path.Combine(root, "artifacts", "lab", $"lab-report-{now.UtcDateTime.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}.json");

    /// <summary>The Markdown twin's path: <paramref name="jsonPath"/> with the extension <c>.md</c>.</summary>
    public static string MarkdownPath(string jsonPath) => Path.ChangeExtension(jsonPath, ".md");

    /// <summary>Writes the JSON report to <paramref name="jsonPath"/> and its Markdown twin beside it (creating the directory); returns both paths.</summary>
    public static async Task<(string Json, string Markdown)> WriteAsync(LabReport report, string jsonPath, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentException.ThrowIfNullOrWhiteSpace(jsonPath);
        var full = Path.GetFullPath(jsonPath);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        await File.WriteAllTextAsync(full, JsonSerializer.Serialize(report, Json) + "\n", cancellationToken).ConfigureAwait(false);
        var markdown = MarkdownPath(full);
        await File.WriteAllTextAsync(markdown, ToMarkdown(report), cancellationToken).ConfigureAwait(false);
        return (full, markdown);
    }

    /// <summary>Reads a report written by <see cref="WriteAsync"/>.</summary>
    public static LabReport Read(string json) =>
        JsonSerializer.Deserialize<LabReport>(json, Json) ?? throw new FormatException("The lab report is empty.");

    /// <summary>The Markdown twin: options, fleet, outcomes, invariants, then every saga's steps.</summary>
    public static string ToMarkdown(LabReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var md = new StringBuilder();
        var o = report.Options;
        md.AppendLine(Invariant($"# Lab report: {o.Scenario} scenario, {(report.Passed ? "every invariant held" : "AN INVARIANT FAILED")}"));
        md.AppendLine();
        md.AppendLine(Invariant($"{o.Hosts} hosts × {o.VmsPerHost} VMs, seed {o.Seed}, time scale {o.TimeScale}, injected fault {(o.InjectFault ? "on" : "off")}, {o.Bus} bus, {o.Store} store; ") +
                      Invariant($"started {Time(report.StartedAt)}, wall time {report.WallTimeMs / 1000:0.0} s."));
        md.AppendLine();
        var t = report.Totals;
        md.AppendLine(Invariant($"**{t.Sagas} sagas**: {t.Completed} Completed, {t.RolledBack} RolledBack, {t.RollbackFailed} RollbackFailed, {t.Unfinished} unfinished."));
        md.AppendLine();
        md.AppendLine("## Invariants");
        md.AppendLine();
        Table(md, ["invariant", "result", "details"], report.Invariants.Select(i => new[] { i.Name, i.Passed ? "passed" : "**FAILED**", string.Join("<br>", i.Details) }));
        md.AppendLine();
        md.AppendLine("## Sagas");
        md.AppendLine();
        Table(md, ["saga", "kind", "host", "VM", "guest", "devices", "fault injected", "outcome", "cause", "duration"], report.Sagas.Select(s => new[]
        {
            s.Id.ToString("D")[..8], s.Kind.ToString(), s.HostName, s.VmName, s.GuestType.ToString(), $"{s.DeviceKind} {string.Join(", ", s.Devices)}",
            s.InjectedFault ?? "-", s.Outcome?.ToString() ?? $"**unfinished** ({s.State})", s.Cause is { } c ? $"{c.Cause}: {c.Message}" : "-", Seconds(s.DurationMs),
        }));
        md.AppendLine();
        md.AppendLine("## Fleet");
        md.AppendLine();
        Table(md, ["host", "product", "IOMMU", "VMs", "devices"], report.Fleet.Hosts.Select(h => new[]
        {
            $"{h.Name} ({h.Id})", h.Product, h.Iommu ? "on" : "off", string.Join("<br>", h.Vms), string.Join("<br>", h.Devices),
        }));
        foreach (var saga in report.Sagas)
        {
            md.AppendLine();
            md.AppendLine(Invariant($"### {saga.Kind} {saga.Id:D}: {saga.VmName}, {saga.Outcome?.ToString() ?? "unfinished"}"));
            md.AppendLine();
            foreach (var left in saga.LeftForOperator)
            {
                md.AppendLine($"- left for an operator: {Cell(left)}");
            }

            Table(md, ["step", "attempt", "started", "duration", "result", "failure / detail"], saga.Steps.Select(s => new[]
            {
                s.Step.ToString(), s.Attempt.ToString(CultureInfo.InvariantCulture), Time(s.StartedAt), Seconds(s.DurationMs),
                s.Succeeded switch { true => "ok", false => "failed", null => "running" }, s.Failure is { } f ? Describe(f) : s.Detail ?? "-",
            }));
        }

        return md.ToString();
    }

    private static void Table(StringBuilder md, string[] headers, IEnumerable<string[]> rows)
    {
        md.AppendLine("| " + string.Join(" | ", headers) + " |");
        md.AppendLine("|" + string.Concat(headers.Select(_ => "---|")));
        foreach (var row in rows)
        {
            md.AppendLine("| " + string.Join(" | ", row.Select(Cell)) + " |");
        }
    }

    // A pipe or a line break inside a cell would end it.
    private static string Cell(string text) => text.ReplaceLineEndings(" ").Replace("|", "\\|", StringComparison.Ordinal);

    private static string Describe(Failure failure) => $"{failure.Cause}: {failure.Message}";

    private static string Seconds(double? milliseconds) => milliseconds is { } ms ? Invariant($"{ms / 1000:0.000} s") : "-";

    private static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

using System.Globalization;
using Passthrough.Contracts.Api;
using Passthrough.Contracts.CoordinatorEvents;
using Passthrough.Contracts.Messaging;

namespace Passthrough.Cli.Output;

/// <summary>How sagas read in a terminal: the list, one saga's details, and the live lines of <c>watch</c>.</summary>
internal static class SagaText
{
    public static void WriteList(SagaPage page, TextWriter writer)
    {
        if (page.Items.Count == 0)
        {
            writer.WriteLine(page.Skip == 0 ? "No sagas yet." : $"No sagas after the first {page.Skip}.");
            return;
        }

        var table = new TextTable("ID", "KIND", "HOST", "VM", "DEVICES", "STATE / STEP", "OUTCOME", "UPDATED");
        foreach (var saga in page.Items)
        {
            table.AddRow(
                saga.Id.ToString("D"),
                saga.Kind.ToString(),
                saga.Host,
                saga.Vm,
                string.Join(",", saga.Devices),
                StateAndStep(saga),
                saga.Outcome?.ToString() ?? "-",
                Time(saga.UpdatedAt));
        }

        table.WriteTo(writer);
    }

    public static void WriteDetail(SagaView saga, TextWriter writer)
    {
        writer.WriteLine($"Saga        {saga.Id:D} ({saga.Kind})");
        writer.WriteLine($"Host        {saga.Host}");
        writer.WriteLine($"VM          {saga.Vm}");
        writer.WriteLine($"Devices     {(saga.Devices.Count == 0 ? "-" : string.Join(", ", saga.Devices))}");
        writer.WriteLine($"State       {StateAndStep(saga)}");
        writer.WriteLine($"Outcome     {saga.Outcome?.ToString() ?? "running"}");
        if (saga.Cause is { } cause)
        {
            writer.WriteLine($"Cause       {Describe(cause)}");
        }

        writer.WriteLine($"Created     {Time(saga.CreatedAt)}; updated {Time(saga.UpdatedAt)}{(saga.FinishedAt is { } finished ? $"; finished {Time(finished)}" : string.Empty)}");
        writer.WriteLine();
        var table = new TextTable("STEP", "ATTEMPT", "STARTED", "DURATION", "RESULT", "FAILURE / DETAIL");
        foreach (var step in saga.Steps)
        {
            table.AddRow(
                step.Step.ToString(),
                step.Attempt.ToString(CultureInfo.InvariantCulture),
                Time(step.StartedAt),
                step.FinishedAt is { } end ? Duration(end - step.StartedAt) : "-",
                Result(step),
                step.Failure is { } failure ? Describe(failure) : step.Detail ?? "-");
        }

        table.WriteTo(writer);
        WriteLeftForOperator(saga, writer);
    }

    /// <summary>The line of a step that started: <c>12:00:01.250  start   Detach (attempt 1)</c>.</summary>
    public static string Started(SagaStepView step) =>
        $"{Clock(step.StartedAt)}  start   {step.Step}{Attempt(step)}";

    /// <summary>The line of a step that finished: its result, duration, and failure or detail.</summary>
    public static string Finished(SagaStepView step, DateTimeOffset finishedAt)
    {
        var line = $"{Clock(finishedAt)}  {(step.Succeeded == true ? "done  " : "FAILED")}  {step.Step}{Attempt(step)} in {Duration(finishedAt - step.StartedAt)}";
        if (step.Failure is { } failure)
        {
            return line + ": " + Describe(failure);
        }

        return step.Detail is { Length: > 0 } detail ? line + ": " + detail : line;
    }

    /// <summary>The closing lines of a finished saga: outcome, cause, what is left for a person.</summary>
    public static void WriteOutcome(SagaView saga, TextWriter writer)
    {
        var outcome = saga.Outcome switch
        {
            SagaOutcome.Completed => "Completed",
            SagaOutcome.RolledBack => "RolledBack: every change was undone",
            SagaOutcome.RollbackFailed => "RollbackFailed: the rollback did not finish; a person must act",
            _ => "running",
        };
        writer.WriteLine($"outcome: {outcome}");
        if (saga.Cause is { } cause)
        {
            writer.WriteLine($"cause: {Describe(cause)}");
        }

        WriteLeftForOperator(saga, writer);
    }

    public static string Describe(Failure failure)
    {
        var text = $"{failure.Cause}: {failure.Message}";
        if (failure.OriginalText is { Length: > 0 } original && !failure.Message.Contains(original, StringComparison.Ordinal))
        {
            text += $" (toolstack: {original})";
        }

        return failure.FixHint is { Length: > 0 } hint ? text + $" (fix: {hint})" : text;
    }

    private static void WriteLeftForOperator(SagaView saga, TextWriter writer)
    {
        foreach (var item in saga.LeftForOperator)
        {
            writer.WriteLine($"left for operator: {item}");
        }
    }

    private static string StateAndStep(SagaView saga) => saga.CurrentStep is { } step ? $"{saga.State} ({step})" : saga.State;

    private static string Result(SagaStepView step) => step.Succeeded switch
    {
        true => "ok",
        false => "failed",
        null => "running",
    };

    private static string Attempt(SagaStepView step) =>
        step.Attempt > 1 ? string.Create(CultureInfo.InvariantCulture, $" (attempt {step.Attempt})") : string.Empty;

    private static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string Clock(DateTimeOffset at) => at.UtcDateTime.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture);

    private static string Duration(TimeSpan duration) =>
        duration < TimeSpan.Zero ? "-"
        : duration < TimeSpan.FromMinutes(1) ? string.Create(CultureInfo.InvariantCulture, $"{duration.TotalSeconds:0.000} s")
        : string.Create(CultureInfo.InvariantCulture, $"{(int)duration.TotalMinutes} min {duration.Seconds} s");
}

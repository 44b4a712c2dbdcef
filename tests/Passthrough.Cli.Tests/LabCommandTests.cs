using System.Text.Json;
using Passthrough.Cli.Commands;
using Passthrough.Lab.Runs;

namespace Passthrough.Cli.Tests;

// `passthrough lab`: option checks before anything starts, a whole (small) run in plain-line mode, and the exit codes.
public sealed class LabCommandTests : IDisposable
{
    private readonly StringWriter _out = new();
    private readonly StringWriter _error = new();

    public void Dispose()
    {
        _out.Dispose();
        _error.Dispose();
    }

    private Task<int> RunAsync(params string[] args) =>
        CliApplication.RunAsync(args, new CliEnvironment(_out, _error, _ => throw new InvalidOperationException("the lab opens no runner"), TimeProvider.System));

    [Theory]
    [InlineData("--hosts", "0", "--hosts must be between 1 and 50, not 0.")]
    [InlineData("--vms", "17", "--vms must be between 1 and 16, not 17.")]
    [InlineData("--time-scale", "0", "--time-scale must be more than 0 and at most 1 (1 is real time), not 0.")]
    [InlineData("--scenario", "everything", "--scenario 'everything' is not one of fleet, assign, faults, release.")]
    [InlineData("--rabbitmq", "http://127.0.0.1:15672", "--rabbitmq must be an absolute amqp:// or amqps:// URL, not 'http://127.0.0.1:15672/'.")]
    [InlineData("--rabbitmq", "broker", "--rabbitmq 'broker' is not an absolute URL (amqp://user:password@host:5672/vhost).")]
    public async Task Invalid_options_are_refused_naming_the_option_before_anything_starts(string option, string value, string message)
    {
        var code = await RunAsync("lab", option, value);

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains(message, _error.ToString(), StringComparison.Ordinal);
        Assert.Empty(_out.ToString());
    }

    [Fact]
    public async Task Faults_scenario_needs_three_hosts()
    {
        var code = await RunAsync("lab", "--scenario", "faults", "--hosts", "2");

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("--hosts must be at least 3 for the faults scenario (one host per fault), not 2.", _error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Assign_scenario_prints_progress_a_summary_and_writes_both_reports()
    {
        var directory = Directory.CreateTempSubdirectory("passthrough-cli-lab-").FullName;
        try
        {
            var path = Path.Combine(directory, "lab.json");

            var code = await RunAsync("lab", "--scenario", "assign", "--hosts", "1", "--vms", "2", "--report", path);

            var text = _out.ToString();
            Assert.True(code == ExitCodes.Ok, text + _error);
            // The plan gives the first group (the GPU and its audio) to the first HVM VM; steps seen while polling depend on timing.
            Assert.Contains("lab-001-vm02-hvm     Passthrough Completed", text, StringComparison.Ordinal);
            Assert.Contains("1 sagas: 1 Completed, 0 RolledBack, 0 RollbackFailed, 0 unfinished", text, StringComparison.Ordinal);
            Assert.Contains("PASS  no-device-half-assigned", text, StringComparison.Ordinal);
            Assert.Contains($"report: {path}", text, StringComparison.Ordinal);
            Assert.Contains($"markdown: {Path.ChangeExtension(path, ".md")}", text, StringComparison.Ordinal);
            using var report = JsonDocument.Parse(await File.ReadAllTextAsync(path, TestContext.Current.CancellationToken));
            Assert.Equal("Completed", Assert.Single(report.RootElement.GetProperty("sagas").EnumerateArray()).GetProperty("outcome").GetString());
            Assert.True(File.Exists(Path.ChangeExtension(path, ".md")));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void A_failed_invariant_gives_its_own_exit_code()
    {
        LabReport Report(bool passed) => new(
            new LabReportOptions(LabScenario.Fleet, 1, 1, 1, 0.02, true, "in-memory", "sqlite"),
            new LabFleetSummary([], 1, 1),
            [],
            [new LabInvariant(LabInvariants.SagasEnded, "ended", true, []), new LabInvariant(LabInvariants.NoDeviceHalfAssigned, "whole", passed, [])],
            new LabTotals(0, 0, 0, 0, 0),
            DateTimeOffset.UnixEpoch,
            DateTimeOffset.UnixEpoch,
            0);

        Assert.Equal(ExitCodes.Ok, LabCommand.ExitCode(Report(passed: true)));
        Assert.Equal(ExitCodes.InvariantFailed, LabCommand.ExitCode(Report(passed: false)));
        Assert.NotEqual(ExitCodes.Ok, ExitCodes.InvariantFailed);
    }
}

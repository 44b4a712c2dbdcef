using System.Text.Json;
using Passthrough.Contracts.CoordinatorEvents;
using Passthrough.Contracts.Messaging;
using Passthrough.Lab.Runs;

namespace Passthrough.Lab.Tests;

/// <summary>Whole lab runs (coordinator, host agent, guest agents on the in-memory bus, SQLite), asserted on the JSON report.</summary>
public sealed class LabRunTests
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Default_run_completes_every_planned_passthrough_but_the_injected_one_which_rolls_back_exactly()
    {
        var (report, json) = await RunAndReadBackAsync(new LabRunOptions());

        Assert.True(report.Passed, Describe(report));
        Assert.Equal(LabScenario.Fleet, report.Options.Scenario);
        Assert.Equal(3, report.Fleet.Hosts.Count);
        Assert.Equal(12, report.Fleet.Vms);
        Assert.Equal(report.Fleet.PlannedAssignments, report.Sagas.Count);
        var injected = Assert.Single(report.Sagas, s => s.InjectedFault is not null);
        Assert.Equal(GuestType.PV, injected.GuestType);
        Assert.Equal(SagaOutcome.RolledBack, injected.Outcome);
        Assert.True(injected.Cause?.Cause == FailureCause.GuestLacksPcifront, Describe(report));
        Assert.All(report.Sagas.Where(s => s != injected), s => Assert.True(s.Outcome == SagaOutcome.Completed, $"{s.VmName}: {s.Outcome} {s.Cause?.Message}"));
        Assert.Contains(report.Sagas, s => s.DeviceKind == FleetDeviceKind.Gpu && s.Devices.Count == 2);
        Assert.All(report.Sagas, s => Assert.Contains(s.Steps, step => step.Step == SagaStep.Verify));
        Assert.Equal(
            [LabInvariants.SagasEnded, LabInvariants.NoDeviceHalfAssigned, LabInvariants.OutcomesMatchHosts, LabInvariants.RollbacksExact],
            report.Invariants.Select(i => i.Name).ToArray());
        Assert.Equal(new LabTotals(report.Sagas.Count, report.Sagas.Count - 1, 1, 0, 0), report.Totals);

        // The file itself: names, not numbers, for enums; step times; the invariants' verdicts.
        using var document = JsonDocument.Parse(json);
        var sagas = document.RootElement.GetProperty("sagas").EnumerateArray().ToList();
        Assert.Single(sagas, s => s.GetProperty("outcome").GetString() == "RolledBack");
        Assert.Equal(sagas.Count - 1, sagas.Count(s => s.GetProperty("outcome").GetString() == "Completed"));
        Assert.All(sagas.SelectMany(s => s.GetProperty("steps").EnumerateArray()), step => Assert.True(step.GetProperty("durationMs").GetDouble() >= 0));
        Assert.All(document.RootElement.GetProperty("invariants").EnumerateArray(), i => Assert.True(i.GetProperty("passed").GetBoolean()));
        Assert.True(report.WallTimeMs < 60_000, $"the default run took {report.WallTimeMs} ms");
    }

    [Fact]
    public async Task Faults_scenario_rolls_back_each_fault_with_its_cause_and_leaves_every_host_as_it_was()
    {
        var progress = new List<LabProgress>();
        var (report, _) = await RunAndReadBackAsync(new LabRunOptions { Scenario = LabScenario.Faults }, new SynchronousProgress(progress));

        Assert.True(report.Passed, Describe(report));
        Assert.Equal(3, report.Sagas.Count);
        Assert.All(report.Sagas, s => Assert.Equal(SagaOutcome.RolledBack, s.Outcome));
        Assert.Equal(
            [FailureCause.GuestLacksPcifront, FailureCause.IommuOff, FailureCause.HostDidNotReturn],
            report.Sagas.Select(s => s.Cause?.Cause).ToArray());
        Assert.Equal([SagaStep.Preflight], report.Sagas[1].Steps.Select(s => s.Step).Distinct().ToArray());
        Assert.Contains(report.Sagas[2].Steps, s => s.Step == SagaStep.HostReboot && s.Succeeded == false);
        Assert.Contains(report.Sagas[2].Steps, s => s.Step == SagaStep.UndoDetach && s.Succeeded == true);
        var rollbacks = report.Invariants.Single(i => i.Name == LabInvariants.RollbacksExact);
        Assert.Contains("3 wholly rolled-back hosts", rollbacks.Details[0], StringComparison.Ordinal);
        // Progress named each saga's step while it ran.
        Assert.Contains(progress, p => p.Sagas.Any(s => s.CurrentStep == SagaStep.HostReboot));
        Assert.Equal(LabStage.Finished, progress[^1].Stage);
    }

    [Fact]
    public async Task Release_scenario_gives_every_passed_through_device_back_to_its_original_driver()
    {
        var (report, _) = await RunAndReadBackAsync(new LabRunOptions { Scenario = LabScenario.Release, Hosts = 1, VmsPerHost = 2, InjectFault = false });

        Assert.True(report.Passed, Describe(report));
        var passthroughs = report.Sagas.Where(s => s.Kind == SagaKind.Passthrough).ToList();
        var releases = report.Sagas.Where(s => s.Kind == SagaKind.Release).ToList();
        Assert.Equal(2, passthroughs.Count);
        Assert.Equal(passthroughs.Select(p => p.Vm), releases.Select(r => r.Vm));
        Assert.All(report.Sagas, s => Assert.Equal(SagaOutcome.Completed, s.Outcome));
        Assert.Contains("0 with their VM", report.Invariants.Single(i => i.Name == LabInvariants.NoDeviceHalfAssigned).Details[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_half_assigned_device_fails_the_invariants_naming_the_device()
    {
        await using var fleet = SimulatedFleet.Create(new FleetSpec { Seed = 3, InitialPowerState = VmPowerState.Running, WorkingDirectory = Path.GetTempPath() });
        var start = FleetState.Capture(fleet);
        var host = fleet.Hosts[0];
        var vm = host.Vms[0];
        var device = host.Devices.First(d => d.Kind == FleetDeviceKind.Nic);
        // Bound to pciback for the VM but never written into its pci key: what a rollback that stopped halfway leaves.
        host.Host.Mutate(h => h.Function(device.Address).BoundDriver = "pciback");
        var saga = new LabSagaReport(
            Guid.NewGuid(), SagaKind.Passthrough, 1, host.Name, host.HostId.ToString(), vm.Name, vm.VmId.ToString(), vm.GuestType, device.Kind,
            [device.Address.ToString()], null, SagaOutcome.RolledBack, "RolledBack", null, [], DateTimeOffset.UtcNow, DateTimeOffset.UtcNow, 1, []);

        var devices = LabInvariants.CheckDevices(fleet, start, [saga]);
        var rollbacks = LabInvariants.CheckRollbacks([([saga], start, FleetState.Capture(fleet))]);

        var halfAssigned = devices.Single(i => i.Name == LabInvariants.NoDeviceHalfAssigned);
        Assert.False(halfAssigned.Passed);
        Assert.Contains($"{device.Address} on {host.Name} (VM {vm.Name}) is half-assigned: driver pciback (at start {device.Driver})", Assert.Single(halfAssigned.Details), StringComparison.Ordinal);
        Assert.False(devices.Single(i => i.Name == LabInvariants.OutcomesMatchHosts).Passed);
        Assert.False(rollbacks.Passed);
        Assert.Contains(rollbacks.Details, d => d.Contains($"driver {device.Driver} → pciback", StringComparison.Ordinal));

        host.Host.Mutate(h => h.Function(device.Address).BoundDriver = device.Driver);
        Assert.All(LabInvariants.CheckDevices(fleet, start, [saga]), i => Assert.True(i.Passed, string.Join("; ", i.Details)));
    }

    [Fact]
    public void A_saga_without_an_outcome_fails_the_ended_invariant_naming_it_and_its_step()
    {
        var id = Guid.NewGuid();
        var stuck = new LabSagaReport(
            id, SagaKind.Passthrough, 1, "lab-001", Guid.NewGuid().ToString(), "lab-001-vm01-pv", Guid.NewGuid().ToString(), GuestType.PV, FleetDeviceKind.Nic,
            ["0000:03:00.0"], null, null, "Verifying", null, [], DateTimeOffset.UtcNow, null, null,
            [new LabStepReport(SagaStep.Verify, 1, DateTimeOffset.UtcNow, null, null, null, null, null)]);

        var ended = LabInvariants.CheckEnded([stuck]);

        Assert.False(ended.Passed);
        Assert.Equal($"saga {id:D} (Passthrough lab-001-vm01-pv) did not end: state Verifying, step Verify", Assert.Single(ended.Details));
    }

    [Theory]
    [InlineData(0, 4, 0.02, "Hosts must be between 1 and 50, not 0.")]
    [InlineData(3, 0, 0.02, "VmsPerHost must be between 1 and 16, not 0.")]
    [InlineData(3, 4, 0.0, "TimeScale must be more than 0 and at most 1 (1 is real time), not 0.")]
    [InlineData(3, 4, 2.0, "TimeScale must be more than 0 and at most 1 (1 is real time), not 2.")]
    public void Invalid_options_are_refused_naming_the_option(int hosts, int vms, double scale, string problem)
    {
        var options = new LabRunOptions { Hosts = hosts, VmsPerHost = vms, TimeScale = scale };

        Assert.Contains(problem, options.Problems());
        var refused = Assert.Throws<ArgumentException>(() => options.Validate());
        Assert.Contains(problem, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Faults_scenario_needs_a_host_per_fault()
    {
        Assert.Contains(
            "Hosts must be at least 3 for the faults scenario (one host per fault), not 2.",
            new LabRunOptions { Scenario = LabScenario.Faults, Hosts = 2 }.Problems());
        Assert.Empty(new LabRunOptions { Scenario = LabScenario.Faults }.Problems());
        Assert.Contains(
            "RabbitMq must be an absolute amqp:// or amqps:// URL, not 'http://localhost/'.",
            new LabRunOptions { RabbitMq = new Uri("http://localhost") }.Problems());
    }

    private static async Task<(LabReport Report, string Json)> RunAndReadBackAsync(LabRunOptions options, IProgress<LabProgress>? progress = null)
    {
        var directory = Directory.CreateTempSubdirectory("passthrough-lab-test-").FullName;
        try
        {
            var report = await LabRun.RunAsync(options, progress, loggers: null, Cancellation);
            var (jsonPath, markdownPath) = await LabReportWriter.WriteAsync(report, Path.Combine(directory, "report.json"), Cancellation);
            Assert.Equal(Path.Combine(directory, "report.md"), markdownPath);
            Assert.Contains("## Invariants", await File.ReadAllTextAsync(markdownPath, Cancellation), StringComparison.Ordinal);
            var json = await File.ReadAllTextAsync(jsonPath, Cancellation);
            return (LabReportWriter.Read(json), json);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static string Describe(LabReport report) =>
        string.Join('\n', report.Invariants.Where(i => !i.Passed).SelectMany(i => i.Details.Prepend(i.Name + ":")))
        + "\n" + string.Join('\n', report.Sagas.Select(s => $"{s.VmName} {s.Kind} {s.DurationMs}ms {s.Outcome?.ToString() ?? s.State} {s.Cause?.Cause} {s.Cause?.Message} " +
                                                          string.Join(" ", s.Steps.Select(st => $"{st.Step}:{(st.Succeeded == true ? "ok" : st.Succeeded == false ? "FAIL " + st.Failure?.Cause + " " + st.Failure?.Message : "run")}"))));

    // Progress<T> posts to the thread pool, so the last report could arrive after the run returns; this one records in order.
    private sealed class SynchronousProgress(List<LabProgress> sink) : IProgress<LabProgress>
    {
        public void Report(LabProgress value)
        {
            lock (sink)
            {
                sink.Add(value);
            }
        }
    }
}

using Passthrough.Contracts.Api;
using Passthrough.Contracts.CoordinatorCommands;
using Passthrough.Contracts.CoordinatorEvents;
using Passthrough.Contracts.Messaging;
using Passthrough.EndToEnd.Tests.Infrastructure;
using Passthrough.Lab;
using Passthrough.Simulation;
using Passthrough.Testing;

namespace Passthrough.EndToEnd.Tests;

/// <summary>
/// The coordinator process is killed (SIGKILL) while a saga is at a given step, and started again on the same SQLite file
/// and RabbitMQ virtual host; the host and guest agents keep running in this process. Every saga must still end
/// Completed or RolledBack — never stuck — and a rolled-back host must equal its start.
/// </summary>
public sealed class CoordinatorRestartTests
{
    // Long enough mutating dom0 commands that a poll of the API sees each step running, and that the kill lands while the
    // host agent works on it (its answer then waits in the saga queue for the next coordinator).
    private static readonly SimulatedLatency Latency = new()
    {
        Default = TimeSpan.FromMilliseconds(2),
        PerCommand = new Dictionary<string, TimeSpan>(StringComparer.Ordinal)
        {
            ["xe"] = TimeSpan.FromMilliseconds(10),
            ["xe vm-snapshot"] = TimeSpan.FromMilliseconds(700),
            ["xe vm-shutdown"] = TimeSpan.FromMilliseconds(700),
            ["xe vm-param-set"] = TimeSpan.FromMilliseconds(700),
            ["xe vm-param-remove"] = TimeSpan.FromMilliseconds(700),
            ["xe vm-start"] = TimeSpan.FromMilliseconds(900),
            ["xe snapshot-uninstall"] = TimeSpan.FromMilliseconds(700),
            ["tee"] = TimeSpan.FromMilliseconds(250),
            ["xl pci-list"] = TimeSpan.FromMilliseconds(500),
            ["/opt/xensource/libexec/xen-cmdline"] = TimeSpan.FromMilliseconds(400),
        },
    };

    public static TheoryData<SagaStep, bool> Steps => new()
    {
        { SagaStep.Preflight, false },
        { SagaStep.Snapshot, false },
        { SagaStep.Shutdown, false },
        { SagaStep.Detach, false },
        { SagaStep.Assign, false },
        { SagaStep.Start, false },
        { SagaStep.Verify, false },
        { SagaStep.Done, false },
        // With the guest lacking pcifront the saga compensates: killed during its compensations.
        { SagaStep.UndoStart, true },
        { SagaStep.UndoAssign, true },
        { SagaStep.UndoDetach, true },
    };

    [Theory]
    [MemberData(nameof(Steps))]
    public async Task A_coordinator_killed_at_a_step_and_restarted_still_ends_the_saga(SagaStep killAt, bool guestLacksPcifront)
    {
        var cancellation = TestContext.Current.CancellationToken;
        await using var vhost = await RabbitMqVirtualHost.CreateAsync("restart", cancellation);
        var directory = Directory.CreateTempSubdirectory("passthrough-restart-").FullName;
        await using var fleet = SimulatedFleet.Create(LabFixture.DefaultSpec with
        {
            Latency = Latency,
            WorkingDirectory = Path.Combine(directory, "guests"),
        });
        var vm = fleet.Vms.First(v => v.GuestType == GuestType.PV);
        vm.Guest.Faults.ModuleMissing = guestLacksPcifront;
        var nic = LabFixture.Device(vm, FleetDeviceKind.Nic);
        var before = vm.Host.Runner.Capture();

        await using var agents = await LabRuntime.StartAsync(LabFixture.Options(fleet, directory, vhost.Uri, runCoordinator: false), cancellation);
        await using var coordinator = new CoordinatorProcess(vhost.Uri, Path.Combine(directory, "coordinator.db"));
        await coordinator.StartAsync(cancellation);

        var accepted = await coordinator.SubmitAsync(new PassthroughRequestBody(
            vm.Host.HostId.ToString(), vm.VmId.ToString(), [nic.Address.ToString()],
            new PassthroughOptionsBody(HideMode: HideMode.Dynamic, Snapshot: SnapshotPolicy.RevertOnFailure, AllowForcedShutdown: true), "restart-test"), cancellation);

        var seen = await WaitForStepAsync(coordinator, accepted.Id, killAt, cancellation);
        await coordinator.KillAsync();
        await Task.Delay(TimeSpan.FromMilliseconds(300), cancellation);
        await coordinator.StartAsync(cancellation);

        var saga = await WaitForOutcomeAsync(coordinator, accepted.Id, TimeSpan.FromSeconds(90), cancellation);
        var expected = guestLacksPcifront ? SagaOutcome.RolledBack : SagaOutcome.Completed;
        Assert.True(saga.Outcome == expected, $"killed at {killAt} (seen {seen}); {PassthroughSagaTests.Describe(saga)}\n{coordinator.Log}");
        if (saga.Outcome == SagaOutcome.RolledBack)
        {
            var after = vm.Host.Runner.Capture();
            Assert.True(before == after, $"after the rollback the host differs:\n{string.Join('\n', before.DiffAgainst(after))}\n{PassthroughSagaTests.Describe(saga)}");
        }
        else
        {
            Assert.Equal("pciback", vm.Host.Host.Read(h => h.Function(nic.Address).BoundDriver));
            Assert.Contains(nic.Address, vm.Host.Host.Read(h => h.FindVm(vm.VmId.Uuid)!.AttachedPcis.ToList()));
        }

        // No step's dom0 work ran twice although commands may have been resent after the restart: one snapshot taken,
        // and the VM started once (twice when the rollback started it again after its shutdown).
        var ran = vm.Host.Runner.History.Select(r => r.Request.Display).ToList();
        Assert.Equal(1, ran.Count(c => c.StartsWith("xe vm-snapshot", StringComparison.Ordinal)));
        Assert.Equal(saga.Outcome == SagaOutcome.Completed ? 1 : 2, ran.Count(c => c.StartsWith("xe vm-start", StringComparison.Ordinal)));
        Directory.Delete(directory, recursive: true);
    }

    private static async Task<SagaStep?> WaitForStepAsync(CoordinatorProcess coordinator, Guid id, SagaStep step, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        SagaView? last = null;
        while (DateTime.UtcNow < deadline)
        {
            last = await coordinator.TryGetAsync(id, cancellationToken) ?? last;
            if (last?.CurrentStep == step || last?.Steps.Any(s => s.Step == step && s.FinishedAt is null) == true)
            {
                return last.CurrentStep;
            }

            Assert.True(last?.Outcome is null, $"the saga ended before reaching {step}: {(last is null ? "?" : PassthroughSagaTests.Describe(last))}");
            await Task.Delay(TimeSpan.FromMilliseconds(15), cancellationToken);
        }

        Assert.Fail($"the saga never reached {step}: {(last is null ? "never read" : PassthroughSagaTests.Describe(last))}\n{coordinator.Log}");
        return null;
    }

    private static async Task<SagaView> WaitForOutcomeAsync(CoordinatorProcess coordinator, Guid id, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        SagaView? last = null;
        while (DateTime.UtcNow < deadline)
        {
            last = await coordinator.TryGetAsync(id, cancellationToken) ?? last;
            if (last?.Outcome is not null)
            {
                return last;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken);
        }

        Assert.Fail($"the saga is stuck after the restart: {(last is null ? "never read" : PassthroughSagaTests.Describe(last))}\n{coordinator.Log}");
        return last!;
    }
}

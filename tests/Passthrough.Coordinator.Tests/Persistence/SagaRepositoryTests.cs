using Passthrough.Coordinator.Tests.Infrastructure;
using Passthrough.Coordinator.Tests.Sagas;

namespace Passthrough.Coordinator.Tests.Persistence;

/// <summary>The saga repository inside MassTransit's saga pipeline (in-memory transport), on SQLite and PostgreSQL.</summary>
public sealed class SagaRepositoryTests(PostgresServer postgres)
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(StoreKind.Sqlite)]
    [InlineData(StoreKind.Postgres)]
    public async Task A_state_machine_creates_updates_and_removes_its_instance_in_the_store(StoreKind kind)
    {
        await using var store = await TestStore.CreateAsync(kind, postgres, Cancellation);
        var host = await CoordinatorTestHost.StartAsync(new TestHostSettings(store));
        try
        {
            var id = Guid.NewGuid();
            await host.PublishAsync(new StartWork(id, "alpha"));
            var created = await host.WaitForWorkAsync(id, r => r.CurrentState == "Running", "the saga is Running");
            Assert.Equal(1, created.Version);
            Assert.Equal("alpha", created.Instance.Name);

            await host.PublishAsync(new CompleteStepA(id));
            var updated = await host.WaitForWorkAsync(id, r => r.Instance.StepA, "step A is saved");
            Assert.Equal(2, updated.Version);

            // Correlated by a property (a query over the stored instances), not by id.
            await host.PublishAsync(new RenameWork("alpha", "beta"));
            var renamed = await host.WaitForWorkAsync(id, r => r.Instance.Name == "beta", "the rename is saved");
            Assert.Equal(3, renamed.Version);
            Assert.True(renamed.Instance.StepA);

            await host.PublishAsync(new FinishWork(id));
            await Eventually.HoldsAsync(async () => await host.GetWorkAsync(id) is null, "the finalized saga is removed");
        }
        finally
        {
            await CoordinatorTestHost.StopAsync(host);
        }
    }

    [Theory]
    [InlineData(StoreKind.Sqlite)]
    [InlineData(StoreKind.Postgres)]
    public async Task Two_events_at_once_conflict_and_the_retry_keeps_both_updates(StoreKind kind)
    {
        await using var store = await TestStore.CreateAsync(kind, postgres, Cancellation);
        var gate = new StepGate();
        var host = await CoordinatorTestHost.StartAsync(new TestHostSettings(store) { Gate = gate });
        try
        {
            var id = Guid.NewGuid();
            await host.PublishAsync(new StartWork(id, "concurrent"));
            await host.WaitForWorkAsync(id, r => r.CurrentState == "Running", "the saga is Running");

            // Both steps load version 1 before either saves; one save must lose and be retried on version 2.
            gate.Enabled = true;
            await Task.WhenAll(host.PublishAsync(new CompleteStepA(id)), host.PublishAsync(new CompleteStepB(id)));

            var done = await host.WaitForWorkAsync(id, r => r.Instance.StepA && r.Instance.StepB, "both steps are saved");
            Assert.Equal(1, done.Instance.RetriedSteps);
            Assert.Equal(3, done.Version);
            Assert.Equal("Running", done.CurrentState);
        }
        finally
        {
            await CoordinatorTestHost.StopAsync(host);
        }
    }

    [Theory]
    [InlineData(StoreKind.Sqlite)]
    [InlineData(StoreKind.Postgres)]
    public async Task A_saga_continues_in_a_new_process_on_the_same_store(StoreKind kind)
    {
        await using var store = await TestStore.CreateAsync(kind, postgres, Cancellation);
        var id = Guid.NewGuid();
        var first = await CoordinatorTestHost.StartAsync(new TestHostSettings(store) { Name = "first" });
        try
        {
            await first.PublishAsync(new StartWork(id, "durable"));
            await first.WaitForWorkAsync(id, r => r.CurrentState == "Running", "the saga is Running");
            await first.PublishAsync(new CompleteStepA(id));
            await first.WaitForWorkAsync(id, r => r.Instance.StepA, "step A is saved by the first process");
        }
        finally
        {
            await CoordinatorTestHost.StopAsync(first);
        }

        var second = await CoordinatorTestHost.StartAsync(new TestHostSettings(store) { Name = "second" });
        try
        {
            await second.PublishAsync(new CompleteStepB(id));
            var resumed = await second.WaitForWorkAsync(id, r => r.Instance.StepB, "step B is saved by the second process");
            Assert.True(resumed.Instance.StepA);
            Assert.Equal("durable", resumed.Instance.Name);
            Assert.Equal("Running", resumed.CurrentState);
            Assert.Equal(3, resumed.Version);

            await second.PublishAsync(new FinishWork(id));
            await Eventually.HoldsAsync(async () => await second.GetWorkAsync(id) is null, "the finalized saga is removed");
        }
        finally
        {
            await CoordinatorTestHost.StopAsync(second);
        }
    }
}

using MassTransit;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Passthrough.Coordinator.Persistence;
using Passthrough.Coordinator.Tests.Infrastructure;
using Passthrough.Coordinator.Tests.Sagas;

namespace Passthrough.Coordinator.Tests.Persistence;

/// <summary>The saga table on its own, against SQLite and PostgreSQL: rows, versions, conflicts, the read API.</summary>
public sealed class SagaTableTests(PostgresServer postgres)
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(StoreKind.Sqlite)]
    [InlineData(StoreKind.Postgres)]
    public async Task Insert_load_update_and_delete_round_trip_the_instance_with_its_version(StoreKind kind)
    {
        await using var store = await TestStore.CreateAsync(kind, postgres, Cancellation);
        await using var database = store.CreateDatabase();
        var table = CreateTable(database, TimeProvider.System);
        var id = Guid.NewGuid();

        Assert.Equal(1, await table.InsertAsync(new WorkSaga { CorrelationId = id, CurrentState = "Running", Name = "first" }, Cancellation));
        var loaded = await table.LoadAsync(id, Cancellation);
        Assert.NotNull(loaded);
        Assert.Equal(1, loaded.Value.Version);
        Assert.Equal("first", loaded.Value.Instance.Name);
        Assert.Equal(id, loaded.Value.Instance.CorrelationId);

        loaded.Value.Instance.StepA = true;
        loaded.Value.Instance.CurrentState = "Waiting";
        Assert.Equal(2, await table.UpdateAsync(loaded.Value.Instance, 1, Cancellation));

        var record = await table.GetAsync(id, Cancellation);
        Assert.NotNull(record);
        Assert.Equal("Waiting", record.CurrentState);
        Assert.Equal(2, record.Version);
        Assert.True(record.Instance.StepA);
        Assert.True(record.UpdatedAt >= record.CreatedAt);

        await table.DeleteAsync(record.Instance, 2, Cancellation);
        Assert.Null(await table.LoadAsync(id, Cancellation));
        Assert.Null(await table.GetAsync(id, Cancellation));
    }

    [Theory]
    [InlineData(StoreKind.Sqlite)]
    [InlineData(StoreKind.Postgres)]
    public async Task A_stale_version_or_a_duplicate_id_is_a_concurrency_conflict_that_changes_nothing(StoreKind kind)
    {
        await using var store = await TestStore.CreateAsync(kind, postgres, Cancellation);
        await using var database = store.CreateDatabase();
        var table = CreateTable(database, TimeProvider.System);
        var id = Guid.NewGuid();
        await table.InsertAsync(new WorkSaga { CorrelationId = id, Name = "original" }, Cancellation);
        var first = (await table.LoadAsync(id, Cancellation))!.Value.Instance;
        var second = (await table.LoadAsync(id, Cancellation))!.Value.Instance;

        first.StepA = true;
        await table.UpdateAsync(first, 1, Cancellation);
        second.StepB = true;

        var update = await Assert.ThrowsAsync<SagaStoreConcurrencyException>(() => table.UpdateAsync(second, 1, Cancellation));
        Assert.IsAssignableFrom<ConcurrencyException>(update);
        Assert.Equal(id, update.CorrelationId);
        await Assert.ThrowsAsync<SagaStoreConcurrencyException>(() => table.DeleteAsync(second, 1, Cancellation));
        await Assert.ThrowsAsync<SagaStoreConcurrencyException>(() => table.InsertAsync(new WorkSaga { CorrelationId = id, Name = "dup" }, Cancellation));

        var stored = await table.GetAsync(id, Cancellation);
        Assert.NotNull(stored);
        Assert.Equal(2, stored.Version);
        Assert.Equal("original", stored.Instance.Name);
        Assert.True(stored.Instance.StepA);
        Assert.False(stored.Instance.StepB);
    }

    [Theory]
    [InlineData(StoreKind.Sqlite)]
    [InlineData(StoreKind.Postgres)]
    public async Task List_pages_newest_first_and_only_this_saga_type(StoreKind kind)
    {
        await using var store = await TestStore.CreateAsync(kind, postgres, Cancellation);
        await using var database = store.CreateDatabase();
        var time = new FakeTimeProvider(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var table = CreateTable(database, time);
        var other = CreateTable(database, time, typeName: "other-saga");
        List<Guid> ids = [];
        for (var i = 0; i < 5; i++)
        {
            var id = Guid.NewGuid();
            ids.Add(id);
            await table.InsertAsync(new WorkSaga { CorrelationId = id, Name = $"w{i}" }, Cancellation);
            await other.InsertAsync(new WorkSaga { CorrelationId = Guid.NewGuid(), Name = "other" }, Cancellation);
            time.Advance(TimeSpan.FromSeconds(1));
        }

        var first = await table.ListAsync(0, 2, Cancellation);
        var second = await table.ListAsync(2, 2, Cancellation);
        var last = await table.ListAsync(4, 2, Cancellation);

        Assert.Equal(["w4", "w3"], first.Select(r => r.Instance.Name));
        Assert.Equal(["w2", "w1"], second.Select(r => r.Instance.Name));
        Assert.Equal(["w0"], last.Select(r => r.Instance.Name));
        Assert.Equal(new DateTimeOffset(2025, 1, 1, 0, 0, 4, TimeSpan.Zero), first[0].CreatedAt);
        Assert.Null(await other.GetAsync(ids[0], Cancellation));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => table.ListAsync(0, 0, Cancellation));
    }

    [Theory]
    [InlineData(StoreKind.Sqlite)]
    [InlineData(StoreKind.Postgres)]
    public async Task Schema_creation_is_idempotent_across_processes_starting_at_once(StoreKind kind)
    {
        await using var store = await TestStore.CreateAsync(kind, postgres, Cancellation);
        var databases = Enumerable.Range(0, 4).Select(_ => store.CreateDatabase()).ToList();
        try
        {
            await Task.WhenAll(databases.Select(database => database.EnsureSchemaAsync(Cancellation)));
            await using var again = store.CreateDatabase();
            await again.EnsureSchemaAsync(Cancellation);
            var table = CreateTable(again, TimeProvider.System);
            Assert.Equal(1, await table.InsertAsync(new WorkSaga { CorrelationId = Guid.NewGuid() }, Cancellation));
        }
        finally
        {
            foreach (var database in databases)
            {
                await database.DisposeAsync();
            }
        }
    }

    private static SagaTable<WorkSaga> CreateTable(SagaStoreDatabase database, TimeProvider time, string? typeName = null)
    {
        var options = new SagaRepositoryOptions<WorkSaga>();
        if (typeName is not null)
        {
            options.TypeName = typeName;
        }

        return new SagaTable<WorkSaga>(database, Options.Create(options), time);
    }
}

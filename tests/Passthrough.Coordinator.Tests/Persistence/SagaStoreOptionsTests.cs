using Passthrough.Coordinator.Persistence;
using Passthrough.Hosting;

namespace Passthrough.Coordinator.Tests.Persistence;

public sealed class SagaStoreOptionsTests
{
    [Fact]
    public void Defaults_are_a_valid_local_sqlite_store()
    {
        var options = new SagaStoreOptions();

        Assert.Equal(SagaStoreProvider.Sqlite, options.Provider);
        Assert.True(new SagaStoreOptionsValidator().Validate(null, options).Succeeded);
        Assert.True(new DurableSchedulerOptionsValidator().Validate(null, new DurableSchedulerOptions()).Succeeded);
    }

    [Fact]
    public void Each_invalid_value_is_reported_with_its_configuration_key()
    {
        var store = new SagaStoreOptions { Provider = SagaStoreProvider.PostgreSql, PostgresConnectionString = "Host=x;Bogus Key=1", CommandTimeout = TimeSpan.Zero };
        var scheduler = new DurableSchedulerOptions { PollInterval = TimeSpan.Zero, BatchSize = 0, ClaimTimeout = TimeSpan.FromSeconds(1), MaxBackoff = TimeSpan.Zero };

        var storeFailures = new SagaStoreOptionsValidator().Validate(null, store).Failures?.ToList() ?? [];
        var schedulerFailures = new DurableSchedulerOptionsValidator().Validate(null, scheduler).Failures?.ToList() ?? [];

        Assert.Collection(storeFailures,
            failure => Assert.StartsWith("Coordinator:Store:PostgresConnectionString ", failure, StringComparison.Ordinal),
            failure => Assert.StartsWith("Coordinator:Store:CommandTimeout ", failure, StringComparison.Ordinal));
        Assert.Equal(
            ["Coordinator:Scheduler:PollInterval", "Coordinator:Scheduler:BatchSize", "Coordinator:Scheduler:ClaimTimeout", "Coordinator:Scheduler:MaxBackoff"],
            schedulerFailures.Select(failure => failure[..failure.IndexOf(' ', StringComparison.Ordinal)]));
    }

    [Theory]
    [InlineData(SqliteDurability.Full, 2L)]
    [InlineData(SqliteDurability.Normal, 1L)]
    public async Task Every_sqlite_connection_gets_the_configured_durability(SqliteDurability durability, long expected)
    {
        var root = Directory.CreateTempSubdirectory("passthrough-store-").FullName;
        try
        {
            await using var database = SagaStoreDatabase.Create(new SagaStoreOptions { SqlitePath = Path.Combine(root, "coordinator.db"), SqliteDurability = durability });
            // Twice: the second connection comes from the pool, and synchronous is a setting of the connection.
            for (var i = 0; i < 2; i++)
            {
                await using var connection = await database.OpenAsync(TestContext.Current.CancellationToken);
                await using var command = database.CreateCommand(connection, "PRAGMA synchronous;");
                Assert.Equal(expected, (long)(await command.ExecuteScalarAsync(TestContext.Current.CancellationToken))!);
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void An_unknown_sqlite_durability_is_reported_with_its_key()
    {
        var failures = new SagaStoreOptionsValidator().Validate(null, new SagaStoreOptions { SqliteDurability = (SqliteDurability)7 }).Failures ?? [];

        Assert.Contains(failures, failure => failure.StartsWith("Coordinator:Store:SqliteDurability must be Full or Normal", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_sqlite_store_creates_its_file_and_missing_directories()
    {
        var root = Directory.CreateTempSubdirectory("passthrough-store-").FullName;
        try
        {
            var path = Path.Combine(root, "var", "lib", "coordinator.db");
            await using (var database = SagaStoreDatabase.Create(new SagaStoreOptions { SqlitePath = path }))
            {
                await database.EnsureSchemaAsync(TestContext.Current.CancellationToken);
            }

            Assert.True(File.Exists(path));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(root, recursive: true);
        }
    }
}

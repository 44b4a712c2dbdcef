using Passthrough.Coordinator.Persistence;

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

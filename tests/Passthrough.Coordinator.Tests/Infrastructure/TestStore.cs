using Passthrough.Coordinator.Persistence;

namespace Passthrough.Coordinator.Tests.Infrastructure;

/// <summary>The two databases every store test runs against.</summary>
public enum StoreKind
{
    Sqlite,
    Postgres,
}

/// <summary>
/// An empty store for one test: a SQLite file in its own temporary directory, or a fresh schema on the test run's
/// PostgreSQL. Several hosts built on the same <see cref="TestStore"/> share the data, as restarted processes would.
/// </summary>
public sealed class TestStore : IAsyncDisposable
{
    private readonly string? _directory;
    private readonly PostgresSchema? _schema;

    private TestStore(StoreKind kind, string? directory, PostgresSchema? schema)
    {
        Kind = kind;
        _directory = directory;
        _schema = schema;
    }

    public StoreKind Kind { get; }

    public static async Task<TestStore> CreateAsync(StoreKind kind, PostgresServer postgres, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(postgres);
        return kind switch
        {
            StoreKind.Sqlite => new TestStore(kind, Directory.CreateTempSubdirectory("passthrough-store-").FullName, null),
            StoreKind.Postgres => new TestStore(kind, null, await postgres.CreateSchemaAsync(cancellationToken)),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
    }

    /// <summary>Points <paramref name="options"/> at this store.</summary>
    public void Configure(SagaStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (Kind == StoreKind.Sqlite)
        {
            options.Provider = SagaStoreProvider.Sqlite;
            options.SqlitePath = Path.Combine(_directory!, "coordinator.db");
        }
        else
        {
            options.Provider = SagaStoreProvider.PostgreSql;
            options.PostgresConnectionString = _schema!.ConnectionString;
        }
    }

    /// <summary>A database object of its own on this store, for tests that drive the tables directly.</summary>
    internal SagaStoreDatabase CreateDatabase()
    {
        var options = new SagaStoreOptions();
        Configure(options);
        return SagaStoreDatabase.Create(options);
    }

    public async ValueTask DisposeAsync()
    {
        if (_schema is not null)
        {
            await _schema.DisposeAsync();
        }

        if (_directory is not null)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(_directory, recursive: true);
        }
    }
}

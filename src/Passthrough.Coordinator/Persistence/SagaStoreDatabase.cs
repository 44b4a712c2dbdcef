using System.Data;
using System.Data.Common;

namespace Passthrough.Coordinator.Persistence;

/// <summary>
/// One configured database (SQLite or PostgreSQL) and the few ways the two differ: how ids, times and JSON are stored,
/// how a duplicate key shows, the DDL, and how due scheduled messages are claimed. Everything else is shared ADO.NET.
/// </summary>
/// <remarks>
/// The schema is created idempotently before the first statement of the process (and eagerly at start by
/// <see cref="SagaStoreInitializer"/>), so the order in which hosted services start does not matter.
/// </remarks>
internal abstract class SagaStoreDatabase : IAsyncDisposable, IDisposable
{
    public const string SagaTable = "passthrough_saga";
    public const string ScheduledMessageTable = "passthrough_scheduled_message";
    public const string ClaimTable = "passthrough_claim";

    private readonly Lock _schemaGate = new();
    private Task? _schema;

    protected SagaStoreDatabase(TimeSpan commandTimeout)
    {
        CommandTimeoutSeconds = (int)Math.Ceiling(commandTimeout.TotalSeconds);
    }

    /// <summary><c>sqlite</c> or <c>postgresql</c>, for logs and probes.</summary>
    public abstract string ProviderName { get; }

    /// <summary>Where the data lives, without credentials: the SQLite path, or PostgreSQL host, port and database.</summary>
    public abstract string Description { get; }

    /// <summary>The statement that claims due scheduled messages; see <see cref="ScheduledMessageTable"/> for its parameters.</summary>
    public abstract string ClaimDueMessagesSql { get; }

    protected int CommandTimeoutSeconds { get; }

    public static SagaStoreDatabase Create(SagaStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Provider switch
        {
            SagaStoreProvider.Sqlite => new SqliteSagaStoreDatabase(options.SqlitePath, options.CommandTimeout, options.SqliteDurability),
            SagaStoreProvider.PostgreSql => new PostgresSagaStoreDatabase(options.PostgresConnectionString!, options.CommandTimeout),
            _ => throw new ArgumentOutOfRangeException(nameof(options), options.Provider, "Unknown saga store provider."),
        };
    }

    /// <summary>Creates the tables unless they exist; runs once per process (again after a failure).</summary>
    public Task EnsureSchemaAsync(CancellationToken cancellationToken)
    {
        Task schema;
        lock (_schemaGate)
        {
            if (_schema is null || _schema.IsFaulted || _schema.IsCanceled)
            {
                // Shared by every caller, so not bound to one caller's token; the command timeout bounds it.
                _schema = CreateSchemaOnceAsync();
            }

            schema = _schema;
        }

        return schema.WaitAsync(cancellationToken);
    }

    /// <summary>An open connection to a database whose schema exists.</summary>
    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        return await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    public DbCommand CreateCommand(DbConnection connection, string sql)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var command = connection.CreateCommand();
#pragma warning disable CA2100 // Every statement is a constant of this assembly; values travel as parameters.
        command.CommandText = sql;
#pragma warning restore CA2100
        command.CommandTimeout = CommandTimeoutSeconds;
        return command;
    }

    public abstract void AddGuid(DbCommand command, string name, Guid value);

    public abstract Guid GetGuid(DbDataReader reader, int ordinal);

    public abstract void AddTime(DbCommand command, string name, DateTimeOffset value);

    public abstract DateTimeOffset GetTime(DbDataReader reader, int ordinal);

    public abstract void AddJson(DbCommand command, string name, string json);

    /// <summary>True when <paramref name="exception"/> reports a duplicate primary key.</summary>
    public abstract bool IsUniqueViolation(DbException exception);

    public static void AddText(DbCommand command, string name, string? value)
    {
        ArgumentNullException.ThrowIfNull(command);
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.DbType = DbType.String;
        parameter.Value = (object?)value ?? DBNull.Value;
        command.Parameters.Add(parameter);
    }

    public static void AddInt64(DbCommand command, string name, long value)
    {
        ArgumentNullException.ThrowIfNull(command);
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.DbType = DbType.Int64;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }

    public void AddNullableGuid(DbCommand command, string name, Guid? value)
    {
        if (value is { } guid)
        {
            AddGuid(command, name, guid);
            return;
        }

        ArgumentNullException.ThrowIfNull(command);
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = DBNull.Value;
        command.Parameters.Add(parameter);
    }

    /// <summary>Releases pooled connections (so a SQLite file can be deleted or reopened by another process).</summary>
    protected abstract void Dispose(bool disposing);

    protected abstract Task<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken);

    protected abstract Task CreateSchemaAsync(DbConnection connection, CancellationToken cancellationToken);

    protected async Task ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = CreateCommand(connection, sql);
        command.Transaction = transaction;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task CreateSchemaOnceAsync()
    {
        var connection = await OpenConnectionAsync(CancellationToken.None).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            await CreateSchemaAsync(connection, CancellationToken.None).ConfigureAwait(false);
        }
    }
}

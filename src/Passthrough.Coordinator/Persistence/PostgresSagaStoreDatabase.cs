using System.Data.Common;
using Npgsql;
using NpgsqlTypes;

namespace Passthrough.Coordinator.Persistence;

/// <summary>
/// The PostgreSQL store: <c>uuid</c> ids, <c>timestamptz</c> times, <c>json</c> documents (kept verbatim, so
/// System.Text.Json metadata such as <c>$type</c> stays first). Several coordinator replicas may share it: the DDL runs
/// under an advisory lock, and sweepers claim due messages with <c>FOR UPDATE SKIP LOCKED</c>.
/// </summary>
internal sealed class PostgresSagaStoreDatabase : SagaStoreDatabase
{
    // An arbitrary constant that names "the passthrough schema migration" among advisory locks.
    private const long SchemaLockKey = 0x5061_7373_5468_7275;

    private readonly NpgsqlDataSource _dataSource;

    public PostgresSagaStoreDatabase(string connectionString, TimeSpan commandTimeout)
        : base(commandTimeout)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        Description = $"postgresql://{builder.Host}:{builder.Port}/{builder.Database}";
        _dataSource = NpgsqlDataSource.Create(builder);
    }

    public override string ProviderName => "postgresql";

    public override string Description { get; }

    // SKIP LOCKED: a second sweeper passes over rows the first is claiming instead of waiting and claiming them again.
    public override string ClaimDueMessagesSql { get; } = $"""
        UPDATE {ScheduledMessageTable} AS m
           SET claim_id = @claim, claimed_until = @until, attempts = m.attempts + 1
          FROM (SELECT token_id FROM {ScheduledMessageTable}
                 WHERE due_at <= @now AND (claimed_until IS NULL OR claimed_until <= @now)
                 ORDER BY due_at
                 LIMIT @batch
                   FOR UPDATE SKIP LOCKED) AS due
         WHERE m.token_id = due.token_id
        RETURNING m.token_id, m.due_at, m.destination, m.content_type, m.message_type, m.body, m.envelope, m.attempts
        """;

    public override void AddGuid(DbCommand command, string name, Guid value)
    {
        ArgumentNullException.ThrowIfNull(command);
        command.Parameters.Add(new NpgsqlParameter<Guid>(name, NpgsqlDbType.Uuid) { TypedValue = value });
    }

    public override Guid GetGuid(DbDataReader reader, int ordinal)
    {
        ArgumentNullException.ThrowIfNull(reader);
        return reader.GetGuid(ordinal);
    }

    public override void AddTime(DbCommand command, string name, DateTimeOffset value)
    {
        ArgumentNullException.ThrowIfNull(command);
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>(name, NpgsqlDbType.TimestampTz) { TypedValue = value.ToUniversalTime() });
    }

    public override DateTimeOffset GetTime(DbDataReader reader, int ordinal)
    {
        ArgumentNullException.ThrowIfNull(reader);
        return reader.GetFieldValue<DateTimeOffset>(ordinal);
    }

    public override void AddJson(DbCommand command, string name, string json)
    {
        ArgumentNullException.ThrowIfNull(command);
        command.Parameters.Add(new NpgsqlParameter<string>(name, NpgsqlDbType.Json) { TypedValue = json });
    }

    public override bool IsUniqueViolation(DbException exception) =>
        exception is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation };

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _dataSource.Dispose();
        }
    }

    protected override async Task<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken) =>
        await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

    protected override async Task CreateSchemaAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            // Two replicas starting at once would otherwise race on CREATE TABLE IF NOT EXISTS (duplicate pg_type row).
            await ExecuteAsync(connection, transaction, $"SELECT pg_advisory_xact_lock({SchemaLockKey});", cancellationToken)
                .ConfigureAwait(false);
            await ExecuteAsync(connection, transaction, $"""
                CREATE TABLE IF NOT EXISTS {SagaTable} (
                    saga_type      text        NOT NULL,
                    correlation_id uuid        NOT NULL,
                    current_state  text        NULL,
                    version        bigint      NOT NULL,
                    data           json        NOT NULL,
                    created_at     timestamptz NOT NULL,
                    updated_at     timestamptz NOT NULL,
                    PRIMARY KEY (saga_type, correlation_id)
                );
                CREATE INDEX IF NOT EXISTS {SagaTable}_newest ON {SagaTable} (saga_type, created_at DESC, correlation_id DESC);
                CREATE TABLE IF NOT EXISTS {ScheduledMessageTable} (
                    token_id      uuid        NOT NULL PRIMARY KEY,
                    due_at        timestamptz NOT NULL,
                    destination   text        NOT NULL,
                    content_type  text        NOT NULL,
                    message_type  text        NOT NULL,
                    body          text        NOT NULL,
                    envelope      json        NOT NULL,
                    created_at    timestamptz NOT NULL,
                    claim_id      uuid        NULL,
                    claimed_until timestamptz NULL,
                    attempts      integer     NOT NULL DEFAULT 0,
                    last_error    text        NULL
                );
                CREATE INDEX IF NOT EXISTS {ScheduledMessageTable}_due ON {ScheduledMessageTable} (due_at);
                CREATE TABLE IF NOT EXISTS {ClaimTable} (
                    resource   text        NOT NULL PRIMARY KEY,
                    saga_id    uuid        NOT NULL,
                    kind       text        NOT NULL,
                    claimed_at timestamptz NOT NULL
                );
                CREATE INDEX IF NOT EXISTS {ClaimTable}_saga ON {ClaimTable} (saga_id);
                """, cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}

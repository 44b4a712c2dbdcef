using System.Data;
using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Passthrough.Hosting;

namespace Passthrough.Coordinator.Persistence;

/// <summary>
/// The SQLite store: one file in WAL mode (readers never block the writer), ids as text, times as Unix milliseconds.
/// Statements run in autocommit mode; Microsoft.Data.Sqlite waits for the write lock up to the command timeout.
/// </summary>
internal sealed class SqliteSagaStoreDatabase : SagaStoreDatabase
{
    private const int SqliteConstraint = 19;
    private const int SqliteConstraintPrimaryKey = 1555;
    private const int SqliteConstraintUnique = 2067;

    private readonly string _connectionString;
    private readonly string _synchronous;
    private volatile bool _directoryExists;

    public SqliteSagaStoreDatabase(string path, TimeSpan commandTimeout, SqliteDurability durability = SqliteDurability.Full)
        : base(commandTimeout)
    {
        // synchronous is a setting of each connection, not of the file: every opened connection gets it (see OpenConnectionAsync).
        _synchronous = durability switch
        {
            SqliteDurability.Full => "PRAGMA synchronous = FULL;",
            SqliteDurability.Normal => "PRAGMA synchronous = NORMAL;",
            _ => throw new ArgumentOutOfRangeException(nameof(durability), durability, "Unknown SQLite durability."),
        };
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        FilePath = Path.GetFullPath(path);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = FilePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = CommandTimeoutSeconds,
        }.ToString();
    }

    public string FilePath { get; }

    public override string ProviderName => "sqlite";

    public override string Description => FilePath;

    // SQLite has one writer at a time, so this single UPDATE … RETURNING is an atomic claim; no row locks needed.
    public override string ClaimDueMessagesSql { get; } = $"""
        UPDATE {ScheduledMessageTable}
           SET claim_id = @claim, claimed_until = @until, attempts = attempts + 1
         WHERE token_id IN (SELECT token_id FROM {ScheduledMessageTable}
                             WHERE due_at <= @now AND (claimed_until IS NULL OR claimed_until <= @now)
                             ORDER BY due_at
                             LIMIT @batch)
        RETURNING token_id, due_at, destination, content_type, message_type, body, envelope, attempts
        """;

    public override void AddGuid(DbCommand command, string name, Guid value) =>
        AddText(command, name, value.ToString("D", CultureInfo.InvariantCulture));

    public override Guid GetGuid(DbDataReader reader, int ordinal)
    {
        ArgumentNullException.ThrowIfNull(reader);
        return Guid.Parse(reader.GetString(ordinal), CultureInfo.InvariantCulture);
    }

    public override void AddTime(DbCommand command, string name, DateTimeOffset value) =>
        AddInt64(command, name, value.ToUnixTimeMilliseconds());

    public override DateTimeOffset GetTime(DbDataReader reader, int ordinal)
    {
        ArgumentNullException.ThrowIfNull(reader);
        return DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(ordinal));
    }

    public override void AddJson(DbCommand command, string name, string json) => AddText(command, name, json);

    public override bool IsUniqueViolation(DbException exception) =>
        exception is SqliteException
        {
            SqliteErrorCode: SqliteConstraint,
            SqliteExtendedErrorCode: SqliteConstraintPrimaryKey or SqliteConstraintUnique,
        };

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            using var connection = new SqliteConnection(_connectionString);
            SqliteConnection.ClearPool(connection);
        }
    }

    protected override async Task<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        if (!_directoryExists)
        {
            // SQLite creates a missing file but not a missing directory.
            Directory.CreateDirectory(Path.GetDirectoryName(FilePath)!);
            _directoryExists = true;
        }

        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await ExecuteAsync(connection, null, _synchronous, cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    protected override async Task CreateSchemaAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        // WAL is a property of the file (persisted); it lets the sweeper and the API read while a saga commits.
        await ExecuteAsync(connection, null, "PRAGMA journal_mode = WAL;", cancellationToken).ConfigureAwait(false);

        var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(IsolationLevel.Serializable, cancellationToken)
            .ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            await ExecuteAsync(connection, transaction, $"""
                CREATE TABLE IF NOT EXISTS {SagaTable} (
                    saga_type      TEXT    NOT NULL,
                    correlation_id TEXT    NOT NULL,
                    current_state  TEXT    NULL,
                    version        INTEGER NOT NULL,
                    data           TEXT    NOT NULL,
                    created_at     INTEGER NOT NULL,
                    updated_at     INTEGER NOT NULL,
                    PRIMARY KEY (saga_type, correlation_id)
                );
                CREATE INDEX IF NOT EXISTS {SagaTable}_newest ON {SagaTable} (saga_type, created_at DESC, correlation_id DESC);
                CREATE TABLE IF NOT EXISTS {ScheduledMessageTable} (
                    token_id      TEXT    NOT NULL PRIMARY KEY,
                    due_at        INTEGER NOT NULL,
                    destination   TEXT    NOT NULL,
                    content_type  TEXT    NOT NULL,
                    message_type  TEXT    NOT NULL,
                    body          TEXT    NOT NULL,
                    envelope      TEXT    NOT NULL,
                    created_at    INTEGER NOT NULL,
                    claim_id      TEXT    NULL,
                    claimed_until INTEGER NULL,
                    attempts      INTEGER NOT NULL DEFAULT 0,
                    last_error    TEXT    NULL
                );
                CREATE INDEX IF NOT EXISTS {ScheduledMessageTable}_due ON {ScheduledMessageTable} (due_at);
                CREATE TABLE IF NOT EXISTS {ClaimTable} (
                    resource   TEXT    NOT NULL PRIMARY KEY,
                    saga_id    TEXT    NOT NULL,
                    kind       TEXT    NOT NULL,
                    claimed_at INTEGER NOT NULL
                );
                CREATE INDEX IF NOT EXISTS {ClaimTable}_saga ON {ClaimTable} (saga_id);
                """, cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}

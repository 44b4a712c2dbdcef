using System.Globalization;
using Microsoft.Data.Sqlite;
using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Messaging;
using Passthrough.Hosting;

namespace Passthrough.HostAgent.Records;

/// <summary>Where a recorded command stands.</summary>
public enum CommandRecordState
{
    /// <summary>Execution began (and may have been cut short by a crash): a repeat executes again, state-checking.</summary>
    Started = 1,

    /// <summary>Answered: a repeat is answered with the recorded reply, without touching dom0.</summary>
    Completed,
}

/// <summary>One row of the command record.</summary>
/// <param name="CommandId">The idempotency key.</param>
/// <param name="Host">The host the command was for.</param>
/// <param name="Step">The saga step.</param>
/// <param name="CommandType">The command's message type name.</param>
/// <param name="State">Started or completed.</param>
/// <param name="Memo">What the handler remembered before changing anything (JSON), so a re-run after a crash restores the true "before".</param>
/// <param name="ReplyType">The reply's message type name, once answered.</param>
/// <param name="ReplyJson">The reply as JSON, once answered.</param>
/// <param name="StartedAt">When execution first began.</param>
/// <param name="CompletedAt">When it was answered.</param>
public sealed record CommandRecord(
    Guid CommandId, HostId Host, SagaStep Step, string CommandType, CommandRecordState State, string? Memo,
    string? ReplyType, string? ReplyJson, DateTimeOffset StartedAt, DateTimeOffset? CompletedAt);

/// <summary>
/// The durable command record: one SQLite table keyed by command id, so a repeated command is answered from the record
/// and a command cut short by a crash is known to have started. One file in WAL mode; times are Unix milliseconds.
/// </summary>
public sealed class CommandRecordStore : IDisposable
{
    private const string Table = "host_agent_commands";
    private readonly string _connectionString;
    private readonly string _synchronous;
    private readonly SemaphoreSlim _initialise = new(1, 1);
    private volatile bool _initialised;

    /// <summary>Opens (creating on first use) the record in the SQLite file <paramref name="path"/>, every commit flushed to disk.</summary>
    public CommandRecordStore(string path)
        : this(path, SqliteDurability.Full)
    {
    }

    /// <summary>
    /// Opens (creating on first use) the record in the SQLite file <paramref name="path"/> with <paramref name="durability"/>
    /// (see <see cref="HostAgentOptions.CommandRecordDurability"/> for what <see cref="SqliteDurability.Normal"/> gives up).
    /// </summary>
    public CommandRecordStore(string path, SqliteDurability durability)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        // synchronous is a setting of each connection, not of the file: every opened connection gets it (see OpenAsync).
        _synchronous = durability switch
        {
            SqliteDurability.Full => "PRAGMA synchronous = FULL;",
            SqliteDurability.Normal => "PRAGMA synchronous = NORMAL;",
            _ => throw new ArgumentOutOfRangeException(nameof(durability), durability, "Unknown SQLite durability."),
        };
        FilePath = Path.GetFullPath(path);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = FilePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    /// <summary>The SQLite file.</summary>
    public string FilePath { get; }

    /// <summary>The record of <paramref name="commandId"/>, or null when the command was never seen (or was pruned).</summary>
    public async Task<CommandRecord?> FindAsync(Guid commandId, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT command_id, host, step, command_type, state, memo, reply_type, reply_json, started_at, completed_at
              FROM {Table} WHERE command_id = @id
            """;
        command.Parameters.AddWithValue("@id", Key(commandId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        return new CommandRecord(
            Guid.Parse(reader.GetString(0), CultureInfo.InvariantCulture),
            HostId.Parse(reader.GetString(1)),
            Enum.Parse<SagaStep>(reader.GetString(2)),
            reader.GetString(3),
            Enum.Parse<CommandRecordState>(reader.GetString(4)),
            reader.IsDBNull(5) ? null : reader.GetString(5),
            reader.IsDBNull(6) ? null : reader.GetString(6),
            reader.IsDBNull(7) ? null : reader.GetString(7),
            DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(8)),
            reader.IsDBNull(9) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(9)));
    }

    /// <summary>Writes the <c>started</c> row before anything runs; a row that exists already (a re-run) is left as it is.</summary>
    public async Task MarkStartedAsync(Guid commandId, HostId host, SagaStep step, string commandType, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(commandType);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            INSERT INTO {Table} (command_id, host, step, command_type, state, started_at)
            VALUES (@id, @host, @step, @type, @state, @at)
            ON CONFLICT (command_id) DO NOTHING
            """;
        command.Parameters.AddWithValue("@id", Key(commandId));
        command.Parameters.AddWithValue("@host", host.ToString());
        command.Parameters.AddWithValue("@step", step.ToString());
        command.Parameters.AddWithValue("@type", commandType);
        command.Parameters.AddWithValue("@state", nameof(CommandRecordState.Started));
        command.Parameters.AddWithValue("@at", at.ToUnixTimeMilliseconds());
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stores what a started command remembered before changing anything (see <see cref="CommandRecord.Memo"/>).</summary>
    public async Task SaveMemoAsync(Guid commandId, string memo, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(memo);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"UPDATE {Table} SET memo = @memo WHERE command_id = @id";
        command.Parameters.AddWithValue("@id", Key(commandId));
        command.Parameters.AddWithValue("@memo", memo);
        await EnsureOneRowAsync(command, commandId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Marks the command answered with <paramref name="replyJson"/> of type <paramref name="replyType"/>.</summary>
    public async Task MarkCompletedAsync(Guid commandId, string replyType, string replyJson, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(replyType);
        ArgumentNullException.ThrowIfNull(replyJson);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            UPDATE {Table} SET state = @state, reply_type = @type, reply_json = @json, completed_at = @at
             WHERE command_id = @id
            """;
        command.Parameters.AddWithValue("@id", Key(commandId));
        command.Parameters.AddWithValue("@state", nameof(CommandRecordState.Completed));
        command.Parameters.AddWithValue("@type", replyType);
        command.Parameters.AddWithValue("@json", replyJson);
        command.Parameters.AddWithValue("@at", at.ToUnixTimeMilliseconds());
        await EnsureOneRowAsync(command, commandId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes records started before <paramref name="cutoff"/>; returns how many.</summary>
    public async Task<int> PruneAsync(DateTimeOffset cutoff, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"DELETE FROM {Table} WHERE started_at < @cutoff";
        command.Parameters.AddWithValue("@cutoff", cutoff.ToUnixTimeMilliseconds());
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public void Dispose() => _initialise.Dispose();

    private static string Key(Guid commandId) => commandId.ToString("D", CultureInfo.InvariantCulture);

    private static async Task EnsureOneRowAsync(SqliteCommand command, Guid commandId, CancellationToken cancellationToken)
    {
        // A missing row means the record was pruned or deleted under a running command: say so instead of losing the answer silently.
        if (await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) != 1)
        {
            throw new InvalidOperationException($"The command record has no row for command {commandId}; was the record file replaced while the agent ran?");
        }
    }

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        if (!_initialised)
        {
            await InitialiseAsync(cancellationToken).ConfigureAwait(false);
        }

        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var synchronous = connection.CreateCommand();
            synchronous.CommandText = _synchronous;
            await synchronous.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task InitialiseAsync(CancellationToken cancellationToken)
    {
        await _initialise.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_initialised)
            {
                return;
            }

            if (Path.GetDirectoryName(FilePath) is { Length: > 0 } directory)
            {
                Directory.CreateDirectory(directory);
            }

            await using var connection = new SqliteConnection(_connectionString);
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var command = connection.CreateCommand();
            // WAL: the monitor's reads never wait for a command's write. The started_at index serves the pruning.
            command.CommandText = $"""
                PRAGMA journal_mode = WAL;
                CREATE TABLE IF NOT EXISTS {Table} (
                    command_id   TEXT    NOT NULL PRIMARY KEY,
                    host         TEXT    NOT NULL,
                    step         TEXT    NOT NULL,
                    command_type TEXT    NOT NULL,
                    state        TEXT    NOT NULL,
                    memo         TEXT    NULL,
                    reply_type   TEXT    NULL,
                    reply_json   TEXT    NULL,
                    started_at   INTEGER NOT NULL,
                    completed_at INTEGER NULL
                );
                CREATE INDEX IF NOT EXISTS ix_{Table}_started_at ON {Table} (started_at);
                """;
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            _initialised = true;
        }
        finally
        {
            _initialise.Release();
        }
    }
}

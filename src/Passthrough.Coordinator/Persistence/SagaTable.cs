using System.Data.Common;
using System.Linq.Expressions;
using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.Options;

namespace Passthrough.Coordinator.Persistence;

/// <summary>
/// The rows of one saga type in <c>passthrough_saga</c>: load with version, insert, compare-and-swap update and delete,
/// and the read API. Every statement runs on its own (autocommit); the version column is the only guard, so nothing is
/// locked while a saga handles a message.
/// </summary>
internal sealed class SagaTable<TSaga> : ISagaStateReader<TSaga>
    where TSaga : class, ISaga
{
    private const string Table = SagaStoreDatabase.SagaTable;
    private const int MaxPage = 1000;

    private readonly SagaStoreDatabase _database;
    private readonly TimeProvider _time;
    private readonly string _typeName;
    private readonly JsonSerializerOptions _serializerOptions;
    private readonly Func<TSaga, string?> _currentState;

    public SagaTable(SagaStoreDatabase database, IOptions<SagaRepositoryOptions<TSaga>> options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        _database = database;
        _time = time;
        var value = options.Value;
        _typeName = value.TypeName;
        _serializerOptions = value.SerializerOptions;
        _currentState = value.CurrentState;
    }

    public string ProviderName => _database.ProviderName;

    /// <summary>The instance and its version, or null.</summary>
    public async Task<(TSaga Instance, long Version)?> LoadAsync(Guid correlationId, CancellationToken cancellationToken)
    {
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            await using var command = _database.CreateCommand(connection,
                $"SELECT version, data FROM {Table} WHERE saga_type = @type AND correlation_id = @id");
            SagaStoreDatabase.AddText(command, "type", _typeName);
            _database.AddGuid(command, "id", correlationId);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            var version = reader.GetInt64(0);
            return (Deserialize(reader.GetString(1), version), version);
        }
    }

    /// <summary>Inserts a new instance at version 1; a duplicate id raises <see cref="SagaStoreConcurrencyException"/>.</summary>
    public async Task<long> InsertAsync(TSaga instance, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(instance);
        const long Version = 1;
        var now = _time.GetUtcNow();
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            await using var command = _database.CreateCommand(connection, $"""
                INSERT INTO {Table} (saga_type, correlation_id, current_state, version, data, created_at, updated_at)
                VALUES (@type, @id, @state, @version, @data, @now, @now)
                """);
            SagaStoreDatabase.AddText(command, "type", _typeName);
            _database.AddGuid(command, "id", instance.CorrelationId);
            SagaStoreDatabase.AddText(command, "state", _currentState(instance));
            SagaStoreDatabase.AddInt64(command, "version", Version);
            _database.AddJson(command, "data", Serialize(instance, Version));
            _database.AddTime(command, "now", now);
            try
            {
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (DbException exception) when (_database.IsUniqueViolation(exception))
            {
                throw new SagaStoreConcurrencyException("Saga insert conflict: an instance with this id already exists", typeof(TSaga),
                    instance.CorrelationId, exception);
            }
        }

        SetVersion(instance, Version);
        return Version;
    }

    /// <summary>
    /// Saves <paramref name="instance"/> if the stored version is still <paramref name="expectedVersion"/> and returns the
    /// new version; otherwise raises <see cref="SagaStoreConcurrencyException"/>.
    /// </summary>
    public async Task<long> UpdateAsync(TSaga instance, long expectedVersion, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(instance);
        var next = expectedVersion + 1;
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            await using var command = _database.CreateCommand(connection, $"""
                UPDATE {Table}
                   SET current_state = @state, version = @next, data = @data, updated_at = @now
                 WHERE saga_type = @type AND correlation_id = @id AND version = @expected
                """);
            SagaStoreDatabase.AddText(command, "state", _currentState(instance));
            SagaStoreDatabase.AddInt64(command, "next", next);
            _database.AddJson(command, "data", Serialize(instance, next));
            _database.AddTime(command, "now", _time.GetUtcNow());
            SagaStoreDatabase.AddText(command, "type", _typeName);
            _database.AddGuid(command, "id", instance.CorrelationId);
            SagaStoreDatabase.AddInt64(command, "expected", expectedVersion);
            if (await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
            {
                SetVersion(instance, expectedVersion);
                throw new SagaStoreConcurrencyException($"Saga update conflict: version {expectedVersion} is no longer current",
                    typeof(TSaga), instance.CorrelationId);
            }
        }

        SetVersion(instance, next);
        return next;
    }

    /// <summary>Removes the instance if its stored version is still <paramref name="expectedVersion"/>; otherwise raises <see cref="SagaStoreConcurrencyException"/>.</summary>
    public async Task DeleteAsync(TSaga instance, long expectedVersion, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(instance);
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            await using var command = _database.CreateCommand(connection,
                $"DELETE FROM {Table} WHERE saga_type = @type AND correlation_id = @id AND version = @expected");
            SagaStoreDatabase.AddText(command, "type", _typeName);
            _database.AddGuid(command, "id", instance.CorrelationId);
            SagaStoreDatabase.AddInt64(command, "expected", expectedVersion);
            if (await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
            {
                throw new SagaStoreConcurrencyException($"Saga delete conflict: version {expectedVersion} is no longer current",
                    typeof(TSaga), instance.CorrelationId);
            }
        }
    }

    /// <summary>
    /// The ids of instances matching <paramref name="filter"/> (MassTransit's <c>CorrelateBy</c>). The expression is not
    /// translated to SQL: every instance of the type is read and tested, so keep property correlation for rare events.
    /// </summary>
    public async Task<IList<Guid>> QueryAsync(Expression<Func<TSaga, bool>> filter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var predicate = filter.Compile();
        List<Guid> matches = [];
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            await using var command = _database.CreateCommand(connection, $"SELECT version, data FROM {Table} WHERE saga_type = @type");
            SagaStoreDatabase.AddText(command, "type", _typeName);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var instance = Deserialize(reader.GetString(1), reader.GetInt64(0));
                if (predicate(instance))
                {
                    matches.Add(instance.CorrelationId);
                }
            }
        }

        return matches;
    }

    public async Task<SagaRecord<TSaga>?> GetAsync(Guid correlationId, CancellationToken cancellationToken)
    {
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            await using var command = _database.CreateCommand(connection, $"""
                SELECT current_state, version, data, created_at, updated_at
                  FROM {Table} WHERE saga_type = @type AND correlation_id = @id
                """);
            SagaStoreDatabase.AddText(command, "type", _typeName);
            _database.AddGuid(command, "id", correlationId);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadRecord(reader) : null;
        }
    }

    public Task<IReadOnlyList<SagaRecord<TSaga>>> ListAsync(int skip, int take, CancellationToken cancellationToken) =>
        ListPageAsync(null, skip, take, cancellationToken);

    public Task<IReadOnlyList<SagaRecord<TSaga>>> ListExceptStateAsync(string excludedState, int skip, int take, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(excludedState);
        return ListPageAsync(excludedState, skip, take, cancellationToken);
    }

    private async Task<IReadOnlyList<SagaRecord<TSaga>>> ListPageAsync(string? excludedState, int skip, int take, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(skip);
        ArgumentOutOfRangeException.ThrowIfLessThan(take, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(take, MaxPage);
        List<SagaRecord<TSaga>> page = [];
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            // A NULL state counts as "not the excluded state" (IS DISTINCT FROM on both databases).
            await using var command = _database.CreateCommand(connection, excludedState is null
                ? $"""
                  SELECT current_state, version, data, created_at, updated_at
                    FROM {Table} WHERE saga_type = @type
                   ORDER BY created_at DESC, correlation_id DESC
                   LIMIT @take OFFSET @skip
                  """
                : $"""
                  SELECT current_state, version, data, created_at, updated_at
                    FROM {Table} WHERE saga_type = @type AND current_state IS DISTINCT FROM @excluded
                   ORDER BY created_at DESC, correlation_id DESC
                   LIMIT @take OFFSET @skip
                  """);
            SagaStoreDatabase.AddText(command, "type", _typeName);
            if (excludedState is not null)
            {
                SagaStoreDatabase.AddText(command, "excluded", excludedState);
            }

            SagaStoreDatabase.AddInt64(command, "take", take);
            SagaStoreDatabase.AddInt64(command, "skip", skip);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                page.Add(ReadRecord(reader));
            }
        }

        return page;
    }

    private static void SetVersion(TSaga instance, long version)
    {
        if (instance is ISagaVersion versioned)
        {
            versioned.Version = checked((int)version);
        }
    }

    private SagaRecord<TSaga> ReadRecord(DbDataReader reader)
    {
        var version = reader.GetInt64(1);
        return new SagaRecord<TSaga>(
            Deserialize(reader.GetString(2), version),
            reader.IsDBNull(0) ? null : reader.GetString(0),
            version,
            _database.GetTime(reader, 3),
            _database.GetTime(reader, 4));
    }

    private string Serialize(TSaga instance, long version)
    {
        SetVersion(instance, version);
        return JsonSerializer.Serialize(instance, _serializerOptions);
    }

    private TSaga Deserialize(string json, long version)
    {
        var instance = JsonSerializer.Deserialize<TSaga>(json, _serializerOptions)
                       ?? throw new JsonException($"The stored {typeof(TSaga).Name} is JSON null.");
        SetVersion(instance, version);
        return instance;
    }
}

using System.Data;
using System.Data.Common;
using Passthrough.Contracts.CoordinatorEvents;
using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Pci;
using Passthrough.Coordinator.Persistence;

namespace Passthrough.Coordinator.Claims;

/// <summary>One claimed resource.</summary>
/// <param name="Resource">The key: <c>device:&lt;host&gt;/&lt;bdf&gt;</c> or <c>vm:&lt;vm uuid&gt;</c>.</param>
/// <param name="SagaId">The saga that holds it.</param>
/// <param name="Kind">That saga's kind.</param>
/// <param name="ClaimedAt">When it was claimed.</param>
public sealed record ResourceClaim(string Resource, Guid SagaId, SagaKind Kind, DateTimeOffset ClaimedAt);

/// <summary>The answer of <see cref="ResourceClaimStore.TryClaimAsync"/>: claimed, or who holds what.</summary>
/// <param name="HeldBy">The saga holding <paramref name="Resource"/>, when the claim failed.</param>
/// <param name="Resource">The first resource found held by another saga.</param>
public sealed record ClaimResult(Guid? HeldBy, string? Resource)
{
    public static ClaimResult Claimed { get; } = new(null, null);

    public bool Succeeded => HeldBy is null;
}

/// <summary>
/// One active saga per device and per VM: a table of claims in the saga store (same database as the sagas, so a
/// restarted coordinator and its replicas see the same claims). Claims are taken all-or-none in one transaction and
/// released when the saga finishes.
/// </summary>
public sealed class ResourceClaimStore
{
    private const string Table = SagaStoreDatabase.ClaimTable;

    private readonly SagaStoreDatabase _database;
    private readonly TimeProvider _time;

    internal ResourceClaimStore(SagaStoreDatabase database, TimeProvider time)
    {
        _database = database;
        _time = time;
    }

    /// <summary>The claim key of a device on a host.</summary>
    public static string DeviceKey(HostId host, PciAddress device) => $"device:{host}/{device}";

    /// <summary>The claim key of a VM.</summary>
    public static string VmKey(VmId vm) => $"vm:{vm}";

    /// <summary>Every resource a saga on <paramref name="vm"/> with <paramref name="devices"/> works on.</summary>
    public static IReadOnlyList<string> KeysFor(HostId host, VmId vm, IEnumerable<PciAddress> devices) =>
        [VmKey(vm), .. devices.Select(device => DeviceKey(host, device))];

    /// <summary>
    /// Claims every one of <paramref name="resources"/> for <paramref name="sagaId"/>, or none: when another saga holds
    /// one, nothing is claimed and the answer names that saga and resource. Resources this saga holds already count as
    /// claimed, so a retried message claims again harmlessly.
    /// </summary>
    public async Task<ClaimResult> TryClaimAsync(Guid sagaId, SagaKind kind, IReadOnlyCollection<string> resources, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(resources);
        if (resources.Count == 0)
        {
            return ClaimResult.Claimed;
        }

        // A fixed order, so two transactions claiming overlapping sets on PostgreSQL never wait on each other in a cycle.
        var ordered = resources.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var now = _time.GetUtcNow();
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            // SQLite: BEGIN IMMEDIATE takes the write lock at once (no read-to-write upgrade deadlock between two claimers).
            // PostgreSQL: the primary key makes a second inserter of a resource wait for the first transaction and then
            // skip it; read committed then lets the SELECT see the winner's row.
            var transaction = await BeginAsync(connection, cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                foreach (var resource in ordered)
                {
                    await using var insert = _database.CreateCommand(connection, $"""
                        INSERT INTO {Table} (resource, saga_id, kind, claimed_at) VALUES (@resource, @saga, @kind, @now)
                        ON CONFLICT (resource) DO NOTHING
                        """);
                    insert.Transaction = transaction;
                    SagaStoreDatabase.AddText(insert, "resource", resource);
                    _database.AddGuid(insert, "saga", sagaId);
                    SagaStoreDatabase.AddText(insert, "kind", kind.ToString());
                    _database.AddTime(insert, "now", now);
                    await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                foreach (var resource in ordered)
                {
                    await using var select = _database.CreateCommand(connection, $"SELECT saga_id FROM {Table} WHERE resource = @resource");
                    select.Transaction = transaction;
                    SagaStoreDatabase.AddText(select, "resource", resource);
                    await using var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                    if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false) && _database.GetGuid(reader, 0) is var holder && holder != sagaId)
                    {
                        await reader.DisposeAsync().ConfigureAwait(false);
                        await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
                        return new ClaimResult(holder, resource);
                    }
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        return ClaimResult.Claimed;
    }

    /// <summary>Releases every claim of <paramref name="sagaId"/>; returns how many there were (0 when already released).</summary>
    public async Task<int> ReleaseAsync(Guid sagaId, CancellationToken cancellationToken)
    {
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            await using var command = _database.CreateCommand(connection, $"DELETE FROM {Table} WHERE saga_id = @saga");
            _database.AddGuid(command, "saga", sagaId);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Every claim, oldest first.</summary>
    public async Task<IReadOnlyList<ResourceClaim>> ListAsync(CancellationToken cancellationToken)
    {
        List<ResourceClaim> claims = [];
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            await using var command = _database.CreateCommand(connection,
                $"SELECT resource, saga_id, kind, claimed_at FROM {Table} ORDER BY claimed_at, resource");
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                claims.Add(new ResourceClaim(reader.GetString(0), _database.GetGuid(reader, 1), Enum.Parse<SagaKind>(reader.GetString(2)),
                    _database.GetTime(reader, 3)));
            }
        }

        return claims;
    }

    private static async Task<DbTransaction> BeginAsync(DbConnection connection, CancellationToken cancellationToken) =>
        connection is Microsoft.Data.Sqlite.SqliteConnection sqlite
            ? sqlite.BeginTransaction(IsolationLevel.Serializable, deferred: false)
            : await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken).ConfigureAwait(false);
}

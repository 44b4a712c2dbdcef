using MassTransit;

namespace Passthrough.Coordinator.Persistence;

/// <summary>A stored saga instance with the store's bookkeeping.</summary>
/// <typeparam name="TSaga">The saga type.</typeparam>
/// <param name="Instance">The instance as last saved.</param>
/// <param name="CurrentState">The state name at the last save, when the instance has one.</param>
/// <param name="Version">The optimistic-concurrency version: 1 after the insert, one more per update.</param>
/// <param name="CreatedAt">When the instance was first saved.</param>
/// <param name="UpdatedAt">When the instance was last saved.</param>
public sealed record SagaRecord<TSaga>(TSaga Instance, string? CurrentState, long Version, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
    where TSaga : class, ISaga;

/// <summary>
/// Reads saga instances of one type from the saga store, for the HTTP API and operators; never for saga logic (which
/// must go through the bus so optimistic concurrency applies). Registered for every saga that uses the store.
/// </summary>
/// <typeparam name="TSaga">The saga type.</typeparam>
public interface ISagaStateReader<TSaga>
    where TSaga : class, ISaga
{
    /// <summary>The instance with <paramref name="correlationId"/>, or null when there is none (never saved, or finalized and removed).</summary>
    Task<SagaRecord<TSaga>?> GetAsync(Guid correlationId, CancellationToken cancellationToken);

    /// <summary>One page of instances, newest first (by creation time, then correlation id).</summary>
    /// <param name="skip">How many of the newest to pass over; 0 or more.</param>
    /// <param name="take">How many to return; 1 to 1000.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    Task<IReadOnlyList<SagaRecord<TSaga>>> ListAsync(int skip, int take, CancellationToken cancellationToken);

    /// <summary>
    /// One page of instances whose stored state is not <paramref name="excludedState"/> (e.g. every unfinished saga),
    /// newest first; the database filters, so finished sagas are never read.
    /// </summary>
    /// <param name="excludedState">The state name to leave out.</param>
    /// <param name="skip">How many of the newest matches to pass over; 0 or more.</param>
    /// <param name="take">How many to return; 1 to 1000.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    Task<IReadOnlyList<SagaRecord<TSaga>>> ListExceptStateAsync(string excludedState, int skip, int take, CancellationToken cancellationToken);
}

using MassTransit;
using MassTransit.Context;
using MassTransit.Middleware;
using MassTransit.Saga;

namespace Passthrough.Coordinator.Persistence;

/// <summary>
/// The saga store as one message sees it. MassTransit's saga pipe calls, per message: <see cref="Insert"/> (initiating
/// events with insert-on-initial) or <see cref="Load"/>, runs the state machine, then <see cref="Update"/> /
/// <see cref="Delete"/>; or, for a new instance, <see cref="Add"/> before and <see cref="Save"/> after. The version read
/// by Load/Insert is remembered here and checked by Update/Delete, so a concurrent change surfaces as
/// <see cref="SagaStoreConcurrencyException"/> and the message is retried against the fresh instance.
/// </summary>
internal sealed class SagaStoreRepositoryContext<TSaga, TMessage> :
    ConsumeContextScope<TMessage>,
    SagaRepositoryContext<TSaga, TMessage>
    where TSaga : class, ISaga
    where TMessage : class
{
    private readonly SagaTable<TSaga> _table;
    private readonly ConsumeContext<TMessage> _consumeContext;
    private readonly ISagaConsumeContextFactory<SagaTable<TSaga>, TSaga> _factory;
    private readonly Dictionary<Guid, long> _versions = [];

    public SagaStoreRepositoryContext(SagaTable<TSaga> table, ConsumeContext<TMessage> consumeContext,
        ISagaConsumeContextFactory<SagaTable<TSaga>, TSaga> factory)
        : base(consumeContext)
    {
        _table = table;
        _consumeContext = consumeContext;
        _factory = factory;
    }

    public Task<SagaConsumeContext<TSaga, T>> CreateSagaConsumeContext<T>(ConsumeContext<T> consumeContext, TSaga instance,
        SagaConsumeContextMode mode)
        where T : class =>
        _factory.CreateSagaConsumeContext(_table, consumeContext, instance, mode);

    /// <summary>A new instance, kept in memory until <see cref="Save"/>.</summary>
    public Task<SagaConsumeContext<TSaga, TMessage>> Add(TSaga instance) =>
        _factory.CreateSagaConsumeContext(_table, _consumeContext, instance, SagaConsumeContextMode.Add);

    /// <summary>Inserts before the event runs; null when the instance already exists (MassTransit then loads it).</summary>
    public async Task<SagaConsumeContext<TSaga, TMessage>> Insert(TSaga instance)
    {
        ArgumentNullException.ThrowIfNull(instance);
        try
        {
            _versions[instance.CorrelationId] = await _table.InsertAsync(instance, CancellationToken).ConfigureAwait(false);
        }
        catch (SagaStoreConcurrencyException)
        {
            return null!;
        }

        return await _factory.CreateSagaConsumeContext(_table, _consumeContext, instance, SagaConsumeContextMode.Insert).ConfigureAwait(false);
    }

    public async Task<SagaConsumeContext<TSaga, TMessage>> Load(Guid correlationId)
    {
        var loaded = await _table.LoadAsync(correlationId, CancellationToken).ConfigureAwait(false);
        if (loaded is not { } found)
        {
            return null!;
        }

        _versions[correlationId] = found.Version;
        return await _factory.CreateSagaConsumeContext(_table, _consumeContext, found.Instance, SagaConsumeContextMode.Load).ConfigureAwait(false);
    }

    /// <summary>Inserts an instance created by <see cref="Add"/>; a concurrent insert of the same id is a conflict (retried, then loaded).</summary>
    public async Task Save(SagaConsumeContext<TSaga> context)
    {
        ArgumentNullException.ThrowIfNull(context);
        _versions[context.Saga.CorrelationId] = await _table.InsertAsync(context.Saga, CancellationToken).ConfigureAwait(false);
    }

    public async Task Update(SagaConsumeContext<TSaga> context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var id = context.Saga.CorrelationId;
        _versions[id] = await _table.UpdateAsync(context.Saga, ExpectedVersion(id), CancellationToken).ConfigureAwait(false);
    }

    public async Task Delete(SagaConsumeContext<TSaga> context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var id = context.Saga.CorrelationId;
        await _table.DeleteAsync(context.Saga, ExpectedVersion(id), CancellationToken).ConfigureAwait(false);
        _versions.Remove(id);
    }

    /// <summary>An added instance that completed in the same message was never stored: nothing to do.</summary>
    public Task Discard(SagaConsumeContext<TSaga> context) => Task.CompletedTask;

    /// <summary>Read-only policies change nothing in the store: nothing to undo.</summary>
    public Task Undo(SagaConsumeContext<TSaga> context) => Task.CompletedTask;

    private long ExpectedVersion(Guid correlationId) =>
        _versions.TryGetValue(correlationId, out var version)
            ? version
            : throw new InvalidOperationException(
                $"Saga {typeof(TSaga).Name} {correlationId} was not loaded or inserted through this repository context; its version is unknown.");
}

/// <summary>Load and query outside a message (<c>ILoadSagaRepository</c>, <c>IQuerySagaRepository</c>).</summary>
internal sealed class SagaStoreQueryContext<TSaga> :
    BasePipeContext,
    LoadSagaRepositoryContext<TSaga>,
    QuerySagaRepositoryContext<TSaga>
    where TSaga : class, ISaga
{
    private readonly SagaTable<TSaga> _table;

    public SagaStoreQueryContext(SagaTable<TSaga> table, CancellationToken cancellationToken)
        : base(cancellationToken)
    {
        _table = table;
    }

    public async Task<TSaga> Load(Guid correlationId)
    {
        var loaded = await _table.LoadAsync(correlationId, CancellationToken).ConfigureAwait(false);
        return loaded?.Instance!;
    }

    public async Task<SagaRepositoryQueryContext<TSaga>> Query(ISagaQuery<TSaga> query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var matches = await _table.QueryAsync(query.FilterExpression, cancellationToken).ConfigureAwait(false);
        return new DefaultSagaRepositoryQueryContext<TSaga>(this, matches);
    }
}

using MassTransit;
using MassTransit.Saga;

namespace Passthrough.Coordinator.Persistence;

/// <summary>
/// MassTransit's entry to the saga store for one saga type: <see cref="ISagaRepositoryContextFactory{TSaga}"/> for messages
/// (correlated by id, or by a query), and <see cref="ILoadSagaRepositoryContextFactory{TSaga}"/> /
/// <see cref="IQuerySagaRepositoryContextFactory{TSaga}"/> for <c>ILoadSagaRepository</c> / <c>IQuerySagaRepository</c>.
/// Registered scoped, like MassTransit's own repositories; see <see cref="SagaStoreRegistrationExtensions"/>.
/// </summary>
internal sealed class SagaStoreRepositoryContextFactory<TSaga> :
    ISagaRepositoryContextFactory<TSaga>,
    ILoadSagaRepositoryContextFactory<TSaga>,
    IQuerySagaRepositoryContextFactory<TSaga>
    where TSaga : class, ISaga
{
    private readonly SagaTable<TSaga> _table;
    private readonly ISagaConsumeContextFactory<SagaTable<TSaga>, TSaga> _factory;

    public SagaStoreRepositoryContextFactory(SagaTable<TSaga> table, ISagaConsumeContextFactory<SagaTable<TSaga>, TSaga> factory)
    {
        _table = table;
        _factory = factory;
    }

    public void Probe(ProbeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Add("persistence", "passthrough-saga-store");
        context.Add("provider", _table.ProviderName);
    }

    public Task Send<T>(ConsumeContext<T> context, IPipe<SagaRepositoryContext<TSaga, T>> next)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(next);
        var repositoryContext = new SagaStoreRepositoryContext<TSaga, T>(_table, context, _factory);
        return next.Send(repositoryContext);
    }

    public async Task SendQuery<T>(ConsumeContext<T> context, ISagaQuery<TSaga> query, IPipe<SagaRepositoryQueryContext<TSaga, T>> next)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(next);
        var matches = await _table.QueryAsync(query.FilterExpression, context.CancellationToken).ConfigureAwait(false);
        var repositoryContext = new SagaStoreRepositoryContext<TSaga, T>(_table, context, _factory);

        // Each match is loaded again through the repository context, so its version is read and checked on save.
        await next.Send(new DefaultSagaRepositoryQueryContext<TSaga, T>(repositoryContext, matches)).ConfigureAwait(false);
    }

    public Task<T> Execute<T>(Func<LoadSagaRepositoryContext<TSaga>, Task<T>> asyncMethod, CancellationToken cancellationToken = default)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(asyncMethod);
        return asyncMethod(new SagaStoreQueryContext<TSaga>(_table, cancellationToken));
    }

    public Task<T> Execute<T>(Func<QuerySagaRepositoryContext<TSaga>, Task<T>> asyncMethod, CancellationToken cancellationToken = default)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(asyncMethod);
        return asyncMethod(new SagaStoreQueryContext<TSaga>(_table, cancellationToken));
    }
}

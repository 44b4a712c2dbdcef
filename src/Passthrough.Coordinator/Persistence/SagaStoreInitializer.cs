using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Passthrough.Coordinator.Persistence;

/// <summary>
/// Creates the store's tables at start, so an unreachable database or a bad path stops the host at once instead of
/// failing the first message. (Every statement also ensures the schema, whatever order hosted services start in.)
/// </summary>
/// <remarks>
/// The database is resolved in <see cref="StartAsync"/>, after the host validated options (it resolves hosted services
/// first; resolving the database in the constructor would read the options before they are validated).
/// </remarks>
internal sealed class SagaStoreInitializer : IHostedService
{
    private readonly IServiceProvider _services;
    private readonly ILogger<SagaStoreInitializer> _logger;

    public SagaStoreInitializer(IServiceProvider services, ILogger<SagaStoreInitializer> logger)
    {
        _services = services;
        _logger = logger;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var database = _services.GetRequiredService<SagaStoreDatabase>();
        await database.EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        PersistenceLog.StoreReady(_logger, database.ProviderName, database.Description);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

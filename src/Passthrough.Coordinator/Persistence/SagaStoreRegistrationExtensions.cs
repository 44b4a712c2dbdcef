using System.Data.Common;
using MassTransit;
using MassTransit.Configuration;
using MassTransit.Saga;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Passthrough.Coordinator.Persistence;

/// <summary>
/// Registers the saga store (SQLite or PostgreSQL) and saga repositories on it:
/// <code>
/// services.AddPassthroughSagaStore(o => o.SqlitePath = "/var/lib/passthrough/coordinator.db");
/// services.AddMassTransit(x =>
/// {
///     x.AddSagaStateMachine&lt;PassthroughStateMachine, PassthroughSaga&gt;().PassthroughRepository();
///     x.AddDurableScheduler();
///     x.UsingRabbitMq((context, cfg) =>
///     {
///         cfg.UseSagaStoreRetry();          // conflicts and transient database errors are retried…
///         cfg.UseInMemoryOutbox(context);   // …and a retried message has sent nothing yet
///         cfg.UseDurableScheduler(context);
///         cfg.ConfigureEndpoints(context);
///     });
/// });
/// </code>
/// or, naming the database on the saga itself, <c>.SqliteRepository(path)</c> / <c>.PostgresRepository(connectionString)</c>.
/// </summary>
public static class SagaStoreRegistrationExtensions
{
    /// <summary>
    /// Adds the saga store shared by saga repositories and the durable scheduler: options (validated at start), the
    /// database, and a hosted service that creates the tables at start. Safe to call more than once; each
    /// <paramref name="configure"/> is applied in order. Bind configuration with the returned builder, e.g.
    /// <c>.BindConfiguration(SagaStoreOptions.SectionName)</c>.
    /// </summary>
    public static OptionsBuilder<SagaStoreOptions> AddPassthroughSagaStore(this IServiceCollection services,
        Action<SagaStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<SagaStoreOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        if (services.Any(descriptor => descriptor.ServiceType == typeof(SagaStoreDatabase)))
        {
            return options;
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SagaStoreOptions>, SagaStoreOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(provider => SagaStoreDatabase.Create(provider.GetRequiredService<IOptions<SagaStoreOptions>>().Value));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, SagaStoreInitializer>());
        return options;
    }

    /// <summary>Stores this saga in the store configured by <see cref="AddPassthroughSagaStore"/> (SQLite by default).</summary>
    public static ISagaRegistrationConfigurator<TSaga> PassthroughRepository<TSaga>(this ISagaRegistrationConfigurator<TSaga> configurator,
        Action<SagaRepositoryOptions<TSaga>>? configure = null)
        where TSaga : class, ISaga
    {
        ArgumentNullException.ThrowIfNull(configurator);
        configurator.Repository(repository => Register(repository, configure));
        return configurator;
    }

    /// <summary>Stores this saga in the SQLite file <paramref name="path"/> (the whole process uses that one store).</summary>
    public static ISagaRegistrationConfigurator<TSaga> SqliteRepository<TSaga>(this ISagaRegistrationConfigurator<TSaga> configurator,
        string path, Action<SagaRepositoryOptions<TSaga>>? configure = null)
        where TSaga : class, ISaga
    {
        ArgumentNullException.ThrowIfNull(configurator);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        configurator.Repository(repository =>
        {
            Select(repository, SagaStoreProvider.Sqlite, Path.GetFullPath(path));
            repository.AddPassthroughSagaStore(options =>
            {
                options.Provider = SagaStoreProvider.Sqlite;
                options.SqlitePath = path;
            });
            Register(repository, configure);
        });
        return configurator;
    }

    /// <summary>Stores this saga in PostgreSQL at <paramref name="connectionString"/> (the whole process uses that one store).</summary>
    public static ISagaRegistrationConfigurator<TSaga> PostgresRepository<TSaga>(this ISagaRegistrationConfigurator<TSaga> configurator,
        string connectionString, Action<SagaRepositoryOptions<TSaga>>? configure = null)
        where TSaga : class, ISaga
    {
        ArgumentNullException.ThrowIfNull(configurator);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        configurator.Repository(repository =>
        {
            Select(repository, SagaStoreProvider.PostgreSql, connectionString);
            repository.AddPassthroughSagaStore(options =>
            {
                options.Provider = SagaStoreProvider.PostgreSql;
                options.PostgresConnectionString = connectionString;
            });
            Register(repository, configure);
        });
        return configurator;
    }

    /// <summary>Uses the saga store for sagas added without their own repository (e.g. <c>AddSagaStateMachines(assembly)</c>).</summary>
    public static void SetPassthroughSagaRepositoryProvider(this IRegistrationConfigurator configurator)
    {
        ArgumentNullException.ThrowIfNull(configurator);
        configurator.SetSagaRepositoryProvider(new SagaStoreRepositoryRegistrationProvider());
    }

    /// <summary>
    /// Retries a message whose saga changed underneath it (<see cref="ConcurrencyException"/>, which
    /// <see cref="SagaStoreConcurrencyException"/> is) or that met a transient database error: up to
    /// <paramref name="retryLimit"/> times, exponential from 10 ms to 2 s. Configure it on the bus or the saga's endpoint,
    /// before <c>UseInMemoryOutbox</c> so each attempt's outgoing messages are discarded with the failed attempt.
    /// </summary>
    public static void UseSagaStoreRetry(this IConsumePipeConfigurator configurator, int retryLimit = 10)
    {
        ArgumentNullException.ThrowIfNull(configurator);
        ArgumentOutOfRangeException.ThrowIfLessThan(retryLimit, 1);
        configurator.UseMessageRetry(retry =>
        {
            retry.Handle<ConcurrencyException>();
            retry.Handle<DbException>(exception => exception.IsTransient);
            retry.Exponential(retryLimit, TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(20));
        });
    }

    private static void Register<TSaga>(ISagaRepositoryRegistrationConfigurator<TSaga> repository, Action<SagaRepositoryOptions<TSaga>>? configure)
        where TSaga : class, ISaga
    {
        repository.AddPassthroughSagaStore();
        var options = repository.AddOptions<SagaRepositoryOptions<TSaga>>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        repository.TryAddSingleton<SagaTable<TSaga>>();
        repository.TryAddSingleton<ISagaStateReader<TSaga>>(provider => provider.GetRequiredService<SagaTable<TSaga>>());
        repository.RegisterLoadSagaRepository<TSaga, SagaStoreRepositoryContextFactory<TSaga>>();
        repository.RegisterQuerySagaRepository<TSaga, SagaStoreRepositoryContextFactory<TSaga>>();
        repository.RegisterSagaRepository<TSaga, SagaTable<TSaga>, SagaConsumeContextFactory<SagaTable<TSaga>, TSaga>,
            SagaStoreRepositoryContextFactory<TSaga>>();
    }

    // Two sagas naming different databases would silently share whichever was configured last; refuse instead.
    private static void Select(IServiceCollection services, SagaStoreProvider provider, string target)
    {
        var selected = new SagaStoreSelection(provider, target);
        var existing = services.FirstOrDefault(descriptor => descriptor.ServiceType == typeof(SagaStoreSelection))?.ImplementationInstance;
        if (existing is SagaStoreSelection previous)
        {
            if (previous != selected)
            {
                throw new InvalidOperationException(
                    $"The saga store is already configured as {previous.Provider}; a process has one saga store, so every saga must use the same database.");
            }

            return;
        }

        services.AddSingleton(selected);
    }

    private sealed record SagaStoreSelection(SagaStoreProvider Provider, string Target);

    private sealed class SagaStoreRepositoryRegistrationProvider : ISagaRepositoryRegistrationProvider
    {
        public void Configure<TSaga>(ISagaRegistrationConfigurator<TSaga> configurator)
            where TSaga : class, ISaga =>
            configurator.PassthroughRepository();
    }
}

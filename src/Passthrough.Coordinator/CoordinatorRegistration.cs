using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Passthrough.Coordinator.Claims;
using Passthrough.Coordinator.Persistence;
using Passthrough.Coordinator.Sagas;

namespace Passthrough.Coordinator;

/// <summary>
/// The coordinator's registrations, composable with other services on one bus (the lab and the end-to-end tests run the
/// coordinator, host agents and guest agents in one process):
/// <code>
/// services.AddCoordinator();                                   // options "Coordinator", store "Coordinator:Store", claims, watchdog
/// services.AddPassthroughBus(busOptions,
///     x => x.AddCoordinatorSagas(),                           // the saga (durable repository), the durable scheduler, claim release
///     (context, cfg) => cfg.UseCoordinatorPipeline(context));  // retry, outbox, scheduler
/// app.MapCoordinatorApi();                                     // the HTTP API
/// </code>
/// </summary>
public static class CoordinatorRegistration
{
    /// <summary>The saga endpoint's default queue: <c>passthrough-saga</c>.</summary>
    public const string DefaultSagaQueue = "passthrough-saga";

    /// <summary>The claim release consumer's queue: <c>passthrough-claims</c>.</summary>
    public const string ClaimQueue = "passthrough-claims";

    /// <summary>
    /// Adds the coordinator's services: <see cref="CoordinatorOptions"/> bound from section <c>Coordinator</c> (then
    /// <paramref name="configure"/>), validated at start; the saga store bound from <c>Coordinator:Store</c>; the claim
    /// store; the watchdog. Pair with <see cref="AddCoordinatorSagas"/> in the bus registration.
    /// </summary>
    public static OptionsBuilder<CoordinatorOptions> AddCoordinator(this IServiceCollection services, Action<CoordinatorOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<CoordinatorOptions>().BindConfiguration(CoordinatorOptions.SectionName);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CoordinatorOptions>, CoordinatorOptionsValidator>());
        services.AddPassthroughSagaStore().BindConfiguration(SagaStoreOptions.SectionName);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(provider => new ResourceClaimStore(provider.GetRequiredService<SagaStoreDatabase>(), provider.GetRequiredService<TimeProvider>()));
        services.AddHostedService<SagaWatchdog>();
        return options;
    }

    /// <summary>
    /// Adds the passthrough/release saga on the durable repository (endpoint <paramref name="sagaQueue"/>), the durable
    /// scheduler its deadlines use, and the consumer that releases claims when a saga finishes.
    /// </summary>
    public static IBusRegistrationConfigurator AddCoordinatorSagas(this IBusRegistrationConfigurator configurator, string sagaQueue = DefaultSagaQueue)
    {
        ArgumentNullException.ThrowIfNull(configurator);
        ArgumentException.ThrowIfNullOrWhiteSpace(sagaQueue);
        configurator.AddSagaStateMachine<PassthroughStateMachine, PassthroughSagaState>()
            .Endpoint(endpoint => endpoint.Name = sagaQueue)
            .PassthroughRepository();
        configurator.AddDurableScheduler().BindConfiguration(DurableSchedulerOptions.SectionName);
        configurator.AddConsumer<ClaimReleaseConsumer>().Endpoint(endpoint => endpoint.Name = ClaimQueue);
        configurator.TryAddSingleton(new CoordinatorEndpoints(new Uri($"queue:{sagaQueue}")));
        return configurator;
    }

    /// <summary>
    /// The bus middleware the sagas need, in this order: retry of saga conflicts and transient store errors, the
    /// in-memory outbox (a saga's messages leave only after its state was saved), the durable scheduler.
    /// </summary>
    public static void UseCoordinatorPipeline(this IBusFactoryConfigurator configurator, IBusRegistrationContext context)
    {
        ArgumentNullException.ThrowIfNull(configurator);
        ArgumentNullException.ThrowIfNull(context);
        configurator.UseSagaStoreRetry();
        configurator.UseInMemoryOutbox(context);
        configurator.UseDurableScheduler(context);
    }
}

/// <summary>Where the API sends saga requests.</summary>
/// <param name="SagaAddress">The saga endpoint.</param>
public sealed record CoordinatorEndpoints(Uri SagaAddress);

using MassTransit;
using Microsoft.Extensions.DependencyInjection;

namespace Passthrough.Hosting;

/// <summary>
/// The one place a service picks its transport: RabbitMQ when <see cref="BusOptions.RabbitMq"/> is set, otherwise the
/// in-memory bus; usage telemetry off everywhere; never MassTransit's delayed scheduler (the broker here has no
/// delayed-exchange plugin; the coordinator's durable scheduler replaces it).
/// </summary>
public static class PassthroughBus
{
    /// <summary>
    /// Adds MassTransit with the consumers and sagas <paramref name="register"/> adds, on the transport
    /// <paramref name="options"/> names; <paramref name="configure"/> sets bus-wide middleware (before
    /// <c>ConfigureEndpoints</c>, which this calls last).
    /// </summary>
    public static IServiceCollection AddPassthroughBus(
        this IServiceCollection services,
        BusOptions options,
        Action<IBusRegistrationConfigurator> register,
        Action<IBusRegistrationContext, IBusFactoryConfigurator>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(register);

        services.AddOptions<MassTransitHostOptions>().Configure(host =>
        {
            host.WaitUntilStarted = true;
            host.StartTimeout = options.StartTimeout;
            host.StopTimeout = TimeSpan.FromSeconds(30);
        });

        services.AddMassTransit(x =>
        {
            x.DisableUsageTelemetry();
            register(x);
            if (options.RabbitMq is { } broker)
            {
                x.UsingRabbitMq((context, cfg) =>
                {
                    cfg.Host(broker);
                    cfg.PrefetchCount = options.PrefetchCount;
                    configure?.Invoke(context, cfg);
                    cfg.ConfigureEndpoints(context);
                });
            }
            else
            {
                x.UsingInMemory((context, cfg) =>
                {
                    configure?.Invoke(context, cfg);
                    cfg.ConfigureEndpoints(context);
                });
            }
        });
        return services;
    }
}

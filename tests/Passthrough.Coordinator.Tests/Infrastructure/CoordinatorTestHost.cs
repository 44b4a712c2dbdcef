using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Passthrough.Coordinator.Persistence;
using Passthrough.Coordinator.Tests.Sagas;

namespace Passthrough.Coordinator.Tests.Infrastructure;

/// <summary>How to build one coordinator-like host for a test.</summary>
public sealed record TestHostSettings(TestStore Store)
{
    public string Name { get; init; } = "host";

    /// <summary>Null: MassTransit's in-memory transport. Otherwise a RabbitMQ URI.</summary>
    public Uri? RabbitMq { get; init; }

    /// <summary>Put before every queue name (the saga's, the scheduler's), so runs on one broker never share a queue.</summary>
    public string QueuePrefix { get; init; } = string.Empty;

    public StepGate Gate { get; init; } = new();

    public ConsumedLog Consumed { get; init; } = new();

    public PingLog Pings { get; init; } = new();

    public bool WithPingConsumer { get; init; }

    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(50);

    public int BatchSize { get; init; } = 100;
}

/// <summary>
/// A Generic Host wired the way the coordinator will be: the saga store, the work saga on it, the durable scheduler,
/// retry of concurrency conflicts, the in-memory outbox, and either the in-memory transport or RabbitMQ.
/// </summary>
internal static class CoordinatorTestHost
{
    public static async Task<IHost> StartAsync(TestHostSettings settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, EnvironmentName = "Development" });
        builder.Services.AddSingleton(TestLogging.Factory);
        builder.Services.AddPassthroughSagaStore(settings.Store.Configure);
        builder.Services.AddSingleton(settings.Gate);
        builder.Services.AddSingleton(settings.Pings);
        builder.Services.AddSingleton(new HostName(settings.Name));
        builder.Services.AddOptions<MassTransitHostOptions>().Configure(options =>
        {
            options.WaitUntilStarted = true;
            options.StartTimeout = TimeSpan.FromSeconds(30);
            options.StopTimeout = TimeSpan.FromSeconds(10);
        });

        var prefix = settings.QueuePrefix;
        builder.Services.AddMassTransit(x =>
        {
            x.DisableUsageTelemetry();
            x.AddSagaStateMachine<WorkStateMachine, WorkSaga>()
                .Endpoint(e =>
                {
                    e.Name = prefix + "work";
                    e.ConcurrentMessageLimit = 8;
                })
                .PassthroughRepository();
            x.AddDurableScheduler(options =>
            {
                options.PollInterval = settings.PollInterval;
                options.BatchSize = settings.BatchSize;
            }, queueName: prefix + DurableSchedulerRegistrationExtensions.DefaultQueueName);
            if (settings.WithPingConsumer)
            {
                x.AddConsumer<PingConsumer>().Endpoint(e => e.Name = prefix + PingConsumer.QueueName);
            }

            if (settings.RabbitMq is { } rabbitMq)
            {
                x.UsingRabbitMq((context, cfg) =>
                {
                    cfg.Host(rabbitMq);
                    Configure(context, cfg, settings);
                });
            }
            else
            {
                x.UsingInMemory((context, cfg) => Configure(context, cfg, settings));
            }
        });

        var host = builder.Build();
        try
        {
            await host.StartAsync(TestContext.Current.CancellationToken);
        }
        catch
        {
            host.Dispose();
            throw;
        }

        return host;
    }

    /// <summary>Stops and disposes <paramref name="host"/>, as a coordinator process that exits.</summary>
    public static async Task StopAsync(IHost host)
    {
        ArgumentNullException.ThrowIfNull(host);
        await host.StopAsync(CancellationToken.None);
        if (host is IAsyncDisposable asyncDisposable)
        {
            await asyncDisposable.DisposeAsync();
        }
        else
        {
            host.Dispose();
        }
    }

    private static void Configure<TEndpoint>(IBusRegistrationContext context, IBusFactoryConfigurator<TEndpoint> cfg, TestHostSettings settings)
        where TEndpoint : IReceiveEndpointConfigurator
    {
        cfg.UseSagaStoreRetry();
        cfg.UseInMemoryOutbox(context);
        cfg.UseDurableScheduler(context);
        cfg.ConnectConsumeObserver(settings.Consumed);
        cfg.ConfigureEndpoints(context);
    }
}

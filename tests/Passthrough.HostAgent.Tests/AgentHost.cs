using System.Collections.Concurrent;
using System.Diagnostics;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Passthrough.Contracts.HostEvents;
using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Messaging;
using Passthrough.Hosting;
using Passthrough.Simulation;
using Passthrough.Simulation.Model;

namespace Passthrough.HostAgent.Tests;

/// <summary>A simulated host (zero latency, system clock) and its ids.</summary>
internal sealed class SimHost
{
    public SimHost(ProductProfile? product = null, Func<SimulatedHostBuilder, SimulatedHostBuilder>? configure = null, long seed = 1, string name = "xenhost-01")
    {
        var builder = new SimulatedHostBuilder(product ?? ProductProfile.XcpNg83, seed).Named(name);
        Model = (configure?.Invoke(builder) ?? builder).Build(TimeProvider.System);
        Runner = new SimulatedHostRunner(Model);
    }

    public SimulatedHost Model { get; }

    public SimulatedHostRunner Runner { get; }

    public HostId Id => new(Model.Uuid);

    public VmId Vm(string name) => new(Model.Vm(name).Uuid);

    public HostStateSnapshot Capture() => Runner.Capture();

    public string? DriverOf(Contracts.Pci.PciAddress address) => Model.Read(h => h.Function(address).BoundDriver);

    public string? NextBootHide => Model.Read(h => h.NextBootHideRaw);
}

/// <summary>
/// The host agent composed as the lab composes it: a Generic Host with <c>AddHostAgent</c> (hosts added in code with
/// simulated runners), <c>AddPassthroughBus</c> on the in-memory transport (or RabbitMQ), the per-host endpoints, and a
/// collector of every host event published.
/// </summary>
internal sealed class AgentHost : IAsyncDisposable
{
    // MassTransit keeps the first bus's logger factory in a static: every test host shares this one.
    private static readonly ILoggerFactory Loggers = LoggerFactory.Create(_ => { });

    private readonly IHost _host;
    private readonly string _directory;

    private AgentHost(IHost host, string directory)
    {
        _host = host;
        _directory = directory;
    }

    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    public IServiceProvider Services => _host.Services;

    public IBus Bus => _host.Services.GetRequiredService<IBus>();

    public EventCollector Events => _host.Services.GetRequiredService<EventCollector>();

    public static async Task<AgentHost> StartAsync(IEnumerable<SimHost> hosts, Action<HostAgentOptions>? configure = null, Uri? rabbitMq = null, string? recordDirectory = null)
    {
        var directory = recordDirectory ?? Directory.CreateTempSubdirectory("host-agent-").FullName;
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, EnvironmentName = "Testing" });
        builder.Services.AddSingleton(Loggers);
        builder.Services.AddSingleton<EventCollector>();
        builder.Services.AddHostAgent(options =>
        {
            foreach (var host in hosts)
            {
                options.AddHost(host.Id, host.Runner);
            }

            options.CommandRecordPath = Path.Combine(directory, "commands.db");
            options.Dom0 = new HostAgentDom0Options { RebootPollInterval = TimeSpan.FromMilliseconds(100), RebootPollTimeout = TimeSpan.FromSeconds(2) };
            configure?.Invoke(options);
        });
        builder.Services.AddPassthroughBus(new BusOptions { RabbitMq = rabbitMq }, x =>
        {
            x.AddHostAgentConsumers();
            foreach (var type in EventCollector.EventTypes)
            {
                x.AddConsumer(typeof(CollectingConsumer<>).MakeGenericType(type));
            }
        }, (context, cfg) => cfg.ConfigureHostAgentEndpoints(context));
        var host = builder.Build();
        await host.StartAsync(Ct);
        return new AgentHost(host, directory);
    }

    public static Task<AgentHost> StartAsync(SimHost host, Action<HostAgentOptions>? configure = null) => StartAsync([host], configure);

    public async Task SendAsync(HostId host, object command)
    {
        var endpoint = await Bus.GetSendEndpoint(AgentQueues.HostAddress(host));
        await endpoint.Send(command, command.GetType(), Ct);
    }

    /// <summary>Sends the command and waits for the reply carrying its command id.</summary>
    public async Task<ISagaReply> AskAsync(HostId host, ISagaCommand command, TimeSpan? timeout = null)
    {
        var seen = Events.Replies(command.CommandId).Count;
        await SendAsync(host, command);
        return await Events.WaitForAsync<ISagaReply>(r => r.CommandId == command.CommandId, seen, timeout);
    }

    public async Task<T> AskAsync<T>(HostId host, ISagaCommand command, TimeSpan? timeout = null)
        where T : ISagaReply
    {
        var reply = await AskAsync(host, command, timeout);
        return reply is T typed
            ? typed
            : throw new Xunit.Sdk.XunitException($"Expected {typeof(T).Name} but got {reply.GetType().Name}: {reply}{(reply is HostCommandFailed f ? " " + f.Failure : string.Empty)}");
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync(CancellationToken.None);
        _host.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // SQLite's pool may hold the file a moment longer; the temp directory goes with the machine.
        }
    }
}

/// <summary>Every host event the bus delivered, in order.</summary>
internal sealed class EventCollector
{
    public static readonly Type[] EventTypes = typeof(HostCommandFailed).Assembly.GetTypes()
        .Where(t => t.Namespace == typeof(HostCommandFailed).Namespace && t.IsClass && !t.IsAbstract)
        .ToArray();

    private readonly ConcurrentQueue<object> _events = new();

    public IReadOnlyList<object> All => [.. _events];

    public void Add(object message) => _events.Enqueue(message);

    public IReadOnlyList<ISagaReply> Replies(Guid commandId) => [.. _events.OfType<ISagaReply>().Where(r => r.CommandId == commandId)];

    /// <summary>Waits (polling, with a deadline) for the <paramref name="skip"/>+1-th event of type T matching <paramref name="match"/>.</summary>
    public async Task<T> WaitForAsync<T>(Func<T, bool> match, int skip = 0, TimeSpan? timeout = null)
    {
        var deadline = Stopwatch.StartNew();
        var limit = timeout ?? TimeSpan.FromSeconds(20);
        while (true)
        {
            var found = _events.OfType<T>().Where(match).Skip(skip).FirstOrDefault();
            if (found is not null)
            {
                return found;
            }

            if (deadline.Elapsed > limit)
            {
                throw new TimeoutException($"No {typeof(T).Name} matching within {limit}; seen: {string.Join(", ", _events.Select(e => e.GetType().Name))}");
            }

            await Task.Delay(10, TestContext.Current.CancellationToken);
        }
    }
}

/// <summary>Collects one event type.</summary>
internal sealed class CollectingConsumer<T>(EventCollector collector) : IConsumer<T>
    where T : class
{
    public Task Consume(ConsumeContext<T> context)
    {
        collector.Add(context.Message);
        return Task.CompletedTask;
    }
}

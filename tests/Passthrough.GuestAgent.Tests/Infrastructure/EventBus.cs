using System.Collections.Concurrent;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Passthrough.Contracts.GuestCommands;
using Passthrough.Contracts.GuestEvents;
using Passthrough.Contracts.Ids;

namespace Passthrough.GuestAgent.Tests.Infrastructure;

/// <summary>A guest event as a MassTransit consumer on the coordinator's side received it.</summary>
internal sealed record Received(object Message, DateTime At, Guid? MessageId, Guid? ConversationId, Guid? InitiatorId, Guid? CorrelationId);

/// <summary>
/// A MassTransit bus over the real RabbitMQ, configured as the coordinator's is (System.Text.Json, MassTransit's default
/// envelope serializer): one receive endpoint whose consumers record every guest event, and a way to send commands to an
/// agent's queue. Tests tell their messages apart by VM uuid (each test uses its own).
/// </summary>
public sealed class EventBus : IAsyncLifetime
{
    private readonly ConcurrentQueue<Received> _received = new();
    private readonly ConcurrentBag<string> _agentQueues = [];
    private IHost? _host;

    internal IReadOnlyList<Received> All => [.. _received];

    internal IBus Bus => _host!.Services.GetRequiredService<IBus>();

    public async ValueTask InitializeAsync()
    {
        await RabbitMqBroker.EnsureReachableAsync();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, EnvironmentName = "Development" });
        builder.Services.AddOptions<MassTransitHostOptions>().Configure(o =>
        {
            o.WaitUntilStarted = true;
            o.StartTimeout = TimeSpan.FromSeconds(30);
            o.StopTimeout = TimeSpan.FromSeconds(10);
        });
        var endpoint = $"guest-agent-tests-{Guid.NewGuid():N}";
        builder.Services.AddMassTransit(x =>
        {
            x.DisableUsageTelemetry();
            x.UsingRabbitMq((context, cfg) =>
            {
                cfg.Host(RabbitMqBroker.Uri);
                cfg.ReceiveEndpoint(endpoint, e =>
                {
                    e.AutoDelete = true;
                    e.Durable = false;
                    e.Handler<GuestBooted>(Record);
                    e.Handler<GuestHeartbeat>(Record);
                    e.Handler<GuestDevicesVerified>(Record);
                    e.Handler<GuestFaultDetected>(Record);
                });
            });
        });
        _host = builder.Build();
        await _host.StartAsync(TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.StopAsync(CancellationToken.None);
            _host.Dispose();
        }

        var queues = _agentQueues.Distinct().ToList();
        await RabbitMqBroker.DeleteAsync(queues, queues);
    }

    /// <summary>The events of one type for one VM received so far.</summary>
    internal IReadOnlyList<Received> Of<T>(Func<T, bool> match)
        where T : class => [.. _received.Where(r => r.Message is T message && match(message))];

    /// <summary>Waits for the first event of type <typeparamref name="T"/> matching <paramref name="match"/>.</summary>
    internal async Task<(T Message, Received Envelope)> WaitForAsync<T>(Func<T, bool> match, TimeSpan? timeout = null)
        where T : class
    {
        await Eventually.TrueAsync(() => Of(match).Count > 0, timeout ?? TimeSpan.FromSeconds(20), $"a {typeof(T).Name}");
        var received = Of(match)[0];
        return ((T)received.Message, received);
    }

    /// <summary>Sends a command the way the coordinator does: MassTransit Send to the agent's <c>queue:</c> address.</summary>
    internal async Task<Guid> SendAsync(VerifyGuestDevices command)
    {
        var queue = GuestAgentQueues.ForVm(command.Vm);
        Track(command.Vm);
        var endpoint = await Bus.GetSendEndpoint(new Uri($"queue:{queue}"));
        var messageId = NewId.NextGuid();
        await endpoint.Send(command, context => context.MessageId = messageId, TestContext.Current.CancellationToken);
        return messageId;
    }

    /// <summary>Deletes the VM's queue and exchange when the bus is disposed.</summary>
    internal void Track(VmId vm) => _agentQueues.Add(GuestAgentQueues.ForVm(vm));

    private Task Record<T>(ConsumeContext<T> context)
        where T : class
    {
        _received.Enqueue(new Received(context.Message, DateTime.UtcNow, context.MessageId, context.ConversationId, context.InitiatorId, context.CorrelationId));
        return Task.CompletedTask;
    }
}

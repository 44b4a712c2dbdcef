using System.Collections.Concurrent;
using Passthrough.Contracts.Ids;

namespace Passthrough.GuestAgent.Tests.Infrastructure;

/// <summary>A transport that records what the logic publishes; can be told to refuse publishes (an outage).</summary>
internal sealed class RecordingTransport : IGuestAgentTransport
{
    private readonly ConcurrentQueue<(object Message, GuestEventDelivery Delivery)> _published = new();

    public bool Refuse { get; set; }

    public int Attempts;

    public IGuestCommandHandler? Handler { get; private set; }

    public VmId? ReceivingFor { get; private set; }

    public IReadOnlyList<T> Published<T>() => [.. _published.Select(p => p.Message).OfType<T>()];

    public GuestEventDelivery DeliveryOf<T>() => _published.First(p => p.Message is T).Delivery;

    public Task PublishAsync<T>(T message, GuestEventDelivery delivery, CancellationToken cancellationToken)
        where T : class
    {
        Interlocked.Increment(ref Attempts);
        if (Refuse)
        {
            throw new InvalidOperationException("broker unreachable (test)");
        }

        _published.Enqueue((message, delivery));
        return Task.CompletedTask;
    }

    public Task StartReceivingAsync(VmId vm, IGuestCommandHandler handler, CancellationToken cancellationToken)
    {
        ReceivingFor = vm;
        Handler = handler;
        return Task.CompletedTask;
    }
}

using System.Collections.Concurrent;
using MassTransit;
using Passthrough.Coordinator.Tests.Sagas;

namespace Passthrough.Coordinator.Tests.Infrastructure;

/// <summary>Receives scheduled <see cref="Ping"/>s on the <c>ping-target</c> queue and records which host got which.</summary>
public sealed class PingConsumer(PingLog log, HostName host) : IConsumer<Ping>
{
    public const string QueueName = "ping-target";

    public Task Consume(ConsumeContext<Ping> context)
    {
        ArgumentNullException.ThrowIfNull(context);
        log.Received.Enqueue((host.Value, context.Message.Sequence));
        return Task.CompletedTask;
    }
}

/// <summary>Shared by the hosts of one test.</summary>
public sealed class PingLog
{
    public ConcurrentQueue<(string Host, int Sequence)> Received { get; } = new();
}

public sealed record HostName(string Value);

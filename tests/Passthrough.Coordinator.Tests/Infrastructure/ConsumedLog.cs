using System.Collections.Concurrent;
using MassTransit;

namespace Passthrough.Coordinator.Tests.Infrastructure;

/// <summary>Every message a bus consumed, by type: how a test proves a message arrived once, or never.</summary>
public sealed class ConsumedLog : IConsumeObserver
{
    private readonly ConcurrentQueue<object> _messages = new();

    public IReadOnlyList<T> OfType<T>()
        where T : class => [.. _messages.OfType<T>()];

    public Task PreConsume<T>(ConsumeContext<T> context)
        where T : class => Task.CompletedTask;

    public Task PostConsume<T>(ConsumeContext<T> context)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(context);
        _messages.Enqueue(context.Message);
        return Task.CompletedTask;
    }

    public Task ConsumeFault<T>(ConsumeContext<T> context, Exception exception)
        where T : class => Task.CompletedTask;
}

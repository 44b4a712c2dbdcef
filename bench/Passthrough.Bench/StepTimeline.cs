using System.Collections.Concurrent;
using MassTransit;
using Passthrough.Contracts.Messaging;

namespace Passthrough.Bench;

/// <summary>
/// Where a saga step's time goes, part two: bus observers on the runtime's bus stamp each host command and its reply as
/// they cross the process (keyed by command id), so a step's round trip splits into the coordinator's share (from the
/// flow's decision to the command leaving the outbox, and from the reply's delivery to the flow recording it), the
/// broker legs, and the host agent's share (from its consume starting to its reply going out). All stamps are
/// <see cref="DateTimeOffset.UtcNow"/>, the clock the saga history uses too.
/// </summary>
internal sealed class StepTimeline : IConsumeObserver, ISendObserver, IPublishObserver
{
    private readonly ConcurrentDictionary<Guid, Stamps> _commands = new();
    private readonly ConcurrentDictionary<string, ConcurrentBag<TimeSpan>> _consumes = new(StringComparer.Ordinal);

    /// <summary>The stamps of one command (null where not seen).</summary>
    internal sealed class Stamps
    {
        public DateTimeOffset? CommandSendStart;
        public DateTimeOffset? CommandSent;
        public DateTimeOffset? AgentConsumeStart;
        public DateTimeOffset? ReplyPublishStart;
        public DateTimeOffset? ReplyPublished;
        public DateTimeOffset? AgentConsumeEnd;
        public DateTimeOffset? SagaConsumeStart;
        public DateTimeOffset? SagaConsumeEnd;
    }

    /// <summary>How long each endpoint's consumers took per message type (e.g. the scheduler's), keyed "queue: type".</summary>
    public IReadOnlyDictionary<string, ConcurrentBag<TimeSpan>> Consumes => _consumes;

    public Stamps? Find(Guid commandId) => _commands.GetValueOrDefault(commandId);

    public Task PreConsume<T>(ConsumeContext<T> context)
        where T : class
    {
        var now = DateTimeOffset.UtcNow;
        context.GetOrAddPayload(() => new ConsumeStart(now));
        switch (context.Message)
        {
            case ISagaCommand command:
                Of(command.CommandId).AgentConsumeStart ??= now;
                break;
            case ISagaReply reply when IsSagaEndpoint(context):
                Of(reply.CommandId).SagaConsumeStart ??= now;
                break;
        }

        return Task.CompletedTask;
    }

    public Task PostConsume<T>(ConsumeContext<T> context)
        where T : class
    {
        Record(context);
        return Task.CompletedTask;
    }

    public Task ConsumeFault<T>(ConsumeContext<T> context, Exception exception)
        where T : class
    {
        Record(context);
        return Task.CompletedTask;
    }

    public Task PreSend<T>(SendContext<T> context)
        where T : class
    {
        if (context.Message is ISagaCommand command)
        {
            Of(command.CommandId).CommandSendStart ??= DateTimeOffset.UtcNow;
        }

        return Task.CompletedTask;
    }

    public Task PostSend<T>(SendContext<T> context)
        where T : class
    {
        if (context.Message is ISagaCommand command)
        {
            Of(command.CommandId).CommandSent ??= DateTimeOffset.UtcNow;
        }

        return Task.CompletedTask;
    }

    public Task SendFault<T>(SendContext<T> context, Exception exception)
        where T : class => Task.CompletedTask;

    public Task PrePublish<T>(PublishContext<T> context)
        where T : class
    {
        if (context.Message is ISagaReply reply)
        {
            Of(reply.CommandId).ReplyPublishStart ??= DateTimeOffset.UtcNow;
        }

        return Task.CompletedTask;
    }

    public Task PostPublish<T>(PublishContext<T> context)
        where T : class
    {
        if (context.Message is ISagaReply reply)
        {
            Of(reply.CommandId).ReplyPublished ??= DateTimeOffset.UtcNow;
        }

        return Task.CompletedTask;
    }

    public Task PublishFault<T>(PublishContext<T> context, Exception exception)
        where T : class => Task.CompletedTask;

    private void Record<T>(ConsumeContext<T> context)
        where T : class
    {
        var now = DateTimeOffset.UtcNow;
        if (context.TryGetPayload<ConsumeStart>(out var start))
        {
            var queue = context.ReceiveContext.InputAddress.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "?";
            var key = $"{(queue.StartsWith("host-", StringComparison.Ordinal) ? "host-<uuid>" : queue)}: {typeof(T).Name}";
            _consumes.GetOrAdd(key, _ => []).Add(now - start.At);
        }

        switch (context.Message)
        {
            case ISagaCommand command:
                Of(command.CommandId).AgentConsumeEnd ??= now;
                break;
            case ISagaReply reply when IsSagaEndpoint(context):
                Of(reply.CommandId).SagaConsumeEnd = now;
                break;
        }
    }

    private Stamps Of(Guid commandId) => _commands.GetOrAdd(commandId, _ => new Stamps());

    private static bool IsSagaEndpoint(ConsumeContext context) =>
        context.ReceiveContext.InputAddress.AbsolutePath.EndsWith("/passthrough-saga", StringComparison.Ordinal);

    private sealed record ConsumeStart(DateTimeOffset At);
}

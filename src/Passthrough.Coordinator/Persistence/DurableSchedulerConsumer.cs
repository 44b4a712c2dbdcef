using System.Text.Json;
using MassTransit;
using MassTransit.Context;
using MassTransit.Scheduling;
using MassTransit.Serialization;
using Microsoft.Extensions.Logging;

namespace Passthrough.Coordinator.Persistence;

/// <summary>
/// The scheduler endpoint (<c>passthrough-scheduler</c>): what <c>UseMessageScheduler</c> sends, i.e. what a state
/// machine's <c>Schedule</c> / <c>Unschedule</c> and <c>ScheduleSend</c> / <c>CancelScheduledSend</c> produce. A
/// <see cref="ScheduleMessage"/> is stored (body and context as MassTransit serialised them, keyed by its token) and
/// acknowledged at once: nothing waits unacknowledged in the broker. <see cref="ScheduledMessageSweeper"/> sends it when due.
/// </summary>
internal sealed class DurableSchedulerConsumer :
    IConsumer<ScheduleMessage>,
    IConsumer<CancelScheduledMessage>,
    IConsumer<ScheduleRecurringMessage>
{
    private const string DefaultContentType = "application/vnd.masstransit+json";

    private readonly ScheduledMessageTable _table;
    private readonly ILogger<DurableSchedulerConsumer> _logger;

    public DurableSchedulerConsumer(ScheduledMessageTable table, ILogger<DurableSchedulerConsumer> logger)
    {
        _table = table;
        _logger = logger;
    }

    public async Task Consume(ConsumeContext<ScheduleMessage> context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var message = context.Message;
        var destination = message.Destination
                          ?? throw new ArgumentException($"ScheduleMessage {message.CorrelationId} has no destination.", nameof(context));

        // The same serialiser that read the command writes the payload as a message of its own (as Quartz does), so the
        // sweeper can send it later with any transport.
        var body = context.SerializerContext.GetMessageSerializer(message.Payload, message.PayloadType)
            .GetMessageBody(new MessageSendContext<ScheduleMessage>(message));

        var record = new ScheduledMessageRecord(
            message.CorrelationId,
            ToUtc(message.ScheduledTime),
            destination,
            context.ReceiveContext.ContentType?.ToString() ?? DefaultContentType,
            message.PayloadType ?? [],
            body.GetString(),
            CaptureEnvelope(context));

        await _table.UpsertAsync(record, context.CancellationToken).ConfigureAwait(false);
        PersistenceLog.Scheduled(_logger, record.TokenId, record.DueAt, destination);
    }

    public async Task Consume(ConsumeContext<CancelScheduledMessage> context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var found = await _table.CancelAsync(context.Message.TokenId, context.CancellationToken).ConfigureAwait(false);
        PersistenceLog.Cancelled(_logger, context.Message.TokenId, found);
    }

    /// <summary>Recurring (cron) schedules are not implemented: refused, so the command lands in the error queue with a fault.</summary>
    public Task Consume(ConsumeContext<ScheduleRecurringMessage> context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var schedule = context.Message.Schedule;
        PersistenceLog.RecurringRefused(_logger, schedule?.ScheduleGroup, schedule?.ScheduleId);
        throw new NotSupportedException(
            "The passthrough durable scheduler supports one-time schedules only; recurring schedules (ScheduleRecurringSend) are refused.");
    }

    private static DateTimeOffset ToUtc(DateTime scheduledTime) =>
        scheduledTime.Kind switch
        {
            DateTimeKind.Local => new DateTimeOffset(scheduledTime.ToUniversalTime(), TimeSpan.Zero),
            _ => new DateTimeOffset(DateTime.SpecifyKind(scheduledTime, DateTimeKind.Utc), TimeSpan.Zero),
        };

    private static ScheduledMessageEnvelope CaptureEnvelope(ConsumeContext context)
    {
        var envelope = new ScheduledMessageEnvelope
        {
            MessageId = context.MessageId,
            CorrelationId = context.CorrelationId,
            ConversationId = context.ConversationId,
            InitiatorId = context.InitiatorId,
            RequestId = context.RequestId,
            SourceAddress = context.SourceAddress,
            ResponseAddress = context.ResponseAddress,
            FaultAddress = context.FaultAddress,
            ExpirationTime = context.ExpirationTime is { } expires ? ToUtc(expires) : null,
        };

        foreach (var (key, value) in context.Headers.GetAll())
        {
            envelope.Headers[key] = value is JsonElement element
                ? element.Clone()
                : JsonSerializer.SerializeToElement(value, value?.GetType() ?? typeof(object), SystemTextJsonMessageSerializer.Options);
        }

        return envelope;
    }
}

using System.Diagnostics;
using System.Threading.Channels;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Passthrough.Bench;

/// <summary>
/// The floor a saga step is compared with: a raw RabbitMQ.Client round trip with the same durability a saga step has —
/// a persistent message published with publisher confirms to a "command" queue, consumed with a manual ack by a
/// responder that publishes a persistent, confirmed reply to a "reply" queue, consumed with a manual ack by the caller.
/// One message outstanding at a time, as one saga waits for one step.
/// </summary>
internal static class RawRabbitRoundTrip
{
    public static async Task<LatencyStats> MeasureAsync(Uri broker, int warmup, int samples, CancellationToken cancellationToken)
    {
        var factory = new ConnectionFactory { Uri = broker, ClientProvidedName = "passthrough-bench-raw" };
        await using var connection = await factory.CreateConnectionAsync(cancellationToken).ConfigureAwait(false);
        var confirms = new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true);
        await using var callerChannel = await connection.CreateChannelAsync(confirms, cancellationToken).ConfigureAwait(false);
        await using var responderChannel = await connection.CreateChannelAsync(confirms, cancellationToken).ConfigureAwait(false);

        var suffix = Guid.NewGuid().ToString("N")[..8];
        var commandQueue = $"bench-raw-command-{suffix}";
        var replyQueue = $"bench-raw-reply-{suffix}";
        // Durable, not exclusive or auto-delete: the same kind of queue a saga step crosses; deleted at the end.
        await callerChannel.QueueDeclareAsync(commandQueue, durable: true, exclusive: false, autoDelete: false, cancellationToken: cancellationToken).ConfigureAwait(false);
        await callerChannel.QueueDeclareAsync(replyQueue, durable: true, exclusive: false, autoDelete: false, cancellationToken: cancellationToken).ConfigureAwait(false);
        try
        {
            var persistent = new BasicProperties { DeliveryMode = DeliveryModes.Persistent, ContentType = "application/json" };
            var payload = new byte[512];
            Random.Shared.NextBytes(payload);

            var responder = new AsyncEventingBasicConsumer(responderChannel);
            responder.ReceivedAsync += async (_, delivery) =>
            {
                await responderChannel.BasicPublishAsync(string.Empty, replyQueue, mandatory: false, persistent, delivery.Body, cancellationToken).ConfigureAwait(false);
                await responderChannel.BasicAckAsync(delivery.DeliveryTag, multiple: false, cancellationToken).ConfigureAwait(false);
            };
            await responderChannel.BasicConsumeAsync(commandQueue, autoAck: false, responder, cancellationToken).ConfigureAwait(false);

            var replies = Channel.CreateUnbounded<bool>();
            var caller = new AsyncEventingBasicConsumer(callerChannel);
            caller.ReceivedAsync += async (_, delivery) =>
            {
                await callerChannel.BasicAckAsync(delivery.DeliveryTag, multiple: false, cancellationToken).ConfigureAwait(false);
                replies.Writer.TryWrite(true);
            };
            await callerChannel.BasicConsumeAsync(replyQueue, autoAck: false, caller, cancellationToken).ConfigureAwait(false);

            var results = new List<TimeSpan>(samples);
            for (var i = 0; i < warmup + samples; i++)
            {
                var started = Stopwatch.GetTimestamp();
                await callerChannel.BasicPublishAsync(string.Empty, commandQueue, mandatory: false, persistent, payload, cancellationToken).ConfigureAwait(false);
                await replies.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                if (i >= warmup)
                {
                    results.Add(Stopwatch.GetElapsedTime(started));
                }
            }

            return LatencyStats.From(results);
        }
        finally
        {
            await callerChannel.QueueDeleteAsync(commandQueue, cancellationToken: CancellationToken.None).ConfigureAwait(false);
            await callerChannel.QueueDeleteAsync(replyQueue, cancellationToken: CancellationToken.None).ConfigureAwait(false);
        }
    }
}

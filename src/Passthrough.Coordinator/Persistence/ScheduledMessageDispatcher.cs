using System.Globalization;
using System.Net.Mime;
using System.Text.Json;
using MassTransit;
using MassTransit.Serialization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Passthrough.Coordinator.Persistence;

/// <summary>
/// Sends scheduled messages when they fall due (the work of one sweep; <see cref="ScheduledMessageSweeper"/> runs it on a
/// timer). Each sweep claims a batch of due rows (atomically, so several sweepers
/// on one PostgreSQL store never claim the same row), sends each to its destination with its original body, ids and
/// headers plus MassTransit's scheduling token header, and deletes it only after the send completed. A failed send is
/// released with a growing delay; a failed sweep (database down) backs off; a sweeper that dies after claiming leaves
/// its rows to others when the claim times out. Delivery is at least once: a state machine ignores a stale or repeated
/// timeout because its token no longer matches.
/// </summary>
internal sealed class ScheduledMessageDispatcher
{
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromSeconds(1);

    private readonly ScheduledMessageTable _table;
    private readonly IBusControl _bus;
    private readonly DurableSchedulerOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<ScheduledMessageDispatcher> _logger;

    public ScheduledMessageDispatcher(ScheduledMessageTable table, IBusControl bus, IOptions<DurableSchedulerOptions> options, TimeProvider time,
        ILogger<ScheduledMessageDispatcher> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _table = table;
        _bus = bus;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    public DurableSchedulerOptions Options => _options;

    /// <summary>The store, for logs: provider and location without credentials.</summary>
    public string Store => $"{_table.ProviderName} {_table.Description}";

    /// <summary>Claims and sends everything due now; returns how many messages were sent. One iteration of the loop.</summary>
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        // Until the bus has started (or while the broker is gone) a send would fail or hang: leave the rows where they are.
        var health = _bus.CheckHealth();
        if (health.Status == BusHealthStatus.Unhealthy)
        {
            PersistenceLog.BusNotReady(_logger, health.Description);
            return 0;
        }

        var sent = 0;
        while (true)
        {
            var claimed = await _table.ClaimDueAsync(_time.GetUtcNow(), _options.ClaimTimeout, _options.BatchSize, cancellationToken)
                .ConfigureAwait(false);
            for (var i = 0; i < claimed.Count; i++)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    await ReleaseAsync(claimed.Skip(i)).ConfigureAwait(false);
                    cancellationToken.ThrowIfCancellationRequested();
                }

                try
                {
                    if (await DeliverAsync(claimed[i], cancellationToken).ConfigureAwait(false))
                    {
                        sent++;
                    }
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    // Stopping mid-send: whether or not it went out, give it back so the next sweeper sends it (at least once).
                    await ReleaseAsync(claimed.Skip(i)).ConfigureAwait(false);
                    throw;
                }
            }

            if (claimed.Count < _options.BatchSize)
            {
                return sent;
            }
        }
    }

    /// <summary>How long to wait after <paramref name="attempt"/> consecutive failures: 1 s, doubling, at most <see cref="DurableSchedulerOptions.MaxBackoff"/>.</summary>
    public TimeSpan Backoff(int attempt)
    {
        var exponent = Math.Clamp(attempt - 1, 0, 20);
        var delay = FirstBackoff * Math.Pow(2, exponent);
        return delay < _options.MaxBackoff ? delay : _options.MaxBackoff;
    }

    private async Task<bool> DeliverAsync(ClaimedScheduledMessage claimed, CancellationToken cancellationToken)
    {
        var message = claimed.Message;
        var now = _time.GetUtcNow();
        if (message.Envelope.ExpirationTime is { } expiration && expiration <= now)
        {
            PersistenceLog.Expired(_logger, message.TokenId, message.Destination, expiration);
            await _table.CompleteAsync(message.TokenId, claimed.ClaimId, CancellationToken.None).ConfigureAwait(false);
            return false;
        }

        try
        {
            var endpoint = await _bus.GetSendEndpoint(message.Destination).ConfigureAwait(false);
            await endpoint.Send(new SerializedMessageBody(), new ForwardScheduledMessagePipe(message, now), cancellationToken).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // A message that cannot be sent now is released for a later attempt; the others in the batch go on.
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
#pragma warning restore CA1031
        {
            var retryAt = now + Backoff(claimed.Attempt);
            PersistenceLog.SendFailed(_logger, exception, message.TokenId, message.Destination, claimed.Attempt, retryAt);
            await _table.ReleaseAsync(message.TokenId, claimed.ClaimId, retryAt, exception.Message, CancellationToken.None).ConfigureAwait(false);
            return false;
        }

        // The send completed: delete even if stopping was requested meanwhile, or the next process would send it again.
        await _table.CompleteAsync(message.TokenId, claimed.ClaimId, CancellationToken.None).ConfigureAwait(false);
        PersistenceLog.Sent(_logger, message.TokenId, message.Destination, message.DueAt);
        return true;
    }

    private async Task ReleaseAsync(IEnumerable<ClaimedScheduledMessage> unsent)
    {
        var now = _time.GetUtcNow();
        foreach (var claimed in unsent)
        {
            await _table.ReleaseAsync(claimed.Message.TokenId, claimed.ClaimId, now, error: null, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>Rebuilds the send context of a stored message, as MassTransit's Quartz job does for its stored triggers.</summary>
    private sealed class ForwardScheduledMessagePipe : IPipe<SendContext>
    {
        private readonly ScheduledMessageRecord _message;
        private readonly DateTimeOffset _now;

        public ForwardScheduledMessagePipe(ScheduledMessageRecord message, DateTimeOffset now)
        {
            _message = message;
            _now = now;
        }

        public Task Send(SendContext context)
        {
            var envelope = _message.Envelope;
            var deserializer = context.Serialization.GetMessageDeserializer(new ContentType(_message.ContentType));
            var headers = new DictionarySendHeaders();
            foreach (var (key, value) in envelope.Headers)
            {
                headers.Set(key, ToHeaderValue(value));
            }

            var serializerContext = deserializer.Deserialize(deserializer.GetMessageBody(_message.Body), headers, _message.Destination);

            if (envelope.MessageId.HasValue)
            {
                context.MessageId = envelope.MessageId;
            }

            context.RequestId = envelope.RequestId;
            context.ConversationId = envelope.ConversationId;
            context.CorrelationId = envelope.CorrelationId;
            context.InitiatorId = envelope.InitiatorId;
            context.SourceAddress = envelope.SourceAddress;
            context.ResponseAddress = envelope.ResponseAddress;
            context.FaultAddress = envelope.FaultAddress;
            if (_message.MessageTypes.Count > 0)
            {
                context.SupportedMessageTypes = [.. _message.MessageTypes];
            }

            if (envelope.ExpirationTime is { } expiration)
            {
                context.TimeToLive = expiration - _now;
            }

            foreach (var header in headers.GetAll())
            {
                context.Headers.Set(header.Key, header.Value);
            }

            // The state machine's Schedule checks this against the token it stored: a cancelled or replaced timeout is ignored.
            context.Headers.Set(MessageHeaders.SchedulingTokenId, _message.TokenId.ToString("N", CultureInfo.InvariantCulture));
            context.Serializer = serializerContext.GetMessageSerializer();
            return Task.CompletedTask;
        }

        public void Probe(ProbeContext context)
        {
        }

        // Transport headers take primitives; anything structured travels as its JSON text.
        private static object? ToHeaderValue(JsonElement value) =>
            value.ValueKind switch
            {
                JsonValueKind.String => value.GetString(),
                JsonValueKind.Number when value.TryGetInt64(out var integer) => integer,
                JsonValueKind.Number => value.GetDouble(),
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                JsonValueKind.Null or JsonValueKind.Undefined => null,
                _ => value.GetRawText(),
            };
    }
}

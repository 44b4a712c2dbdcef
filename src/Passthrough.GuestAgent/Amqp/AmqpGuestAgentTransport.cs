using Microsoft.Extensions.Logging;
using Passthrough.Contracts.Ids;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Passthrough.GuestAgent.Amqp;

/// <summary>Settings of the AMQP transport.</summary>
/// <param name="Broker">The broker, <c>amqp://user:password@host:5672/vhost</c> (or <c>amqps://</c>).</param>
internal sealed record AmqpTransportSettings(Uri Broker)
{
    /// <summary>How long a publish may wait for its confirm before it counts as failed; default 10 s.</summary>
    public TimeSpan PublishTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Wait between two attempts to publish the outbox's head while the broker is away; default 1 s.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>RabbitMQ.Client's automatic recovery interval, and the first connect's retry delay; default 2 s.</summary>
    public TimeSpan RecoveryInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>The longest wait between two first-connect attempts; default 30 s.</summary>
    public TimeSpan MaxConnectDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Commands fetched ahead; default 4.</summary>
    public ushort Prefetch { get; init; } = 4;
}

/// <summary>
/// The guest agent's transport over AMQP with RabbitMQ.Client (no MassTransit, so NativeAOT works), speaking MassTransit's
/// envelope: events go to the fanout exchange MassTransit binds for their type (<c>Passthrough.Contracts.GuestEvents:GuestBooted</c>),
/// commands arrive on <c>guest-&lt;vm uuid&gt;</c> (queue and fanout exchange of that name, as MassTransit's
/// <c>queue:</c> send address declares them).
/// </summary>
/// <remarks>
/// Reconnects by itself: the first connection is retried with back-off, later outages are RabbitMQ.Client's automatic
/// recovery (connection, channels, declared topology, the consumer). Reliable events go through the <see cref="Outbox"/>
/// (memory + spool) and leave it only once the broker confirmed them, so an outage or a restart loses none; heartbeats
/// are published only while connected. A command is acknowledged after its answer is in the outbox.
/// </remarks>
internal sealed class AmqpGuestAgentTransport : IGuestAgentTransport, IAsyncDisposable
{
    private readonly AmqpTransportSettings _settings;
    private readonly Outbox _outbox;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _setupGate = new(1, 1);
    private readonly string _broker;
    private IConnection? _connection;
    private IChannel? _publishChannel;
    private IChannel? _consumeChannel;
    private (VmId Vm, IGuestCommandHandler Handler)? _receiver;
    private Task? _run;
    private int _disposed;
    private string _connectionName = "passthrough-guest-agent";

    public AmqpGuestAgentTransport(AmqpTransportSettings settings, Outbox outbox, TimeProvider timeProvider, ILogger<AmqpGuestAgentTransport> logger)
    {
        _settings = settings ?? throw new ArgumentNullException(nameof(settings));
        _outbox = outbox ?? throw new ArgumentNullException(nameof(outbox));
        _time = timeProvider ?? throw new ArgumentNullException(nameof(timeProvider));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _broker = Redact(settings.Broker);
    }

    /// <summary>True while the connection and the publishing channel are open.</summary>
    public bool IsConnected => _connection is { IsOpen: true } && _publishChannel is { IsOpen: true };

    /// <summary>The outbox (for diagnostics and tests).</summary>
    public Outbox Outbox => _outbox;

    /// <summary>The broker address without credentials, for logs and messages.</summary>
    public static string Redact(Uri broker)
    {
        ArgumentNullException.ThrowIfNull(broker);
        return $"{broker.Scheme}://{broker.Host}:{(broker.IsDefaultPort ? 5672 : broker.Port)}{broker.AbsolutePath}";
    }

    /// <summary>
    /// Loads the spool and starts connecting and publishing in the background; returns at once. The connection is named
    /// after <paramref name="vm"/> (RabbitMQ's management shows which VM's agent is connected).
    /// </summary>
    public Task StartAsync(VmId vm, CancellationToken cancellationToken)
    {
        if (_run is not null)
        {
            throw new InvalidOperationException("The transport is already started.");
        }

        var loaded = _outbox.LoadSpool();
        if (loaded > 0)
        {
            AgentLog.SpoolLoaded(_logger, loaded, _outbox.Directory ?? "(none)");
        }

        _connectionName = $"passthrough-guest-agent {vm}";
        _run = Task.Run(() => RunAsync(_stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task PublishAsync<T>(T message, GuestEventDelivery delivery, CancellationToken cancellationToken)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(message);
        var type = EnvelopeCodec.EventType(typeof(T));
        var context = new EnvelopeContext(Guid.NewGuid(), _time.GetUtcNow()) { SourceAddress = SourceAddress() };
        var body = EnvelopeCodec.WriteEvent(message, context);
        if (delivery == GuestEventDelivery.Reliable)
        {
            _outbox.Enqueue(type.Exchange, context.MessageId.ToString("D"), body);
            return;
        }

        if (!IsConnected)
        {
            AgentLog.HeartbeatDropped(_logger);
            return;
        }

        try
        {
            await PublishRawAsync(type.Exchange, context.MessageId.ToString("D"), body, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            AgentLog.HeartbeatDropped(_logger);
        }
    }

    /// <inheritdoc />
    public async Task StartReceivingAsync(VmId vm, IGuestCommandHandler handler, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(handler);
        await _setupGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_receiver is not null)
            {
                throw new InvalidOperationException("The transport already receives commands.");
            }

            _receiver = (vm, handler);
            if (_connection is { IsOpen: true } connection)
            {
                await SetupConsumerAsync(connection, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _setupGate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_run is not null)
        {
            try
            {
                await _run.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Stopped.
            }
        }

        foreach (var channel in new[] { _consumeChannel, _publishChannel })
        {
            if (channel is not null)
            {
                await CloseQuietlyAsync(() => channel.CloseAsync()).ConfigureAwait(false);
                channel.Dispose();
            }
        }

        if (_connection is not null)
        {
            await CloseQuietlyAsync(() => _connection.CloseAsync(TimeSpan.FromSeconds(5))).ConfigureAwait(false);
            _connection.Dispose();
        }

        _stopping.Dispose();
        _setupGate.Dispose();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        // Until the first connection is set up; from then on RabbitMQ.Client's recovery keeps it (and its topology).
        while (true)
        {
            var connection = await ConnectAsync(cancellationToken).ConfigureAwait(false);
            await _setupGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                _publishChannel = await CreatePublishChannelAsync(connection, cancellationToken).ConfigureAwait(false);
                _connection = connection;
                if (_receiver is not null)
                {
                    await SetupConsumerAsync(connection, cancellationToken).ConfigureAwait(false);
                }

                break;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The broker went away between connecting and declaring: start over with a new connection.
                AgentLog.ConnectFailed(_logger, _broker, ex.Message, _settings.RecoveryInterval);
                _connection = null;
                _publishChannel = null;
                await CloseQuietlyAsync(() => connection.CloseAsync(TimeSpan.FromSeconds(2))).ConfigureAwait(false);
                connection.Dispose();
            }
            finally
            {
                _setupGate.Release();
            }

            await Task.Delay(_settings.RecoveryInterval, _time, cancellationToken).ConfigureAwait(false);
        }

        await SendOutboxAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<IConnection> ConnectAsync(CancellationToken cancellationToken)
    {
        var factory = new ConnectionFactory
        {
            Uri = _settings.Broker,
            AutomaticRecoveryEnabled = true,
            TopologyRecoveryEnabled = true,
            NetworkRecoveryInterval = _settings.RecoveryInterval,
            RequestedHeartbeat = TimeSpan.FromSeconds(30),
            ClientProvidedName = _connectionName,
        };
        var delay = _settings.RecoveryInterval;
        while (true)
        {
            try
            {
                var connection = await factory.CreateConnectionAsync(cancellationToken).ConfigureAwait(false);
                connection.ConnectionShutdownAsync += (_, args) =>
                {
                    if (!_stopping.IsCancellationRequested)
                    {
                        AgentLog.ConnectionLost(_logger, $"{args.ReplyCode} {args.ReplyText}");
                    }

                    return Task.CompletedTask;
                };
                connection.RecoverySucceededAsync += (_, _) =>
                {
                    AgentLog.ConnectionRecovered(_logger);
                    return Task.CompletedTask;
                };
                AgentLog.Connected(_logger, _broker);
                return connection;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                AgentLog.ConnectFailed(_logger, _broker, ex.InnerException?.Message ?? ex.Message, delay);
            }

            await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _settings.MaxConnectDelay.Ticks));
        }
    }

    private static async Task<IChannel> CreatePublishChannelAsync(IConnection connection, CancellationToken cancellationToken)
    {
        var channel = await connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true),
            cancellationToken).ConfigureAwait(false);

        // MassTransit declares each message type's exchange the same way (fanout, durable, no arguments); declaring it
        // here means a publish never hits a missing exchange, whether or not the coordinator has started yet.
        foreach (var exchange in EnvelopeCodec.EventExchanges)
        {
            await channel.ExchangeDeclareAsync(exchange, ExchangeType.Fanout, durable: true, autoDelete: false, cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        return channel;
    }

    private async Task SetupConsumerAsync(IConnection connection, CancellationToken cancellationToken)
    {
        var (vm, handler) = _receiver!.Value;
        var queue = GuestAgentQueues.ForVm(vm);
        var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken).ConfigureAwait(false);

        // The topology of a MassTransit `queue:` send address: a fanout exchange and a durable queue of the same name.
        await channel.ExchangeDeclareAsync(queue, ExchangeType.Fanout, durable: true, autoDelete: false, cancellationToken: cancellationToken).ConfigureAwait(false);
        await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, cancellationToken: cancellationToken).ConfigureAwait(false);
        await channel.QueueBindAsync(queue, queue, string.Empty, cancellationToken: cancellationToken).ConfigureAwait(false);
        await channel.BasicQosAsync(0, _settings.Prefetch, global: false, cancellationToken).ConfigureAwait(false);

        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += (_, delivery) => OnCommandAsync(channel, queue, handler, delivery);
        channel.ChannelShutdownAsync += (_, args) =>
        {
            _ = ReplaceConsumerAsync(channel, $"channel closed: {args.ReplyCode} {args.ReplyText}", cancelled: false);
            return Task.CompletedTask;
        };

        // The broker cancels a consumer whose queue was deleted (an operator's mistake, a broker reset): declare and
        // consume again rather than go deaf.
        consumer.UnregisteredAsync += (_, _) =>
        {
            _ = ReplaceConsumerAsync(channel, "the broker cancelled the consumer (queue deleted?)", cancelled: true);
            return Task.CompletedTask;
        };
        await channel.BasicConsumeAsync(queue, autoAck: false, consumer, cancellationToken).ConfigureAwait(false);
        _consumeChannel = channel;
        AgentLog.Receiving(_logger, queue);
    }

    // A channel-level error (the broker closed the channel, the connection stays open) is not recovered by RabbitMQ.Client,
    // nor is a consumer the broker cancelled: without this the agent would silently stop receiving commands. A connection
    // failure closes the channel too, and is left to automatic recovery (the connection is not open then).
    private async Task ReplaceConsumerAsync(IChannel channel, string reason, bool cancelled)
    {
        if (Volatile.Read(ref _disposed) == 1)
        {
            return;
        }

        try
        {
            var stopping = _stopping.Token;
            await Task.Delay(_settings.RetryDelay, _time, stopping).ConfigureAwait(false);
            await _setupGate.WaitAsync(stopping).ConfigureAwait(false);
            try
            {
                var broken = cancelled ? channel.IsOpen : !channel.IsOpen;
                if (!broken || _consumeChannel != channel || _connection is not { IsOpen: true } connection || Volatile.Read(ref _disposed) == 1)
                {
                    return;
                }

                AgentLog.ConsumerReplaced(_logger, reason);
                await SetupConsumerAsync(connection, stopping).ConfigureAwait(false);
                await CloseQuietlyAsync(() => channel.CloseAsync()).ConfigureAwait(false);
                channel.Dispose();
            }
            finally
            {
                _setupGate.Release();
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
        {
            // Stopping.
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            AgentLog.ConsumerReplaceFailed(_logger, ex.Message);
        }
    }

    private async Task OnCommandAsync(IChannel channel, string queue, IGuestCommandHandler handler, BasicDeliverEventArgs delivery)
    {
        var messageId = delivery.BasicProperties.MessageId ?? "(none)";
        if (!EnvelopeCodec.TryReadVerify(delivery.Body, delivery.BasicProperties.ContentType, out var command, out var envelope, out var reason))
        {
            // Not ours to answer and never will be: redelivering it would loop. (MassTransit would move it to an
            // _error/_skipped queue; the agent has no such queues and says so in its log.)
            AgentLog.CommandRejected(_logger, messageId, queue, reason);
            await channel.BasicRejectAsync(delivery.DeliveryTag, requeue: false, CancellationToken.None).ConfigureAwait(false);
            return;
        }

        try
        {
            var reply = await handler.VerifyAsync(command, _stopping.Token).ConfigureAwait(false);
            var type = EnvelopeCodec.EventType(reply.GetType());
            var context = new EnvelopeContext(Guid.NewGuid(), _time.GetUtcNow())
            {
                CorrelationId = command.SagaId,
                ConversationId = envelope.ConversationId,
                InitiatorId = envelope.MessageId,
                SourceAddress = SourceAddress(),
            };
            _outbox.Enqueue(type.Exchange, context.MessageId.ToString("D"), EnvelopeCodec.WriteEvent(reply, context));
            await channel.BasicAckAsync(delivery.DeliveryTag, multiple: false, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !_stopping.IsCancellationRequested)
        {
            // The handler answers what the guest lacks; an exception here is the agent's own trouble. Give the command
            // back after a pause (the broker redelivers it; a command answered before is answered from the record).
            AgentLog.CommandFailed(_logger, messageId, ex.Message);
            await Task.Delay(_settings.RetryDelay, _time, CancellationToken.None).ConfigureAwait(false);
            await CloseQuietlyAsync(() => channel.BasicNackAsync(delivery.DeliveryTag, multiple: false, requeue: true).AsTask()).ConfigureAwait(false);
        }
    }

    private async Task SendOutboxAsync(CancellationToken cancellationToken)
    {
        var failing = false;
        var publishedSinceFailure = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            await _outbox.WaitAsync(cancellationToken).ConfigureAwait(false);
            var entry = _outbox.Peek();
            if (entry is null)
            {
                continue;
            }

            try
            {
                await PublishRawAsync(entry.Exchange, entry.MessageId, entry.Body, cancellationToken).ConfigureAwait(false);
                _outbox.Complete(entry);
                if (failing)
                {
                    publishedSinceFailure++;
                    if (_outbox.Count == 0)
                    {
                        AgentLog.OutboxDrained(_logger, publishedSinceFailure);
                        failing = false;
                        publishedSinceFailure = 0;
                    }
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                if (!failing)
                {
                    failing = true;
                    AgentLog.PublishFailed(_logger, entry.Exchange, ex.Message, _outbox.Count);
                }

                await ReopenPublishChannelIfClosedAsync(cancellationToken).ConfigureAwait(false);
                await Task.Delay(_settings.RetryDelay, _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task PublishRawAsync(string exchange, string messageId, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        var channel = _publishChannel ?? throw new InvalidOperationException("Not connected to RabbitMQ yet.");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_settings.PublishTimeout);
        var properties = new BasicProperties
        {
            ContentType = EnvelopeCodec.ContentType,
            MessageId = messageId,
            DeliveryMode = DeliveryModes.Persistent,
        };

        // With confirmation tracking the call completes when the broker confirmed the message and throws when it
        // refused it (nack) or the channel closed first.
        await channel.BasicPublishAsync(exchange, string.Empty, mandatory: false, properties, body, timeout.Token).ConfigureAwait(false);
    }

    // Automatic recovery reopens channels after a connection failure, not after a channel-level error (the connection
    // stays open, the channel does not): that case is ours to repair.
    private async Task ReopenPublishChannelIfClosedAsync(CancellationToken cancellationToken)
    {
        if (_connection is not { IsOpen: true } connection || _publishChannel is not { IsOpen: false } closed)
        {
            return;
        }

        try
        {
            _publishChannel = await CreatePublishChannelAsync(connection, cancellationToken).ConfigureAwait(false);
            closed.Dispose();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            AgentLog.PublishFailed(_logger, "(reopening the channel)", ex.Message, _outbox.Count);
        }
    }

    private string? SourceAddress() => _receiver is { } receiver
        ? $"rabbitmq://{_settings.Broker.Host}{_settings.Broker.AbsolutePath.TrimEnd('/')}/{GuestAgentQueues.ForVm(receiver.Vm)}"
        : null;

    private static async Task CloseQuietlyAsync(Func<Task> close)
    {
        try
        {
            await close().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Closing what is already gone.
        }
    }
}

using MassTransit;
using Passthrough.Contracts.GuestCommands;
using Passthrough.Contracts.Ids;

namespace Passthrough.GuestAgent.MassTransit;

/// <summary>
/// The guest agent transport over a MassTransit bus: events are published on the bus, commands are received on a
/// receive endpoint named <see cref="GuestAgentQueues.ForVm"/> connected to the running bus, and each answer is
/// published from the consume context (so it carries the command's conversation). Reliable events are published at
/// once; a failure surfaces to <see cref="GuestAgentLogic"/>, which keeps a fault and publishes it at its next look.
/// </summary>
public sealed class MassTransitGuestAgentTransport : IGuestAgentTransport, IAsyncDisposable
{
    private readonly IBus _bus;
    private HostReceiveEndpointHandle? _endpoint;

    /// <summary>Creates a transport on <paramref name="bus"/> (started, or starting before the agent publishes).</summary>
    public MassTransitGuestAgentTransport(IBus bus)
    {
        _bus = bus ?? throw new ArgumentNullException(nameof(bus));
    }

    /// <inheritdoc />
    public async Task PublishAsync<T>(T message, GuestEventDelivery delivery, CancellationToken cancellationToken)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(message);
        if (delivery == GuestEventDelivery.Reliable)
        {
            await _bus.Publish(message, cancellationToken).ConfigureAwait(false);
            return;
        }

        try
        {
            await _bus.Publish(message, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Best effort: a heartbeat that cannot go now is worthless later.
        }
    }

    /// <inheritdoc />
    public async Task StartReceivingAsync(VmId vm, IGuestCommandHandler handler, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(handler);
        if (_endpoint is not null)
        {
            throw new InvalidOperationException("The transport already receives commands.");
        }

        _endpoint = _bus.ConnectReceiveEndpoint(GuestAgentQueues.ForVm(vm), endpoint =>
        {
            endpoint.Handler<VerifyGuestDevices>(async context =>
            {
                var reply = await handler.VerifyAsync(context.Message, context.CancellationToken).ConfigureAwait(false);
                await context.Publish(reply, context.CancellationToken).ConfigureAwait(false);
            });
        });
        await _endpoint.Ready.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops the VM's receive endpoint.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_endpoint is { } endpoint)
        {
            _endpoint = null;
            await endpoint.StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }
}

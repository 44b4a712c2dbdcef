using Passthrough.Contracts.GuestCommands;
using Passthrough.Contracts.GuestEvents;
using Passthrough.Contracts.Ids;

namespace Passthrough.GuestAgent;

/// <summary>How hard a transport must try to deliver an event.</summary>
public enum GuestEventDelivery
{
    /// <summary>
    /// Must arrive (boot reports, faults): a transport that cannot publish now keeps the event and publishes it after it
    /// reconnects, in order. <see cref="IGuestAgentTransport.PublishAsync{T}"/> returns once the event is safely queued.
    /// </summary>
    Reliable = 0,

    /// <summary>Worthless when late (heartbeats): published if the transport is connected now, else dropped.</summary>
    BestEffort,
}

/// <summary>Answers the commands the coordinator sends to this guest's queue.</summary>
public interface IGuestCommandHandler
{
    /// <summary>Verifies the guest for <paramref name="command"/>; never throws for what the guest lacks (that is the verdict).</summary>
    Task<GuestDevicesVerified> VerifyAsync(VerifyGuestDevices command, CancellationToken cancellationToken);
}

/// <summary>
/// What <see cref="GuestAgentLogic"/> needs from a message transport: publish guest events, and deliver the commands sent
/// to the VM's queue (<see cref="GuestAgentQueues.ForVm"/>) to a handler, publishing each answer as an event. The
/// NativeAOT agent implements it over AMQP with RabbitMQ.Client; the lab and the tests over a MassTransit bus.
/// </summary>
public interface IGuestAgentTransport
{
    /// <summary>Publishes a guest event (one of the <c>Passthrough.Contracts.GuestEvents</c> records).</summary>
    /// <typeparam name="T">The event type; a transport may refuse types outside the guest events with <see cref="NotSupportedException"/>.</typeparam>
    /// <param name="message">The event.</param>
    /// <param name="delivery">Reliable (kept until published) or best effort (dropped while disconnected).</param>
    /// <param name="cancellationToken">Cancels the wait, not an event already queued.</param>
    Task PublishAsync<T>(T message, GuestEventDelivery delivery, CancellationToken cancellationToken)
        where T : class;

    /// <summary>
    /// Starts delivering the commands sent to <paramref name="vm"/>'s queue to <paramref name="handler"/> and publishing
    /// its answers. Returns once delivery is arranged, not necessarily connected: a transport that is offline starts
    /// receiving when it connects.
    /// </summary>
    Task StartReceivingAsync(VmId vm, IGuestCommandHandler handler, CancellationToken cancellationToken);
}

/// <summary>Where commands for a guest agent are sent.</summary>
public static class GuestAgentQueues
{
    /// <summary>The prefix of every guest agent queue.</summary>
    public const string Prefix = Passthrough.Contracts.Messaging.AgentQueues.GuestPrefix;

    /// <summary>The queue (and the fanout exchange of the same name bound to it) of one VM's agent: <c>guest-&lt;vm uuid&gt;</c>.</summary>
    public static string ForVm(VmId vm) => Passthrough.Contracts.Messaging.AgentQueues.ForGuest(vm);
}

using System.Collections.Concurrent;
using MassTransit;
using Passthrough.Contracts.GuestCommands;
using Passthrough.Contracts.HostCommands;
using Passthrough.Contracts.Messaging;
using Passthrough.Coordinator.Tests.Flow;

namespace Passthrough.Coordinator.Tests.Infrastructure;

/// <summary>
/// What the fake host and guest agents do: answer each command per <see cref="Decide"/> (success, failure or silence)
/// with the replies of <see cref="ScriptedHost"/>, published like a real agent's, and record every command received.
/// </summary>
internal sealed class AgentScript
{
    public ScriptedHost Host { get; } = new();

    public ConcurrentQueue<ISagaCommand> Received { get; } = new();

    public Func<ISagaCommand, Answer> Decide { get; set; } = _ => Answer.Succeed;

    /// <summary>Publish every reply twice (a redelivered reply, a retried agent).</summary>
    public bool DuplicateReplies { get; set; }

    /// <summary>Runs before the answer, e.g. to hold it while the coordinator restarts.</summary>
    public Func<ISagaCommand, Task>? BeforeAnswer { get; set; }

    public async Task HandleAsync(ConsumeContext context, ISagaCommand command)
    {
        Received.Enqueue(command);
        if (BeforeAnswer is { } before)
        {
            await before(command);
        }

        var answer = Decide(command);
        if (answer == Answer.Silence)
        {
            return;
        }

        var reply = answer == Answer.Succeed ? Host.Success(command) : ScriptedHost.Failure(command);
        await context.Publish(reply, reply.GetType(), context.CancellationToken);
        if (DuplicateReplies)
        {
            await context.Publish(reply, reply.GetType(), context.CancellationToken);
        }
    }

    /// <summary>Adds the fake host agent (queue <c>host-…</c>) and guest agent (queue <c>guest-…</c>) to a bus.</summary>
    public static void AddTo(IBusRegistrationConfigurator configurator)
    {
        configurator.AddConsumer<FakeHostAgent>().Endpoint(e => e.Name = AgentQueues.ForHost(ScriptedHost.HostId));
        configurator.AddConsumer<FakeGuestAgent>().Endpoint(e => e.Name = AgentQueues.ForGuest(ScriptedHost.VmId));
    }
}

/// <summary>A host agent that answers per the test's <see cref="AgentScript"/>.</summary>
internal sealed class FakeHostAgent(AgentScript script) :
    IConsumer<RunPreflight>, IConsumer<RunReleaseCheck>, IConsumer<SnapshotVm>, IConsumer<RevertVmSnapshot>, IConsumer<DestroyVmSnapshot>, IConsumer<DestroySnapshotsNamed>,
    IConsumer<ShutdownVm>, IConsumer<StartVm>, IConsumer<DetachPciDevices>, IConsumer<UndoPciDetach>, IConsumer<ReattachPciDevices>,
    IConsumer<AssignPciDevices>, IConsumer<RestoreVmPciKey>, IConsumer<UnassignPciDevices>, IConsumer<RebootHost>, IConsumer<CheckPciAttachment>,
    IConsumer<VerifyGuestOverSsh>
{
    public Task Consume(ConsumeContext<RunPreflight> context) => script.HandleAsync(context, context.Message);

    public Task Consume(ConsumeContext<RunReleaseCheck> context) => script.HandleAsync(context, context.Message);

    public Task Consume(ConsumeContext<SnapshotVm> context) => script.HandleAsync(context, context.Message);

    public Task Consume(ConsumeContext<RevertVmSnapshot> context) => script.HandleAsync(context, context.Message);

    public Task Consume(ConsumeContext<DestroyVmSnapshot> context) => script.HandleAsync(context, context.Message);

    public Task Consume(ConsumeContext<DestroySnapshotsNamed> context) => script.HandleAsync(context, context.Message);

    public Task Consume(ConsumeContext<ShutdownVm> context) => script.HandleAsync(context, context.Message);

    public Task Consume(ConsumeContext<StartVm> context) => script.HandleAsync(context, context.Message);

    public Task Consume(ConsumeContext<DetachPciDevices> context) => script.HandleAsync(context, context.Message);

    public Task Consume(ConsumeContext<UndoPciDetach> context) => script.HandleAsync(context, context.Message);

    public Task Consume(ConsumeContext<ReattachPciDevices> context) => script.HandleAsync(context, context.Message);

    public Task Consume(ConsumeContext<AssignPciDevices> context) => script.HandleAsync(context, context.Message);

    public Task Consume(ConsumeContext<RestoreVmPciKey> context) => script.HandleAsync(context, context.Message);

    public Task Consume(ConsumeContext<UnassignPciDevices> context) => script.HandleAsync(context, context.Message);

    public Task Consume(ConsumeContext<RebootHost> context) => script.HandleAsync(context, context.Message);

    public Task Consume(ConsumeContext<CheckPciAttachment> context) => script.HandleAsync(context, context.Message);

    public Task Consume(ConsumeContext<VerifyGuestOverSsh> context) => script.HandleAsync(context, context.Message);
}

/// <summary>A guest agent that answers per the test's <see cref="AgentScript"/>.</summary>
internal sealed class FakeGuestAgent(AgentScript script) : IConsumer<VerifyGuestDevices>
{
    public Task Consume(ConsumeContext<VerifyGuestDevices> context) => script.HandleAsync(context, context.Message);
}

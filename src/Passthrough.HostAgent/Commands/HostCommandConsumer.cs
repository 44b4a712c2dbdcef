using MassTransit;
using Passthrough.Contracts.HostCommands;

namespace Passthrough.HostAgent.Commands;

/// <summary>
/// Consumes every host command on the per-host endpoints (<c>host-&lt;uuid&gt;</c>, one message at a time per host) and
/// hands it to the <see cref="HostCommandExecutor"/> with its handler. Not wired by <c>ConfigureEndpoints</c>: its
/// endpoints are the hosts' queues (see <see cref="HostAgentRegistration.ConfigureHostAgentEndpoints"/>).
/// </summary>
[ExcludeFromConfigureEndpoints]
public sealed class HostCommandConsumer :
    IConsumer<RunPreflight>,
    IConsumer<RunReleaseCheck>,
    IConsumer<SnapshotVm>,
    IConsumer<RevertVmSnapshot>,
    IConsumer<DestroyVmSnapshot>,
    IConsumer<DestroySnapshotsNamed>,
    IConsumer<ShutdownVm>,
    IConsumer<StartVm>,
    IConsumer<DetachPciDevices>,
    IConsumer<UndoPciDetach>,
    IConsumer<ReattachPciDevices>,
    IConsumer<AssignPciDevices>,
    IConsumer<RestoreVmPciKey>,
    IConsumer<UnassignPciDevices>,
    IConsumer<RebootHost>,
    IConsumer<CheckPciAttachment>,
    IConsumer<VerifyGuestOverSsh>
{
    private readonly HostCommandExecutor _executor;
    private readonly PciDetachHandlers _detach;
    private readonly GuestSshVerifier _guests;

    /// <summary>Creates the consumer.</summary>
    public HostCommandConsumer(HostCommandExecutor executor, PciDetachHandlers detach, GuestSshVerifier guests)
    {
        _executor = executor ?? throw new ArgumentNullException(nameof(executor));
        _detach = detach ?? throw new ArgumentNullException(nameof(detach));
        _guests = guests ?? throw new ArgumentNullException(nameof(guests));
    }

    /// <inheritdoc />
    public Task Consume(ConsumeContext<RunPreflight> context) =>
        _executor.ExecuteAsync(context, context.Message.Host, changesHost: false, HostCheckHandlers.PreflightAsync);

    /// <inheritdoc />
    public Task Consume(ConsumeContext<RunReleaseCheck> context) =>
        _executor.ExecuteAsync(context, context.Message.Host, changesHost: false, HostCheckHandlers.ReleaseCheckAsync);

    /// <inheritdoc />
    public Task Consume(ConsumeContext<SnapshotVm> context) =>
        _executor.ExecuteAsync(context, context.Message.Host, changesHost: true, VmCommandHandlers.SnapshotAsync);

    /// <inheritdoc />
    public Task Consume(ConsumeContext<RevertVmSnapshot> context) =>
        _executor.ExecuteAsync(context, context.Message.Host, changesHost: true, VmCommandHandlers.RevertAsync);

    /// <inheritdoc />
    public Task Consume(ConsumeContext<DestroyVmSnapshot> context) =>
        _executor.ExecuteAsync(context, context.Message.Host, changesHost: true, VmCommandHandlers.DestroyAsync);

    /// <inheritdoc />
    public Task Consume(ConsumeContext<DestroySnapshotsNamed> context) =>
        _executor.ExecuteAsync(context, context.Message.Host, changesHost: true, VmCommandHandlers.DestroyNamedAsync);

    /// <inheritdoc />
    public Task Consume(ConsumeContext<ShutdownVm> context) =>
        _executor.ExecuteAsync(context, context.Message.Host, changesHost: true, VmCommandHandlers.ShutdownAsync);

    /// <inheritdoc />
    public Task Consume(ConsumeContext<StartVm> context) =>
        _executor.ExecuteAsync(context, context.Message.Host, changesHost: true, VmCommandHandlers.StartAsync);

    /// <inheritdoc />
    public Task Consume(ConsumeContext<DetachPciDevices> context) =>
        _executor.ExecuteAsync(context, context.Message.Host, changesHost: true, _detach.DetachAsync);

    /// <inheritdoc />
    public Task Consume(ConsumeContext<UndoPciDetach> context) =>
        _executor.ExecuteAsync(context, context.Message.Host, changesHost: true, PciDetachHandlers.UndoAsync);

    /// <inheritdoc />
    public Task Consume(ConsumeContext<ReattachPciDevices> context) =>
        _executor.ExecuteAsync(context, context.Message.Host, changesHost: true, PciDetachHandlers.ReattachAsync);

    /// <inheritdoc />
    public Task Consume(ConsumeContext<AssignPciDevices> context) =>
        _executor.ExecuteAsync(context, context.Message.Host, changesHost: true, VmCommandHandlers.AssignAsync);

    /// <inheritdoc />
    public Task Consume(ConsumeContext<RestoreVmPciKey> context) =>
        _executor.ExecuteAsync(context, context.Message.Host, changesHost: true, VmCommandHandlers.RestorePciKeyAsync);

    /// <inheritdoc />
    public Task Consume(ConsumeContext<UnassignPciDevices> context) =>
        _executor.ExecuteAsync(context, context.Message.Host, changesHost: true, VmCommandHandlers.UnassignAsync);

    /// <inheritdoc />
    public Task Consume(ConsumeContext<RebootHost> context) =>
        _executor.ExecuteAsync(context, context.Message.Host, changesHost: true, HostCheckHandlers.RebootAsync);

    /// <inheritdoc />
    public Task Consume(ConsumeContext<CheckPciAttachment> context) =>
        _executor.ExecuteAsync(context, context.Message.Host, changesHost: false, VmCommandHandlers.CheckAttachmentAsync);

    /// <inheritdoc />
    public Task Consume(ConsumeContext<VerifyGuestOverSsh> context) =>
        _executor.ExecuteAsync(context, context.Message.Host, changesHost: false, _guests.VerifyAsync);
}

using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Messaging;

// Commands the coordinator sends to one guest agent (the VM's own queue).
namespace Passthrough.Contracts.GuestCommands;

/// <summary>
/// Prove from inside the guest that the devices work: a boot id other than <paramref name="PreviousBootId"/> (the domain
/// was rebuilt), pcifront active when <paramref name="RequirePcifront"/>, every expected device present and bound.
/// </summary>
public sealed record VerifyGuestDevices(
    Guid SagaId, SagaStep Step, int Attempt, Guid CommandId,
    VmId Vm, IReadOnlyList<ExpectedDevice> Expected, string? PreviousBootId, bool RequirePcifront) : ISagaCommand;

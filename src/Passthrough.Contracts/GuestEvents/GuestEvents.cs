using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Messaging;

// Events a guest agent publishes about its own VM.
namespace Passthrough.Contracts.GuestEvents;

/// <summary>The guest agent started in a (new) boot of the VM.</summary>
public sealed record GuestBooted(
    VmId Vm, string BootId, string Kernel, GuestType GuestType, PcifrontState Pcifront,
    IReadOnlyList<GuestPciDevice> Devices, DateTimeOffset At);

/// <summary>The guest agent is alive.</summary>
public sealed record GuestHeartbeat(VmId Vm, string BootId, DateTimeOffset At);

/// <summary>The answer to <see cref="GuestCommands.VerifyGuestDevices"/>.</summary>
public sealed record GuestDevicesVerified(
    Guid SagaId, Guid CommandId, SagaStep Step, VmId Vm, bool Verified, string BootId, string Kernel,
    GuestType GuestType, PcifrontState Pcifront, IReadOnlyList<GuestPciDevice> Devices,
    IReadOnlyList<Failure> Problems, IReadOnlyList<string> Advisories) : ISagaReply;

/// <summary>The kinds of fault a guest agent reports.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<GuestFaultKind>))]
public enum GuestFaultKind
{
    PcifrontGone = 1,
    DeviceVanished,
    DriverUnbound,
}

/// <summary>Something the guest had is gone: published within a second of the change.</summary>
public sealed record GuestFaultDetected(
    VmId Vm, string BootId, GuestFaultKind Kind, Passthrough.Contracts.Pci.PciDeviceId? Device, string Detail, DateTimeOffset At);

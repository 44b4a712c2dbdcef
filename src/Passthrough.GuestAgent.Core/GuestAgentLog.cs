using Microsoft.Extensions.Logging;
using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Messaging;

namespace Passthrough.GuestAgent;

// Source-generated log messages of the guest agent's logic. Event ids are stable: 6000-6099 (the AMQP transport and the
// service use 6100-6299).
internal static partial class GuestAgentLog
{
    [LoggerMessage(EventId = 6001, Level = LogLevel.Information, Message = "Guest agent of VM {Vm} started: boot {BootId}, kernel {Kernel}, {GuestType}, pcifront {Pcifront}, {DeviceCount} PCI functions")]
    public static partial void Booted(ILogger logger, VmId vm, string bootId, string kernel, GuestType guestType, PcifrontState pcifront, int deviceCount);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Warning, Message = "Cannot probe the guest yet ({Reason}); trying again in {Delay}")]
    public static partial void StartupProbeFailed(ILogger logger, string reason, TimeSpan delay);

    [LoggerMessage(EventId = 6003, Level = LogLevel.Warning, Message = "Fault in VM {Vm}: {Kind} {Device}: {Detail}")]
    public static partial void FaultDetected(ILogger logger, VmId vm, string kind, string device, string detail);

    [LoggerMessage(EventId = 6004, Level = LogLevel.Warning, Message = "The fault watch cannot look at the guest: {Reason}")]
    public static partial void WatchFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 6005, Level = LogLevel.Information, Message = "The fault watch can look at the guest again")]
    public static partial void WatchRecovered(ILogger logger);

    [LoggerMessage(EventId = 6006, Level = LogLevel.Information, Message = "Verification {CommandId} of saga {SagaId} (attempt {Attempt}): {Verdict}, {ProblemCount} problems")]
    public static partial void Verified(ILogger logger, Guid commandId, Guid sagaId, int attempt, string verdict, int problemCount);

    [LoggerMessage(EventId = 6007, Level = LogLevel.Information, Message = "Verification {CommandId} seen before: answering from the record")]
    public static partial void VerificationReplayed(ILogger logger, Guid commandId);

    [LoggerMessage(EventId = 6008, Level = LogLevel.Warning, Message = "Publishing {MessageType} failed: {Reason}")]
    public static partial void PublishFailed(ILogger logger, string messageType, string reason);

    [LoggerMessage(EventId = 6009, Level = LogLevel.Debug, Message = "VM uuid source {Source} not usable: {Detail}")]
    public static partial void VmIdSourceUnusable(ILogger logger, string source, string detail);
}

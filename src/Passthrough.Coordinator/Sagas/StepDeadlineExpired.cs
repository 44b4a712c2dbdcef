namespace Passthrough.Coordinator.Sagas;

/// <summary>
/// A saga step's deadline: scheduled through the durable scheduler for every command, and raised by the watchdog when
/// that schedule was lost. Only the coordinator sends and consumes it; it fails the step only while
/// <paramref name="CommandId"/> is still the pending command, so duplicates are harmless.
/// </summary>
public sealed record StepDeadlineExpired(Guid SagaId, Guid CommandId);

/// <summary>
/// Send the pending command <paramref name="CommandId"/> of saga <paramref name="SagaId"/> again, with the same command
/// id: raised by the watchdog once after the coordinator starts, because a coordinator killed between saving a saga and
/// its outbox sending may have lost the command. Agents answer a repeated command id from their record, and the saga
/// takes only the first answer, so a command that did leave costs one duplicate and nothing else.
/// </summary>
public sealed record ResendPendingCommand(Guid SagaId, Guid CommandId);

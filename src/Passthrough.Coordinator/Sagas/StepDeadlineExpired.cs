namespace Passthrough.Coordinator.Sagas;

/// <summary>
/// A saga step's deadline: scheduled through the durable scheduler for every command, and raised by the watchdog when
/// that schedule was lost. Only the coordinator sends and consumes it; it fails the step only while
/// <paramref name="CommandId"/> is still the pending command, so duplicates are harmless.
/// </summary>
public sealed record StepDeadlineExpired(Guid SagaId, Guid CommandId);

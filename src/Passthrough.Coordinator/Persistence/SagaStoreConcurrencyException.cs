using MassTransit;

namespace Passthrough.Coordinator.Persistence;

/// <summary>
/// A saga instance changed between load and save (another message updated, inserted or removed it first). Derives from
/// MassTransit's <see cref="ConcurrencyException"/>, so a retry policy that handles that type (see
/// <see cref="SagaStoreRegistrationExtensions.UseSagaStoreRetry"/>) reloads the instance and runs the message again:
/// the conflict is retried, never lost.
/// </summary>
public sealed class SagaStoreConcurrencyException : ConcurrencyException
{
    public SagaStoreConcurrencyException()
    {
    }

    public SagaStoreConcurrencyException(string message, Type sagaType, Guid correlationId)
        : base(message, sagaType, correlationId)
    {
    }

    public SagaStoreConcurrencyException(string message, Type sagaType, Guid correlationId, Exception innerException)
        : base(message, sagaType, correlationId, innerException)
    {
    }
}

using MassTransit;

namespace Passthrough.Contracts.Messaging;

/// <summary>
/// What every command sent to an agent carries. <see cref="CommandId"/> is the idempotency key: an agent that sees a
/// command id again answers from its record instead of touching the host twice. A retry of the same step gets a new
/// <see cref="Attempt"/> and a new command id.
/// </summary>
[ExcludeFromTopology]
public interface ISagaCommand
{
    /// <summary>The saga (and correlation) id.</summary>
    Guid SagaId { get; }

    /// <summary>The saga step the command performs.</summary>
    SagaStep Step { get; }

    /// <summary>1 for the first attempt of the step, incremented on each retry.</summary>
    int Attempt { get; }

    /// <summary>Unique per attempt; the agent's idempotency key.</summary>
    Guid CommandId { get; }
}

/// <summary>What every answer to an <see cref="ISagaCommand"/> carries, so the saga can match it to the command it sent.</summary>
[ExcludeFromTopology]
public interface ISagaReply
{
    /// <summary>The saga id copied from the command.</summary>
    Guid SagaId { get; }

    /// <summary>The command id copied from the command.</summary>
    Guid CommandId { get; }

    /// <summary>The step copied from the command.</summary>
    SagaStep Step { get; }
}

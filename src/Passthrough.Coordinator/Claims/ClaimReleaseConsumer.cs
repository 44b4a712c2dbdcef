using MassTransit;
using Microsoft.Extensions.Logging;
using Passthrough.Contracts.CoordinatorEvents;

namespace Passthrough.Coordinator.Claims;

/// <summary>
/// Releases a saga's device and VM claims when it finishes. SagaFinished leaves through the outbox only after the
/// finished instance was saved, so claims are never released by an attempt that was rolled back; releasing twice is a
/// no-op. (A SagaFinished lost to a crash is made up for by <see cref="Sagas.SagaWatchdog"/>.)
/// </summary>
public sealed class ClaimReleaseConsumer : IConsumer<SagaFinished>
{
    private readonly ResourceClaimStore _claims;
    private readonly ILogger<ClaimReleaseConsumer> _logger;

    public ClaimReleaseConsumer(ResourceClaimStore claims, ILogger<ClaimReleaseConsumer> logger)
    {
        _claims = claims;
        _logger = logger;
    }

    public async Task Consume(ConsumeContext<SagaFinished> context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var released = await _claims.ReleaseAsync(context.Message.SagaId, context.CancellationToken).ConfigureAwait(false);
        if (released > 0)
        {
            CoordinatorLog.ClaimsReleasedOnFinish(_logger, released, context.Message.SagaId);
        }
    }
}

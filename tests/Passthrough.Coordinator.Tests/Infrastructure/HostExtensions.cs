using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Passthrough.Coordinator.Persistence;
using Passthrough.Coordinator.Tests.Sagas;

namespace Passthrough.Coordinator.Tests.Infrastructure;

internal static class HostExtensions
{
    public static Task PublishAsync<T>(this IHost host, T message)
        where T : class =>
        host.Services.GetRequiredService<IBus>().Publish(message, TestContext.Current.CancellationToken);

    public static Task<SagaRecord<WorkSaga>?> GetWorkAsync(this IHost host, Guid id) =>
        host.Services.GetRequiredService<ISagaStateReader<WorkSaga>>().GetAsync(id, TestContext.Current.CancellationToken);

    public static Task<long> ScheduledCountAsync(this IHost host) =>
        host.Services.GetRequiredService<ScheduledMessageTable>().CountAsync(TestContext.Current.CancellationToken);

    /// <summary>Waits until the stored work saga satisfies <paramref name="condition"/> and returns it.</summary>
    public static async Task<SagaRecord<WorkSaga>> WaitForWorkAsync(this IHost host, Guid id, Func<SagaRecord<WorkSaga>, bool> condition, string what,
        TimeSpan? timeout = null)
    {
        SagaRecord<WorkSaga>? record = null;
        await Eventually.HoldsAsync(async () =>
        {
            record = await host.GetWorkAsync(id);
            return record is not null && condition(record);
        }, what, timeout);
        return record!;
    }
}

internal static class ScheduledMessages
{
    /// <summary>How many scheduled messages wait in the store of the host owning <paramref name="services"/>.</summary>
    public static Task<long> ScheduledCountAsync(this IServiceProvider services) =>
        services.GetRequiredService<ScheduledMessageTable>().CountAsync(TestContext.Current.CancellationToken);
}

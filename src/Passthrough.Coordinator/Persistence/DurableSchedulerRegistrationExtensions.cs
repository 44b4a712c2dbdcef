using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Passthrough.Coordinator.Persistence;

/// <summary>
/// Registers the durable scheduler: MassTransit's scheduling contract served from the saga store, no Quartz and no
/// broker plugin. In <c>AddMassTransit</c>: <c>x.AddDurableScheduler()</c>; in the bus: <c>cfg.UseDurableScheduler(context)</c>
/// (see <see cref="SagaStoreRegistrationExtensions"/> for a complete example).
/// </summary>
public static class DurableSchedulerRegistrationExtensions
{
    /// <summary>The scheduler's queue: <c>passthrough-scheduler</c>.</summary>
    public const string DefaultQueueName = "passthrough-scheduler";

    /// <summary>
    /// Adds the scheduler endpoint <paramref name="queueName"/> (its consumer stores <c>ScheduleMessage</c>, deletes on
    /// <c>CancelScheduledMessage</c>, refuses recurring schedules), the sweeper that sends due messages, the saga store
    /// (<see cref="SagaStoreRegistrationExtensions.AddPassthroughSagaStore"/>) it keeps them in, and an
    /// <see cref="IMessageScheduler"/> for consumers. Options are validated at start; bind them with the returned builder.
    /// </summary>
    /// <remarks>
    /// The endpoint takes one message at a time, so a cancel can never overtake the schedule it cancels on one coordinator.
    /// </remarks>
    public static OptionsBuilder<DurableSchedulerOptions> AddDurableScheduler(this IBusRegistrationConfigurator configurator,
        Action<DurableSchedulerOptions>? configure = null, string queueName = DefaultQueueName)
    {
        ArgumentNullException.ThrowIfNull(configurator);
        ArgumentException.ThrowIfNullOrWhiteSpace(queueName);

        configurator.AddPassthroughSagaStore();
        var options = configurator.AddOptions<DurableSchedulerOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        configurator.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DurableSchedulerOptions>, DurableSchedulerOptionsValidator>());
        configurator.TryAddSingleton<ScheduledMessageTable>();
        configurator.TryAddSingleton<ScheduledMessageDispatcher>();

        var address = new Uri($"queue:{queueName}");
        configurator.AddSingleton(new DurableSchedulerEndpoint(address));
        configurator.AddConsumer<DurableSchedulerConsumer>().Endpoint(endpoint =>
        {
            endpoint.Name = queueName;
            endpoint.ConcurrentMessageLimit = 1;
        });
        configurator.AddMessageScheduler(address);
        configurator.AddHostedService<ScheduledMessageSweeper>();
        return options;
    }

    /// <summary>
    /// Routes the bus's scheduling (state machine <c>Schedule</c> / <c>Unschedule</c>, <c>ScheduleSend</c>) to the
    /// durable scheduler added by <see cref="AddDurableScheduler"/>. Never use the delayed-exchange scheduler here: the
    /// broker has no such plugin.
    /// </summary>
    public static void UseDurableScheduler(this IBusFactoryConfigurator configurator, IRegistrationContext context)
    {
        ArgumentNullException.ThrowIfNull(configurator);
        ArgumentNullException.ThrowIfNull(context);
        var endpoint = context.GetService<DurableSchedulerEndpoint>()
                       ?? throw new InvalidOperationException("UseDurableScheduler needs AddDurableScheduler in AddMassTransit.");
        configurator.UseMessageScheduler(endpoint.Address);
    }

    /// <summary>The scheduler's queue address, for the bus configuration.</summary>
    internal sealed record DurableSchedulerEndpoint(Uri Address);
}

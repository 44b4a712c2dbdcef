using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Passthrough.HostAgent.Commands;
using Passthrough.HostAgent.Hosts;
using Passthrough.HostAgent.Monitoring;
using Passthrough.HostAgent.Records;
using Passthrough.Shell;

namespace Passthrough.HostAgent;

/// <summary>
/// Composes the host agent into any process (its own service, the lab, tests): <see cref="AddHostAgent"/> on the
/// services, <see cref="AddHostAgentConsumers"/> in the MassTransit registration and
/// <see cref="ConfigureHostAgentEndpoints"/> in the bus configuration.
/// </summary>
public static class HostAgentRegistration
{
    /// <summary>
    /// Registers the host agent: options (validated at start; bind them with <c>.BindConfiguration("HostAgent")</c> on the
    /// returned builder), the host connections, the command record, the handlers, the monitor (inventory and heartbeats)
    /// and the record pruner. Hosts may be added in code with <see cref="HostAgentOptions.AddHost"/> in
    /// <paramref name="configure"/>.
    /// </summary>
    public static OptionsBuilder<HostAgentOptions> AddHostAgent(this IServiceCollection services, Action<HostAgentOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<HostAgentOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HostAgentOptions>, HostAgentOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ICommandRunnerFactory>(sp => new CommandRunnerFactory(SshCommandRunnerOptions.Default, sp.GetRequiredService<ILoggerFactory>()));
        services.TryAddSingleton<IHostConnections, HostConnections>();
        services.TryAddSingleton(sp =>
        {
            var agent = sp.GetRequiredService<IOptions<HostAgentOptions>>().Value;
            return new CommandRecordStore(agent.CommandRecordPath, agent.CommandRecordDurability);
        });
        services.TryAddSingleton<IGuestRunnerFactory, SshGuestRunnerFactory>();
        services.TryAddSingleton<GuestSshVerifier>();
        services.TryAddSingleton<PciDetachHandlers>();
        services.TryAddSingleton<HostCommandExecutor>();
        services.TryAddSingleton<HostMonitor>();
        services.AddHostedService(sp => sp.GetRequiredService<HostMonitor>());
        services.AddHostedService<CommandRecordPruner>();
        return options;
    }

    /// <summary>Adds the host command consumer; it is excluded from <c>ConfigureEndpoints</c> (its endpoints are the hosts' queues).</summary>
    public static IBusRegistrationConfigurator AddHostAgentConsumers(this IBusRegistrationConfigurator configurator)
    {
        ArgumentNullException.ThrowIfNull(configurator);
        configurator.AddConsumer<HostCommandConsumer>();
        return configurator;
    }

    /// <summary>
    /// Configures one receive endpoint per served host, <c>host-&lt;uuid&gt;</c>, taking one message at a time so dom0 sees
    /// one command at a time per host while hosts run in parallel. Call in the bus configuration callback (with
    /// <c>AddPassthroughBus</c>: its <c>configure</c> argument), so the endpoints exist when the bus starts.
    /// </summary>
    public static void ConfigureHostAgentEndpoints(this IBusFactoryConfigurator configurator, IBusRegistrationContext context)
    {
        ArgumentNullException.ThrowIfNull(configurator);
        ArgumentNullException.ThrowIfNull(context);
        foreach (var host in context.GetRequiredService<IHostConnections>().Hosts)
        {
            configurator.ReceiveEndpoint(host.Queue, endpoint =>
            {
                endpoint.ConcurrentMessageLimit = 1;
                endpoint.PrefetchCount = 1;
                endpoint.ConfigureConsumer<HostCommandConsumer>(context);
            });
        }
    }
}

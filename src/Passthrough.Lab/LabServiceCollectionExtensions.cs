using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Passthrough.GuestAgent.MassTransit;

namespace Passthrough.Lab;

/// <summary>Registers a simulated fleet's guest side in a host.</summary>
public static class LabServiceCollectionExtensions
{
    /// <summary>
    /// Registers <paramref name="fleet"/>, the <see cref="GuestAgentFleet"/> (<c>AddGuestAgent</c>) and the
    /// <see cref="GuestAgentSupervisor"/> that starts and stops each VM's guest agent as the VM boots and halts. Call
    /// after <c>AddMassTransit</c> (with <c>MassTransitHostOptions.WaitUntilStarted</c>) so the bus starts before the
    /// agents and stops after them. The caller owns <paramref name="fleet"/> and disposes it after the host stops.
    /// </summary>
    /// <param name="services">The host's services.</param>
    /// <param name="fleet">The fleet.</param>
    /// <param name="configure">Supervisor options (poll interval, back-off, start timeout); validated at start.</param>
    /// <param name="agents">Guest agent options (timing of every agent: heartbeats, watch interval).</param>
    public static IServiceCollection AddSimulatedFleet(
        this IServiceCollection services,
        SimulatedFleet fleet,
        Action<GuestAgentSupervisorOptions>? configure = null,
        Action<GuestAgentFleetOptions>? agents = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(fleet);
        services.AddSingleton(fleet);
        services.AddGuestAgent(agents);
        services.AddOptions<GuestAgentSupervisorOptions>().Configure(o => configure?.Invoke(o)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GuestAgentSupervisorOptions>, GuestAgentSupervisorOptionsValidator>());
        services.AddSingleton<GuestAgentSupervisor>();
        services.AddHostedService(sp => sp.GetRequiredService<GuestAgentSupervisor>());
        return services;
    }
}

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Passthrough.Contracts.Ids;

namespace Passthrough.GuestAgent.MassTransit;

/// <summary>Guest agents the host starts with itself (VMs whose guest tree exists at start).</summary>
public sealed class GuestAgentFleetOptions
{
    /// <summary>Timing of every agent; default <see cref="GuestAgentSettings.Default"/>.</summary>
    public GuestAgentSettings Settings { get; set; } = GuestAgentSettings.Default;

    /// <summary>VM → the root of its Linux guest tree.</summary>
    public IDictionary<VmId, string> LinuxGuests { get; } = new Dictionary<VmId, string>();
}

/// <summary>Registers guest agents on the host's MassTransit bus.</summary>
public static class GuestAgentRegistration
{
    /// <summary>
    /// Registers the <see cref="GuestAgentFleet"/> (start and stop agents as simulated VMs boot and stop) and starts the
    /// agents of <paramref name="configure"/>'s <see cref="GuestAgentFleetOptions.LinuxGuests"/> with the host. Call
    /// after <c>AddMassTransit</c> so the bus starts first (with <c>MassTransitHostOptions.WaitUntilStarted</c>).
    /// </summary>
    public static IServiceCollection AddGuestAgent(this IServiceCollection services, Action<GuestAgentFleetOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<GuestAgentFleetOptions>().Configure(options => configure?.Invoke(options));
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<GuestAgentFleet>();
        services.AddHostedService<GuestAgentFleetService>();
        return services;
    }
}

/// <summary>Starts the configured agents after the bus, and stops every agent before it.</summary>
internal sealed class GuestAgentFleetService(GuestAgentFleet fleet, Microsoft.Extensions.Options.IOptions<GuestAgentFleetOptions> options) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var (vm, root) in options.Value.LinuxGuests)
        {
            await fleet.StartLinuxAsync(vm, root, options.Value.Settings, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await fleet.DisposeAsync().ConfigureAwait(false);
}

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Passthrough.GuestAgent.Amqp;
using Passthrough.Shell;

namespace Passthrough.GuestAgent;

/// <summary>The guest agent service's registrations.</summary>
public static class GuestAgentServiceExtensions
{
    /// <summary>The machine-wide configuration file read after appsettings.json (optional).</summary>
    public static string MachineConfigurationFile => OperatingSystem.IsWindows()
        ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.CommonApplicationData), "Passthrough", "guest-agent.json")
        : "/etc/passthrough/guest-agent.json";

    /// <summary>
    /// Registers the guest agent on AMQP: options (section <see cref="GuestAgentOptions.Section"/>, validated at start),
    /// the platform's probe and watch, the outbox, the RabbitMQ.Client transport and the worker; plus systemd
    /// (Type=notify, journal log format) and Windows service integration, each active only in its own context.
    /// </summary>
    public static IHostApplicationBuilder AddGuestAgentService(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);

        // The machine file overrides appsettings.json beside the binary; environment variables and the command line
        // (added by the default builder after the JSON files) still override both.
        var sources = builder.Configuration.Sources;
        var lastJson = sources.Select((source, index) => (source, index)).LastOrDefault(x => x.source is FileConfigurationSource).index;
        var machineFile = new ConfigurationBuilder().AddJsonFile(MachineConfigurationFile, optional: true, reloadOnChange: false).Sources[0];
        sources.Insert(Math.Min(lastJson + 1, sources.Count), machineFile);

        builder.Services.AddSystemd();
        builder.Services.AddWindowsService(o => o.ServiceName = "PassthroughGuestAgent");

        builder.Services.AddOptions<GuestAgentOptions>()
            .Bind(builder.Configuration.GetSection(GuestAgentOptions.Section))
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<GuestAgentOptions>, GuestAgentOptionsValidator>();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<ICommandRunner>(sp => new LocalCommandRunner(sp.GetRequiredService<ILogger<LocalCommandRunner>>()));
        builder.Services.AddSingleton(sp => GuestPlatform.ForThisMachine(
            sp.GetRequiredService<IOptions<GuestAgentOptions>>().Value,
            sp.GetRequiredService<ICommandRunner>(),
            sp.GetRequiredService<ILoggerFactory>()));
        builder.Services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<GuestAgentOptions>>().Value;
            return new Outbox(options.MaxPendingEvents, options.EffectiveSpoolDirectory(), sp.GetRequiredService<ILogger<Outbox>>());
        });
        builder.Services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<GuestAgentOptions>>().Value;
            return new AmqpGuestAgentTransport(
                new AmqpTransportSettings(options.Broker!) { PublishTimeout = options.PublishTimeout },
                sp.GetRequiredService<Outbox>(),
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILogger<AmqpGuestAgentTransport>>());
        });
        builder.Services.AddHostedService<GuestAgentWorker>();
        return builder;
    }
}

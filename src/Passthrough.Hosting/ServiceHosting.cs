using Microsoft.Extensions.Hosting;

namespace Passthrough.Hosting;

/// <summary>Defaults every service process shares.</summary>
public static class ServiceHosting
{
    /// <summary>
    /// Runs under systemd (notify, journal-friendly logs) or as a Windows service when started by either, and as a console
    /// program otherwise.
    /// </summary>
    public static HostApplicationBuilder UsePassthroughServiceDefaults(this HostApplicationBuilder builder, string serviceName)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSystemd();
        builder.Services.AddWindowsService(options => options.ServiceName = serviceName);
        return builder;
    }

    /// <summary>The same defaults for any host builder, e.g. a <c>WebApplicationBuilder</c> (the coordinator serves HTTP).</summary>
    public static IHostApplicationBuilder UsePassthroughServiceDefaults(this IHostApplicationBuilder builder, string serviceName)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSystemd();
        builder.Services.AddWindowsService(options => options.ServiceName = serviceName);
        return builder;
    }
}

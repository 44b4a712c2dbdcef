using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Passthrough.Guest;
using Passthrough.GuestAgent;

// The content root is the binary's directory whatever the working directory (systemd starts services in /, the Windows
// service manager in System32), so the appsettings.json shipped beside the binary is always read.
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddGuestAgentService();
using var host = builder.Build();
try
{
    await host.RunAsync().ConfigureAwait(false);
    return 0;
}
catch (Exception ex) when (ex is OptionsValidationException or VmIdentityException or GuestProbeException or PlatformNotSupportedException)
{
    // A configuration or platform problem, already logged by the host: exit 1 with one line, not an unhandled-exception
    // crash (and a core dump) at every restart of the unit.
    await Console.Error.WriteLineAsync($"passthrough-guest-agent: {ex.Message}").ConfigureAwait(false);
    return 1;
}

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Passthrough.HostAgent;
using Passthrough.Hosting;

// The content root is the binary's directory whatever the working directory (systemd starts services in /), so the
// appsettings.json shipped beside the binary is always read.
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.UsePassthroughServiceDefaults("passthrough-host-agent");
builder.Configuration.AddJsonFile("/etc/passthrough/host-agent.json", optional: true, reloadOnChange: false);
var bus = builder.Configuration.GetSection(BusOptions.SectionName).Get<BusOptions>() ?? new BusOptions();
builder.Services.AddHostAgent().BindConfiguration(HostAgentOptions.SectionName);
builder.Services.AddPassthroughBus(bus, x => x.AddHostAgentConsumers(), (context, cfg) => cfg.ConfigureHostAgentEndpoints(context));
using var host = builder.Build();
try
{
    await host.RunAsync().ConfigureAwait(false);
    return 0;
}
catch (OptionsValidationException invalid)
{
    // A configuration problem, already logged by the host: one line and exit 1, not a crash at every restart of the unit.
    await Console.Error.WriteLineAsync($"passthrough-host-agent: {invalid.Message}").ConfigureAwait(false);
    return 1;
}

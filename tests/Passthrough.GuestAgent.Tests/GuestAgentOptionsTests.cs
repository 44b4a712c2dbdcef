using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.FileProviders;

namespace Passthrough.GuestAgent.Tests;

public sealed class GuestAgentOptionsTests
{
    private static IEnumerable<string> Errors(GuestAgentOptions options, string environment = "Production") =>
        new GuestAgentOptionsValidator(new Environment(environment)).Validate(null, options).Failures ?? [];

    private static GuestAgentOptions Valid() => new() { Broker = new Uri("amqp://agent:secret@broker:5672/passthrough") };

    [Fact]
    public void Defaults_with_a_broker_are_valid()
    {
        Assert.Empty(Errors(Valid()));
    }

    [Fact]
    public void A_missing_broker_names_the_key()
    {
        Assert.Contains(Errors(new GuestAgentOptions()), e => e.StartsWith("GuestAgent:Broker is required", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("amqp://guest:guest@broker/", "Production", true)]
    [InlineData("amqp://broker/", "Production", true)]
    [InlineData("amqp://guest:guest@127.0.0.1/", "Development", false)]
    public void The_default_login_is_refused_outside_development(string broker, string environment, bool refused)
    {
        var errors = Errors(new GuestAgentOptions { Broker = new Uri(broker) }, environment);

        Assert.Equal(refused, errors.Any(e => e.Contains("guest/guest", StringComparison.Ordinal)));
    }

    [Fact]
    public void Every_bad_value_is_reported_with_its_key()
    {
        var options = Valid();
        options.Broker = new Uri("http://broker/");
        options.VmUuid = "nope";
        options.HeartbeatInterval = TimeSpan.Zero;
        options.WatchInterval = TimeSpan.FromSeconds(2);
        options.ProbeRoot = "relative/root";
        options.MaxPendingEvents = 1;
        options.PublishTimeout = TimeSpan.FromHours(1);

        var errors = Errors(options).ToList();

        foreach (var key in new[] { "Broker", "VmUuid", "HeartbeatInterval", "WatchInterval", "ProbeRoot", "MaxPendingEvents", "PublishTimeout" })
        {
            Assert.Contains(errors, e => e.StartsWith($"GuestAgent:{key}", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void The_spool_defaults_to_the_systemd_state_directory()
    {
        var options = Valid();
        options.SpoolDirectory = "/srv/spool";
        Assert.Equal("/srv/spool", options.EffectiveSpoolDirectory());
        options.SpoolDirectory = null;
        Assert.EndsWith("spool", options.EffectiveSpoolDirectory(), StringComparison.Ordinal);
    }

    private sealed class Environment(string name) : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = name;

        public string ApplicationName { get; set; } = "test";

        public string ContentRootPath { get; set; } = "/";

        public IFileProvider ContentRootFileProvider { get; set; } = new NullFileProvider();
    }
}

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Passthrough.HostAgent.Tests;

/// <summary>Options are validated at start with messages naming the configuration key.</summary>
public sealed class OptionsTests
{
    private const string Fingerprint = "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s";

    private static OptionsValidationException Invalid(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddLogging();
        services.AddHostAgent().BindConfiguration(HostAgentOptions.SectionName);
        using var provider = services.BuildServiceProvider();
        return Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<HostAgentOptions>>().Value);
    }

    [Fact]
    public void A_host_id_that_is_not_a_uuid_is_named_by_its_key()
    {
        var error = Invalid(new() { ["HostAgent:Hosts:0:HostId"] = "xenhost-01", ["HostAgent:Hosts:0:Local"] = "true" });
        Assert.Contains("HostAgent:Hosts:0:HostId is not a UUID", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unpinned_ssh_host_key_is_refused()
    {
        var error = Invalid(new()
        {
            ["HostAgent:Hosts:0:HostId"] = "0c5e8a0e-3b5f-4a39-9a3c-6f1f6b8a2d11",
            ["HostAgent:Hosts:0:Ssh:Host"] = "xcp-ng-1",
            ["HostAgent:Hosts:0:Ssh:IdentityFile"] = "/etc/passthrough/id_ed25519",
        });
        Assert.Contains("HostAgent:Hosts:0:Ssh:HostKeySha256 is missing: unpinned SSH host keys are refused", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_negative_recheck_delay_and_an_unknown_durability_are_named_by_their_keys()
    {
        var error = Invalid(new()
        {
            ["HostAgent:InventoryRecheckDelay"] = "-00:00:01",
            ["HostAgent:CommandRecordDurability"] = "7",
        });
        Assert.Contains("HostAgent:InventoryRecheckDelay must be 00:00:00 (re-read at once) or more", error.Message, StringComparison.Ordinal);
        Assert.Contains("HostAgent:CommandRecordDurability must be Full or Normal", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_problem_is_named_at_once()
    {
        var error = Invalid(new()
        {
            ["HostAgent:Hosts:0:HostId"] = "0c5e8a0e-3b5f-4a39-9a3c-6f1f6b8a2d11",
            ["HostAgent:Hosts:1:HostId"] = "0c5e8a0e-3b5f-4a39-9a3c-6f1f6b8a2d11",
            ["HostAgent:Hosts:1:Local"] = "true",
            ["HostAgent:Hosts:0:Ssh:Host"] = "xcp-ng-1",
            ["HostAgent:Hosts:0:Ssh:IdentityFile"] = "/k",
            ["HostAgent:Hosts:0:Ssh:HostKeySha256"] = "SHA256:short",
            ["HostAgent:HeartbeatInterval"] = "00:00:00",
            ["HostAgent:Dom0:CommandTimeout"] = "-00:00:01",
        });
        Assert.Contains("HostAgent:Hosts:1:HostId 0c5e8a0e-3b5f-4a39-9a3c-6f1f6b8a2d11 is listed twice", error.Message, StringComparison.Ordinal);
        Assert.Contains("HostAgent:Hosts:0:Ssh: Host-key fingerprint", error.Message, StringComparison.Ordinal);
        Assert.Contains("HostAgent:HeartbeatInterval must be positive", error.Message, StringComparison.Ordinal);
        Assert.Contains("HostAgent:Dom0:CommandTimeout must be positive", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void No_host_at_all_is_refused_and_neither_ssh_nor_local_is_named()
    {
        Assert.Contains("HostAgent:Hosts must list at least one host", Invalid([]).Message, StringComparison.Ordinal);
        var error = Invalid(new() { ["HostAgent:Hosts:0:HostId"] = "0c5e8a0e-3b5f-4a39-9a3c-6f1f6b8a2d11" });
        Assert.Contains("HostAgent:Hosts:0:Ssh is missing", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_valid_configuration_binds_every_setting()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["HostAgent:Hosts:0:HostId"] = "0c5e8a0e-3b5f-4a39-9a3c-6f1f6b8a2d11",
            ["HostAgent:Hosts:0:Ssh:Host"] = "xcp-ng-1",
            ["HostAgent:Hosts:0:Ssh:IdentityFile"] = "/k",
            ["HostAgent:Hosts:0:Ssh:HostKeySha256"] = Fingerprint,
            ["HostAgent:InventoryInterval"] = "00:02:00",
            ["HostAgent:Dom0:CommandTimeout"] = "00:00:20",
        }).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddLogging();
        services.AddHostAgent().BindConfiguration(HostAgentOptions.SectionName);
        using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<HostAgentOptions>>().Value;

        Assert.Equal(TimeSpan.FromMinutes(2), options.InventoryInterval);
        Assert.Equal(TimeSpan.FromSeconds(30), options.HeartbeatInterval);
        Assert.Equal(TimeSpan.FromSeconds(20), options.Dom0.ToDriverOptions().CommandTimeout);
        Assert.Equal(22, Assert.Single(options.Hosts).Ssh!.Port);
    }
}

using Passthrough.Simulation;
using Passthrough.Simulation.Model;
using static Passthrough.Xen.Tests.Driver.SimHost;

namespace Passthrough.Xen.Tests.Driver;

/// <summary>DetectAsync and GetIommuAsync on every product preset.</summary>
public sealed class DetectionTests
{
    public static TheoryData<string, string, string, string, string, int, bool> Facts => new()
    {
        { "XenServer 6.5", "XenServer", "6.5.0", "1.9", "4.4.1-xs100346", 4, false },
        { "XenServer 7.1", "XenServer", "7.1.2", "1.14", "4.7.6-6.6.xs", 7, false },
        { "Citrix Hypervisor 8.2", "XenServer", "8.2.1", "1.249.26", "4.13.5-9.38", 13, false },
        { "XCP-ng 8.2", "XCP-ng", "8.2.1", "1.249.36", "4.13.5-9.44.1", 13, false },
        { "XCP-ng 8.3", "XCP-ng", "8.3.0", "24.19.2", "4.17.4-3", 17, true },
    };

    [Theory]
    [MemberData(nameof(Facts))]
    public async Task Detect_reads_product_versions_apis_and_boot_id(string product, string brand, string version, string xapi, string xen, int xenMinor, bool hasPciApi)
    {
        var sim = Create(product);

        var facts = await sim.Driver.DetectAsync(cancellationToken: Ct);

        Assert.Equal(sim.Host.Uuid, facts.Host.Uuid);
        Assert.Equal(brand, facts.ProductBrand);
        Assert.Equal(version, facts.ProductVersion);
        Assert.Equal(xapi, facts.XapiVersion);
        Assert.Equal(xen, facts.XenVersionText);
        Assert.Equal(new Version(4, xenMinor), facts.XenVersion);
        Assert.Equal(hasPciApi, facts.HasPciCommands);
        Assert.Equal(hasPciApi, facts.HasDom0AccessApi);
        Assert.Equal(xenMinor >= 13, facts.IommuMandatoryForPv);
        Assert.Equal(sim.Host.BootId.ToString(), facts.BootId);
    }

    [Theory]
    [MemberData(nameof(ProductsWithoutPciCommands), MemberType = typeof(SimHost))]
    public async Task A_missing_xe_command_is_told_by_the_help_text_although_xe_help_exits_0(string product)
    {
        var sim = Create(product);

        var facts = await sim.Driver.DetectAsync(cancellationToken: Ct);

        var help = Assert.Single(sim.Runner.History, r => r.Request.Program == "xe" && r.Request.Arguments.SequenceEqual(["help", "pci-list"]));
        Assert.Equal(0, help.ExitCode);
        Assert.Contains("Unknown command 'pci-list'", help.StandardOutput, StringComparison.Ordinal);
        Assert.False(facts.HasPciCommands);
        Assert.False(facts.HasDom0AccessApi);
    }

    [Fact]
    public async Task Detect_is_cached_until_refreshed_and_a_refresh_sees_a_new_boot_id()
    {
        var sim = Create();
        var first = await sim.Driver.DetectAsync(cancellationToken: Ct);
        var log = sim.Watch();

        var cached = await sim.Driver.DetectAsync(cancellationToken: Ct);
        Assert.Same(first, cached);
        Assert.Empty(log.Requests);

        sim.Run("xe", "host-disable", "uuid=" + sim.Host.Uuid);
        sim.Run("xe", "host-reboot", "uuid=" + sim.Host.Uuid);
        sim.Time.Advance(TimeSpan.FromMinutes(5));
        var refreshed = await sim.Driver.DetectAsync(refresh: true, cancellationToken: Ct);

        Assert.NotEqual(first.BootId, refreshed.BootId);
        Assert.Equal(sim.Host.BootId.ToString(), refreshed.BootId);
    }

    [Theory]
    [MemberData(nameof(AllProducts), MemberType = typeof(SimHost))]
    public async Task Iommu_on_is_reported_on_by_all_three_sources(string product)
    {
        var sim = Create(product);

        var iommu = await sim.Driver.GetIommuAsync(Ct);

        Assert.Equal(new IommuReport(true, true, true), iommu);
        Assert.True(iommu.Enabled);
        Assert.False(iommu.Conflict);
        Assert.Null(iommu.ConflictDescription);
    }

    [Theory]
    [MemberData(nameof(AllProducts), MemberType = typeof(SimHost))]
    public async Task Iommu_off_is_reported_off_by_all_three_sources(string product)
    {
        var sim = Create(product, b => b.WithIommu(false));

        var iommu = await sim.Driver.GetIommuAsync(Ct);

        Assert.Equal(new IommuReport(false, false, false), iommu);
        Assert.False(iommu.Enabled);
        Assert.False(iommu.Conflict);
    }

    [Fact]
    public async Task Sources_that_disagree_are_a_conflict_treated_as_off_and_warned_about_in_the_inventory()
    {
        var sim = Create();
        // xl dmesg answers with a real boot log of a host whose IOMMU is off, while XAPI and xl info say on.
        sim.Faults.FailCommand("xl dmesg", string.Empty, times: SimulatedFaults.Always, exitCode: 0,
            standardOutput: Fixture.Text("xl-dmesg-iommu-disabled.txt"));

        var iommu = await sim.Driver.GetIommuAsync(Ct);
        var inventory = await sim.Driver.GetInventoryAsync(Ct);

        Assert.Equal(new IommuReport(true, true, false), iommu);
        Assert.True(iommu.Conflict);
        Assert.False(iommu.Enabled);
        Assert.Contains("xl dmesg=off", iommu.ConflictDescription, StringComparison.Ordinal);
        Assert.Contains(iommu.ConflictDescription!, inventory.Warnings);
        Assert.False(inventory.Iommu.Enabled);
    }

    [Fact]
    public async Task A_chipset_info_that_xe_cannot_give_leaves_that_source_unknown()
    {
        var sim = Create(ProductProfile.XcpNg82);
        await sim.Driver.DetectAsync(cancellationToken: Ct);
        sim.Faults.FailCommand($"xe host-param-get uuid={sim.Host.Uuid} param-name=chipset-info", "Failure: Key iommu not found in map");

        var iommu = await sim.Driver.GetIommuAsync(Ct);

        Assert.Equal(new IommuReport(null, true, true), iommu);
        Assert.True(iommu.Enabled);
    }
}

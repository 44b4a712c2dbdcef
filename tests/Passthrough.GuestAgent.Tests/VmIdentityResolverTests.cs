using Passthrough.Contracts.Ids;
using Passthrough.Guest;
using Passthrough.GuestAgent.Tests.Infrastructure;
using Passthrough.Shell;

namespace Passthrough.GuestAgent.Tests;

public sealed class VmIdentityResolverTests
{
    private const string Uuid = "740e9485-8e1a-da89-2561-d75bcede3fc9";

    [Fact]
    public async Task Configuration_wins_over_the_platform()
    {
        using var tree = GuestTree.Hvm("11111111-2222-3333-4444-555555555555");
        var resolver = new VmIdentityResolver(new LocalGuestFileSystem(tree.Root), new XenstoreRunner("/vm/22222222-2222-3333-4444-555555555555"));

        var identity = await resolver.ResolveAsync($" {Uuid.ToUpperInvariant()} ", isXen: true, TestContext.Current.CancellationToken);

        Assert.Equal(new VmIdentity(VmId.Parse(Uuid), VmIdSource.Configuration), identity);
    }

    [Fact]
    public async Task A_malformed_configured_uuid_names_the_key()
    {
        var resolver = new VmIdentityResolver(null, null);

        var error = await Assert.ThrowsAsync<VmIdentityException>(() => resolver.ResolveAsync("not-a-uuid", true, TestContext.Current.CancellationToken));

        Assert.StartsWith("GuestAgent:VmUuid:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_hvm_guest_reads_its_dmi_product_uuid()
    {
        using var tree = GuestTree.Hvm(Uuid.ToUpperInvariant());
        var runner = new XenstoreRunner("/vm/22222222-2222-3333-4444-555555555555");

        var identity = await new VmIdentityResolver(new LocalGuestFileSystem(tree.Root), runner).ResolveAsync(null, true, TestContext.Current.CancellationToken);

        Assert.Equal(new VmIdentity(VmId.Parse(Uuid), VmIdSource.Dmi), identity);
        Assert.Equal(0, runner.Calls);
    }

    [Fact]
    public async Task A_pv_guest_without_dmi_asks_xenstore_for_vm()
    {
        using var tree = GuestTree.Pv();
        var runner = new XenstoreRunner($"/vm/{Uuid}\n");

        var identity = await new VmIdentityResolver(new LocalGuestFileSystem(tree.Root), runner).ResolveAsync(null, true, TestContext.Current.CancellationToken);

        Assert.Equal(new VmIdentity(VmId.Parse(Uuid), VmIdSource.Xenstore), identity);
        Assert.Equal(["xenstore-read vm"], runner.Commands);
    }

    [Fact]
    public async Task No_source_answering_says_what_to_configure()
    {
        using var tree = GuestTree.Pv();
        var resolver = new VmIdentityResolver(new LocalGuestFileSystem(tree.Root), new XenstoreRunner(null));

        var error = await Assert.ThrowsAsync<VmIdentityException>(() => resolver.ResolveAsync(null, true, TestContext.Current.CancellationToken));

        Assert.Contains("set GuestAgent:VmUuid", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_machine_that_is_not_a_xen_guest_never_takes_its_hardware_uuid()
    {
        using var tree = GuestTree.Hvm(Uuid);
        var resolver = new VmIdentityResolver(new LocalGuestFileSystem(tree.Root), new XenstoreRunner($"/vm/{Uuid}"));

        var error = await Assert.ThrowsAsync<VmIdentityException>(() => resolver.ResolveAsync(null, isXen: false, TestContext.Current.CancellationToken));

        Assert.Contains("GuestAgent:VmUuid", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/vm/" + Uuid, true)]
    [InlineData(Uuid, false)]
    [InlineData("/vm/", false)]
    [InlineData("/local/domain/5", false)]
    public void Parses_only_the_vm_path(string text, bool ok)
    {
        Assert.Equal(ok, VmIdentityResolver.TryParseVmPath(text, out _));
    }

    /// <summary>Answers xenstore-read with a fixed value (null: exits 1, as on a guest without the key).</summary>
    private sealed class XenstoreRunner(string? value) : ICommandRunner
    {
        public List<string> Commands { get; } = [];

        public int Calls => Commands.Count;

        public CommandTarget Target => CommandTarget.Local;

        public Task<CommandResult> RunAsync(CommandRequest request, CancellationToken cancellationToken = default)
        {
            Commands.Add(request.Display);
            return Task.FromResult(new CommandResult(request, Target, value is null ? 1 : 0, value ?? string.Empty, value is null ? "could not read path vm" : string.Empty, TimeSpan.Zero));
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}

using Microsoft.Extensions.Time.Testing;
using Passthrough.Contracts.Pci;
using Passthrough.Guest;
using Passthrough.GuestAgent.Tests.Infrastructure;

namespace Passthrough.GuestAgent.Tests;

public sealed class GuestWatchTests
{
    [Fact]
    public async Task Sees_what_the_full_probe_sees()
    {
        using var tree = GuestTree.Pv(GuestTree.UsbController, new TreeDevice(PciAddress.Parse("0000:00:00.1"), 0x8086, 0x1e31, null, 0x0c0330));
        var fs = new LocalGuestFileSystem(tree.Root);

        var watched = await new LinuxGuestWatch(fs).SnapshotAsync(TestContext.Current.CancellationToken);
        var probed = GuestSnapshot.From(await new LinuxGuestProbe(fs).ProbeAsync(TestContext.Current.CancellationToken));

        Assert.True(watched.PcifrontActive);
        Assert.Equal(probed.PcifrontDriver, watched.PcifrontDriver);
        Assert.Equal(probed.PcifrontDevice, watched.PcifrontDevice);
        Assert.Equal(probed.Devices.OrderBy(d => d.Key), watched.Devices.OrderBy(d => d.Key));
        Assert.Equal(new WatchedDevice(PciDeviceId.Parse("8086:1e2d"), "ehci-pci"), watched.Devices[GuestTree.UsbController.Address]);
    }

    [Fact]
    public async Task Reads_a_functions_ids_once_and_only_its_driver_link_afterwards()
    {
        using var tree = GuestTree.Pv(GuestTree.UsbController);
        var fs = new CountingFileSystem(new LocalGuestFileSystem(tree.Root));
        var watch = new LinuxGuestWatch(fs);

        await watch.SnapshotAsync(TestContext.Current.CancellationToken);
        var readsAfterFirst = fs.TextReads;
        var second = await watch.SnapshotAsync(TestContext.Current.CancellationToken);

        Assert.Equal(2, readsAfterFirst);
        Assert.Equal(2, fs.TextReads);
        Assert.Equal("ehci-pci", second.Devices[GuestTree.UsbController.Address].Driver);
    }

    [Fact]
    public async Task Sees_a_removed_frontend_driver_and_an_unbound_function()
    {
        using var tree = GuestTree.Pv(GuestTree.UsbController);
        var watch = new LinuxGuestWatch(new LocalGuestFileSystem(tree.Root));
        await watch.SnapshotAsync(TestContext.Current.CancellationToken);

        tree.RemovePcifrontDriver();
        tree.UnbindDriver(GuestTree.UsbController.Address);
        var snapshot = await watch.SnapshotAsync(TestContext.Current.CancellationToken);

        Assert.False(snapshot.PcifrontDriver);
        Assert.True(snapshot.PcifrontDevice);
        Assert.Null(snapshot.Devices[GuestTree.UsbController.Address].Driver);
    }

    [Fact]
    public async Task A_probe_watch_probes_at_most_once_per_minimum_interval()
    {
        var time = new FakeTimeProvider();
        var probe = new FakeProbe();
        var watch = new ProbeGuestWatch(probe, TimeSpan.FromSeconds(5), time);

        await watch.SnapshotAsync(TestContext.Current.CancellationToken);
        time.Advance(TimeSpan.FromSeconds(4));
        var cached = await watch.SnapshotAsync(TestContext.Current.CancellationToken);
        time.Advance(TimeSpan.FromSeconds(1));
        await watch.SnapshotAsync(TestContext.Current.CancellationToken);

        Assert.Equal(2, probe.Calls);
        Assert.True(cached.PcifrontActive);
    }

    private sealed class CountingFileSystem(IGuestFileSystem inner) : IGuestFileSystem
    {
        public int TextReads;

        public string Description => inner.Description;

        public Task<string?> ReadTextAsync(string path, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref TextReads);
            return inner.ReadTextAsync(path, cancellationToken);
        }

        public Task<IReadOnlyList<string>?> ListDirectoryAsync(string path, CancellationToken cancellationToken = default) => inner.ListDirectoryAsync(path, cancellationToken);

        public Task<string?> ReadLinkAsync(string path, CancellationToken cancellationToken = default) => inner.ReadLinkAsync(path, cancellationToken);

        public Task<bool> ExistsAsync(string path, CancellationToken cancellationToken = default) => inner.ExistsAsync(path, cancellationToken);

        public Task<string?> ReadKernelLogAsync(CancellationToken cancellationToken = default) => inner.ReadKernelLogAsync(cancellationToken);
    }
}

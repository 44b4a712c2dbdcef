using Passthrough.Contracts.Messaging;
using Passthrough.Shell;
using Passthrough.Testing;

namespace Passthrough.Guest.Tests;

// Integration tier: the agentless probe through a real OpenSSH server on 127.0.0.1 (SshdFixture) against this machine's
// real /sys and /proc, compared with the local probe of the same machine. A missing sshd fails these tests.
public sealed class RemoteProbeOverSshTests(SshdFixture sshd) : IClassFixture<SshdFixture>, IAsyncDisposable
{
    private readonly SshCommandRunner _ssh = new(sshd.Target);

    public ValueTask DisposeAsync() => _ssh.DisposeAsync();

    [Fact]
    public async Task The_remote_probe_sees_what_the_local_probe_sees()
    {
        var remote = await new LinuxGuestProbe(new RemoteGuestFileSystem(_ssh)).ProbeAsync(Probe.Ct);
        var local = await new LinuxGuestProbe(new LocalGuestFileSystem("/")).ProbeAsync(Probe.Ct);

        Assert.False(remote.IsXen);
        Assert.Equal(local.IsXen, remote.IsXen);
        Assert.Equal(local.GuestType, remote.GuestType);
        Assert.Equal(local.GuestTypeSource, remote.GuestTypeSource);
        Assert.Equal(local.KernelRelease, remote.KernelRelease);
        Assert.Equal(local.BootId, remote.BootId);
        Assert.Equal(local.Pcifront, remote.Pcifront);
        Assert.NotEmpty(remote.Devices);
        Assert.Equal(local.Devices, remote.Devices);
        Assert.Equal(local.Advisories, remote.Advisories);
    }

    [Fact]
    public async Task The_remote_probe_lists_the_pci_devices_lspci_prints()
    {
        var lspci = await RealMachineTests.LspciAsync();

        var remote = await new LinuxGuestProbe(new RemoteGuestFileSystem(_ssh)).ProbeAsync(Probe.Ct);

        Assert.Equal(lspci.Select(l => (l.Bdf, l.Id)), remote.Devices.Select(d => (d.Address.ToString(), d.Id.ToString())));
    }

    [Fact]
    public async Task A_remote_probe_batches_its_reads_into_a_few_commands_plus_one_readlink_per_device()
    {
        var recording = new RecordingRunner(_ssh);

        var report = await new LinuxGuestProbe(new RemoteGuestFileSystem(recording)).ProbeAsync(Probe.Ct);

        var requests = recording.Requests.ToList();
        Assert.Equal(report.Devices.Count, requests.Count(r => r.Program == "readlink"));
        Assert.InRange(requests.Count(r => r.Program != "readlink"), 1, 5);
        Assert.All(requests, r => Assert.Contains(r.Program, new[] { "grep", "ls", "readlink", "cat", "dmesg" }));
        Assert.All(requests.SelectMany(r => r.Arguments).Where(a => a.StartsWith('/')), path => Assert.True(GuestPaths.IsAllowed(path), path));
    }

    [Fact]
    public async Task Files_directories_and_links_read_over_ssh_match_the_local_machine()
    {
        var remote = new RemoteGuestFileSystem(_ssh);
        var local = new LocalGuestFileSystem("/");
        var devices = (await local.ListDirectoryAsync(GuestPaths.PciDevices, Probe.Ct))!;
        var first = Contracts.Pci.PciAddress.Parse(devices[0]);

        Assert.Equal(devices, await remote.ListDirectoryAsync(GuestPaths.PciDevices, Probe.Ct));
        Assert.Equal(await local.ReadTextAsync(GuestPaths.KernelRelease, Probe.Ct), await remote.ReadTextAsync(GuestPaths.KernelRelease, Probe.Ct));
        Assert.Equal(await local.ReadLinkAsync(GuestPaths.PciDevice(first), Probe.Ct), await remote.ReadLinkAsync(GuestPaths.PciDevice(first), Probe.Ct));
        Assert.Null(await remote.ReadTextAsync(GuestPaths.HypervisorType, Probe.Ct));
        Assert.Null(await remote.ListDirectoryAsync(GuestPaths.XenBusDevices, Probe.Ct));
        Assert.False(await remote.ExistsAsync(GuestPaths.PcifrontDriver, Probe.Ct));
        Assert.True(await remote.ExistsAsync(GuestPaths.PciDevice(first), Probe.Ct));
        var texts = await remote.ReadTextsAsync([GuestPaths.PciAttribute(first, "vendor"), GuestPaths.XenCapabilities], Probe.Ct);
        Assert.Equal(await local.ReadTextAsync(GuestPaths.PciAttribute(first, "vendor"), Probe.Ct), texts[GuestPaths.PciAttribute(first, "vendor")]);
        Assert.Null(texts[GuestPaths.XenCapabilities]);
        Assert.Contains("Linux version", await remote.ReadKernelLogAsync(Probe.Ct), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(GuestPathsTests.Hostile), MemberType = typeof(GuestPathsTests))]
    public async Task A_hostile_path_never_reaches_the_remote_side(string path)
    {
        var recording = new RecordingRunner(_ssh);
        var fs = new RemoteGuestFileSystem(recording);

        await Assert.ThrowsAsync<ArgumentException>(() => fs.ReadTextAsync(path, Probe.Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => fs.ReadTextsAsync([GuestPaths.KernelRelease, path], Probe.Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => fs.ListDirectoryAsync(path, Probe.Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => fs.ReadLinkAsync(path, Probe.Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => fs.ExistsAsync(path, Probe.Ct));

        Assert.Empty(recording.Requests);
        Assert.Equal("Linux", (await _ssh.RunAsync(new CommandRequest("uname", "-s"), Probe.Ct)).StandardOutput.Trim());
    }

    [Fact]
    public async Task A_closed_port_cannot_be_probed_and_says_the_host_is_unreachable()
    {
        await using var closed = new SshCommandRunner(sshd.TargetWith(port: ClosedPort()), new SshCommandRunnerOptions { ConnectTimeout = TimeSpan.FromSeconds(5) });

        var error = await Assert.ThrowsAsync<GuestProbeException>(() => new LinuxGuestProbe(new RemoteGuestFileSystem(closed)).ProbeAsync(Probe.Ct));

        Assert.Equal(FailureCause.HostUnreachable, error.Cause);
        Assert.Contains("connection refused", error.Message, StringComparison.Ordinal);
    }

    internal static int ClosedPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}

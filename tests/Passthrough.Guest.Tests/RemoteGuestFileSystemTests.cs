using Passthrough.Shell;

namespace Passthrough.Guest.Tests;

// The remote reader's parsing and refusals, on answers written by hand; RemoteProbeOverSshTests runs it for real.
public sealed class RemoteGuestFileSystemTests
{
    private const string Vendor = "/sys/bus/pci/devices/0000:00:01.0/vendor";
    private const string Device = "/sys/bus/pci/devices/0000:00:01.0/device";
    private const string Capabilities = "/proc/xen/capabilities";
    private const string Missing = "/sys/hypervisor/guest_type";

    [Fact]
    public void Grep_output_is_split_by_the_known_paths_even_though_bdfs_contain_colons()
    {
        var stdout = $"{Vendor}:0x1af4\n{Device}:0x1041\n";
        var stderr = $"grep: {Missing}: No such file or directory\n";

        var texts = RemoteGuestFileSystem.ParseGrep([Vendor, Device, Capabilities, Missing], stdout, stderr).ToDictionary();

        Assert.Equal("0x1af4\n", texts[Vendor]);
        Assert.Equal("0x1041\n", texts[Device]);
        Assert.Equal(string.Empty, texts[Capabilities]);
        Assert.Null(texts[Missing]);
    }

    [Fact]
    public void Multi_line_files_keep_their_lines_and_colons_in_content()
    {
        const string dep = "/lib/modules/3.4.9/modules.dep";
        var stdout = $"{dep}:kernel/a.ko:\n{dep}:kernel/drivers/pci/xen-pcifront.ko: kernel/b.ko\n";

        var texts = RemoteGuestFileSystem.ParseGrep([dep], stdout, string.Empty).ToDictionary();

        Assert.Equal("kernel/a.ko:\nkernel/drivers/pci/xen-pcifront.ko: kernel/b.ko\n", texts[dep]);
    }

    [Fact]
    public async Task Reads_many_files_with_one_grep_as_an_argument_vector()
    {
        var runner = new RecordingRunner(null, request => RecordingRunner.Result(request, 2, $"{Vendor}:0x1af4\n", $"grep: {Missing}: No such file or directory\n"));
        var fs = new RemoteGuestFileSystem(runner);

        var texts = await fs.ReadTextsAsync([Vendor, Missing], Probe.Ct);

        var request = Assert.Single(runner.Requests);
        Assert.Equal("grep", request.Program);
        Assert.Equal(["-H", "-e", string.Empty, "--", Vendor, Missing], request.Arguments);
        Assert.Equal("0x1af4\n", texts[Vendor]);
        Assert.Null(texts[Missing]);
    }

    [Fact]
    public async Task A_missing_tool_on_the_guest_cannot_probe()
    {
        var runner = new RecordingRunner(null, request => RecordingRunner.Result(request, 127, stderr: "sh: grep: not found\n"));

        var error = await Assert.ThrowsAsync<GuestProbeException>(() => new RemoteGuestFileSystem(runner).ReadTextsAsync([Vendor], Probe.Ct));

        Assert.Contains("'grep'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Existence_is_answered_by_one_ls_whatever_order_it_prints_in()
    {
        var runner = new RecordingRunner(null, request => RecordingRunner.Result(
            request, 2, $"{GuestPaths.PcifrontDevice}\n{GuestPaths.PcifrontDriver}\n", $"ls: cannot access '{GuestPaths.PcifrontModuleInitState}': No such file or directory\n"));

        var existing = await new RemoteGuestFileSystem(runner).ExistingAsync(
            [GuestPaths.PcifrontDriver, GuestPaths.PcifrontDevice, GuestPaths.PcifrontModuleInitState], Probe.Ct);

        Assert.Equal(["-1d", "--", GuestPaths.PcifrontDriver, GuestPaths.PcifrontDevice, GuestPaths.PcifrontModuleInitState], Assert.Single(runner.Requests).Arguments);
        Assert.Equal([GuestPaths.PcifrontDevice, GuestPaths.PcifrontDriver], existing.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_refused_dmesg_means_no_kernel_log()
    {
        var runner = new RecordingRunner(null, request => RecordingRunner.Result(request, 1, stderr: "dmesg: read kernel buffer failed: Operation not permitted\n"));

        Assert.Null(await new RemoteGuestFileSystem(runner).ReadKernelLogAsync(Probe.Ct));
    }

    [Theory]
    [MemberData(nameof(GuestPathsTests.Hostile), MemberType = typeof(GuestPathsTests))]
    public async Task A_hostile_path_is_refused_before_any_command_is_sent(string path)
    {
        var runner = new RecordingRunner(null, request => RecordingRunner.Result(request, 0));
        var fs = new RemoteGuestFileSystem(runner);

        await Assert.ThrowsAsync<ArgumentException>(() => fs.ReadTextAsync(path, Probe.Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => fs.ReadTextsAsync([Vendor, path], Probe.Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => fs.ListDirectoryAsync(path, Probe.Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => fs.ReadLinkAsync(path, Probe.Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => fs.ReadLinksAsync([path], Probe.Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => fs.ExistsAsync(path, Probe.Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => fs.ExistingAsync([GuestPaths.PcifrontDriver, path], Probe.Ct));
        Assert.Empty(runner.Requests);
    }

    [Fact]
    public async Task A_transport_failure_becomes_a_classified_probe_failure()
    {
        var runner = new RecordingRunner(null, _ => throw new ConnectionRefusedException(CommandTarget.Local, null, "connection refused on port 1"));

        var error = await Assert.ThrowsAsync<GuestProbeException>(() => new LinuxGuestProbe(new RemoteGuestFileSystem(runner)).ProbeAsync(Probe.Ct));

        Assert.Equal(Contracts.Messaging.FailureCause.HostUnreachable, error.Cause);
        Assert.IsType<ConnectionRefusedException>(error.InnerException);
    }
}

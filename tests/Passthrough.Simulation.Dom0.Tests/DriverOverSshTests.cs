using System.Text.Json;
using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Messaging;
using Passthrough.Shell;
using Passthrough.Simulation.Model;
using Passthrough.Xen;

namespace Passthrough.Simulation.Dom0.Tests;

// Integration tier: the dom0 driver over a real sshd whose sessions run the simulated dom0 executables. The driver
// uses its default options: /opt/xensource/libexec/xen-cmdline exists in the sshd's mount namespace.
public sealed class DriverOverSshTests(SimulatedDom0SshdFixture sshd) : IClassFixture<SimulatedDom0SshdFixture>, IAsyncDisposable
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private readonly SshCommandRunner _runner = new(sshd.Target);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask DisposeAsync() => _runner.DisposeAsync();

    private Dom0Driver Driver(Dom0DriverOptions? options = null) => new(_runner, options);

    private static string Json<T>(T value) => JsonSerializer.Serialize(value, Indented);

    private static void AssertSameState(HostStateSnapshot expected, HostStateSnapshot actual) =>
        Assert.True(expected == actual, "host state differs:\n" + string.Join('\n', expected.DiffAgainst(actual)));

    [Fact]
    public async Task Sessions_find_the_simulated_tools_first_on_path_and_at_dom0s_absolute_paths()
    {
        var probe = await _runner.RunAsync(new CommandRequest("sh", "-c",
            "for t in xe xl xen-cmdline lspci cat tee; do command -v \"$t\"; done; test -x /opt/xensource/libexec/xen-cmdline && test -x /opt/xensource/bin/xe && echo opt"), Ct);

        Assert.Equal(
            string.Concat(new[] { "xe", "xl", "xen-cmdline", "lspci", "cat", "tee" }.Select(t => sshd.Installation.ShimPath(t) + "\n")) + "opt\n",
            probe.StandardOutput);
        Assert.False(Directory.Exists("/opt/xensource"), "the machine's own /opt must stay untouched");
    }

    [Fact]
    public async Task The_inventory_over_ssh_equals_what_the_in_process_runner_reads_from_the_same_host()
    {
        var host = SimulatedDom0SshdFixture.NewHost();
        sshd.Reset(host);
        await using var inProcess = new SimulatedHostRunner(SimulatedDom0SshdFixture.Twin(host));
        var local = new Dom0Driver(inProcess);
        var remote = Driver();

        var remoteInventory = await remote.GetInventoryAsync(Ct);
        var remoteFacts = remoteInventory.Facts;

        var localInventory = await local.GetInventoryAsync(Ct);
        Assert.Equal(localInventory.Facts, remoteFacts);
        Assert.Equal(Json(localInventory), Json(remoteInventory));
        Assert.Equal(new HostId(host.Uuid), remoteFacts.Host);
        Assert.True(remoteFacts.HasDom0AccessApi);
        Assert.Equal(host.PciFunctions.Select(f => f.Address), remoteInventory.Devices.Select(d => d.Address));
        Assert.Equal(DefaultDevices.SataController, Assert.Single(remoteInventory.Devices, d => d.IsBootDevice).Address);
        Assert.Equal(DefaultDevices.ManagementNic, Assert.Single(remoteInventory.Devices, d => d.IsManagementNic).Address);
        Assert.Equal("igb", remoteInventory.Devices.Single(d => d.Address == DefaultDevices.PassthroughNic).Driver);
        Assert.True(remoteInventory.Iommu.Enabled);
        Assert.Equal(2, remoteInventory.Vms.Count);
    }

    [Fact]
    public async Task Binding_to_pciback_and_persisting_the_hide_list_then_restoring_both_leaves_the_host_as_it_was()
    {
        sshd.Reset(SimulatedDom0SshdFixture.NewHost());
        var before = sshd.Installation.Capture();
        var driver = Driver();

        var binding = await driver.BindToPcibackAsync(DefaultDevices.PassthroughNic, Ct);
        var hide = await driver.PersistHideAsync([DefaultDevices.PassthroughNic], Ct);
        var detached = sshd.Installation.ReadHost();
        await driver.RestoreDriverAsync(binding, Ct);
        await driver.RestoreHideListAsync(hide, Ct);

        Assert.Equal(new DriverBinding(DefaultDevices.PassthroughNic, "igb", true), binding);
        Assert.Equal("pciback", detached.Function(DefaultDevices.PassthroughNic).BoundDriver);
        Assert.Contains(DefaultDevices.PassthroughNic, detached.PcibackSlots);
        Assert.Equal(new HideListChange(string.Empty, "xen-pciback.hide=(0000:03:00.0)", true), hide);
        Assert.Equal("(0000:03:00.0)", detached.NextBootHideRaw);
        AssertSameState(before, sshd.Installation.Capture());
    }

    [Fact]
    public async Task Merging_devices_into_other_config_pci_then_restoring_it_leaves_the_host_as_it_was()
    {
        var host = SimulatedDom0SshdFixture.NewHost();
        sshd.Reset(host);
        var vm = new VmId(host.Vm(DefaultDevices.HvmVmName).Uuid);
        var before = sshd.Installation.Capture();
        var driver = Driver();

        var merged = await driver.MergePciKeyAsync(vm, [DefaultDevices.Gpu, DefaultDevices.GpuAudio], Ct);
        var during = sshd.Installation.ReadHost().Vm(DefaultDevices.HvmVmName).OtherConfig;
        var restored = await driver.RestorePciKeyAsync(vm, merged.Previous, Ct);

        Assert.Null(merged.Previous);
        Assert.Equal("0/0000:01:00.0,0/0000:01:00.1", merged.Current);
        Assert.Equal(merged.Current, during["pci"]);
        Assert.Equal(new PciKeyChange(vm, merged.Current, null), restored);
        AssertSameState(before, sshd.Installation.Capture());
    }

    [Fact]
    public async Task A_vm_start_refused_for_want_of_an_iommu_brings_xapis_own_text_through_ssh()
    {
        var host = SimulatedDom0SshdFixture.NewHost(b => b.WithIommu(false));
        host.Vm(DefaultDevices.HvmVmName).OtherConfig["pci"] = "0/0000:01:00.0";
        sshd.Reset(host);
        await using var inProcess = new SimulatedHostRunner(SimulatedDom0SshdFixture.Twin(host));
        var vm = new VmId(host.Vm(DefaultDevices.HvmVmName).Uuid);
        var before = sshd.Installation.Capture();

        var remote = await Assert.ThrowsAsync<Dom0Exception>(() => Driver().StartVmAsync(vm, Ct));
        var local = await Assert.ThrowsAsync<Dom0Exception>(() => new Dom0Driver(inProcess).StartVmAsync(vm, Ct));

        Assert.Equal(FailureCause.IommuOff, remote.Cause);
        Assert.Equal(local.Failure.OriginalText, remote.Failure.OriginalText);
        Assert.Contains("Invalid_argument(\"IOMMU unavailable\")", remote.Failure.OriginalText, StringComparison.Ordinal);
        Assert.StartsWith("The server failed to handle your request, due to an internal error.", remote.Failure.OriginalText, StringComparison.Ordinal);
        Assert.NotNull(remote.Failure.FixHint);
        AssertSameState(before, sshd.Installation.Capture());
    }

    [Fact]
    public async Task An_injected_xe_failure_reaches_the_driver_word_for_word_and_is_used_up()
    {
        const string CannotAdd = "The server failed to handle your request, due to an internal error. The given message may give details useful for debugging the problem.\n" +
            "message: xenopsd internal error: Device.PCI.Cannot_add(0000:01:00.0, Xenctrlext.Unix_error(30, \"1: Operation not permitted\"))";
        var host = SimulatedDom0SshdFixture.NewHost();
        sshd.Reset(host);
        sshd.Installation.FailCommand("xe vm-start", CannotAdd);
        var vm = new VmId(host.Vm(DefaultDevices.HvmVmName).Uuid);
        var before = sshd.Installation.Capture();

        var failure = await Assert.ThrowsAsync<Dom0Exception>(() => Driver().StartVmAsync(vm, Ct));

        Assert.Equal(FailureCause.DeviceCannotBeAdded, failure.Cause);
        Assert.Equal(CannotAdd, failure.Failure.OriginalText);
        Assert.Empty(sshd.Installation.ArmedFaults);
        AssertSameState(before, sshd.Installation.Capture());
    }

    [Fact]
    public async Task A_device_whose_reset_times_out_is_given_back_to_its_driver_when_the_bind_fails()
    {
        sshd.Reset(SimulatedDom0SshdFixture.NewHost());
        sshd.Installation.UpdateHost(h => h.Function(DefaultDevices.PassthroughNic).BindFailure = PciBindFailure.FlrTimeout);
        var before = sshd.Installation.Capture();

        var failure = await Assert.ThrowsAsync<Dom0Exception>(() => Driver().BindToPcibackAsync(DefaultDevices.PassthroughNic, Ct));

        Assert.NotEqual(FailureCause.HostUnreachable, failure.Cause);
        Assert.Contains("/sys/bus/pci/drivers/pciback/bind", failure.Message, StringComparison.Ordinal);
        AssertSameState(before, sshd.Installation.Capture());
        Assert.Equal("igb", sshd.Installation.ReadHost().Function(DefaultDevices.PassthroughNic).BoundDriver);
    }

    [Fact]
    public async Task A_reboot_takes_its_downtime_in_real_time_and_the_host_comes_back_with_a_new_boot_id()
    {
        sshd.Reset(SimulatedDom0SshdFixture.NewHost(b => b.WithTimings(t =>
        {
            t.RebootDowntime = TimeSpan.FromSeconds(2);
            t.XapiInitialising = TimeSpan.FromSeconds(1);
        })));
        var driver = Driver(new Dom0DriverOptions { RebootPollInterval = TimeSpan.FromMilliseconds(250) });
        var previous = await driver.ReadBootIdAsync(Ct);

        var reboot = await driver.RebootHostAsync(TimeSpan.FromSeconds(30), Ct);

        Assert.Equal(previous, reboot.PreviousBootId);
        Assert.NotEqual(previous, reboot.BootId);
        Assert.Equal(reboot.BootId, await driver.ReadBootIdAsync(Ct));
        Assert.InRange(reboot.Downtime, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(30));
        var after = sshd.Installation.ReadHost();
        Assert.Equal((1, HostPhase.Live, true), (after.Boot.RebootCount, after.Boot.Phase, after.Enabled));
    }
}

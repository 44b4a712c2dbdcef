using Passthrough.Contracts.Messaging;
using Passthrough.Contracts.Pci;
using Passthrough.Simulation;
using Passthrough.Simulation.Model;
using static Passthrough.Xen.Tests.Driver.SimHost;

namespace Passthrough.Xen.Tests.Driver;

/// <summary>BindToPcibackAsync and RestoreDriverAsync: idempotent, reversible field for field, and undone on failure.</summary>
public sealed class BindingTests
{
    [Theory]
    [MemberData(nameof(AllProducts), MemberType = typeof(SimHost))]
    public async Task Binding_records_the_original_driver_and_restoring_gives_the_host_back_exactly(string product)
    {
        var sim = Create(product);
        var before = sim.Capture();

        var binding = await sim.Driver.BindToPcibackAsync(DefaultDevices.PassthroughNic, Ct);

        Assert.Equal(new DriverBinding(DefaultDevices.PassthroughNic, "igb", true), binding);
        Assert.Equal("pciback", sim.DriverOf(DefaultDevices.PassthroughNic));
        Assert.Equal("pciback", await sim.Driver.GetDriverAsync(DefaultDevices.PassthroughNic, Ct));
        Assert.Contains(DefaultDevices.PassthroughNic.ToString(), sim.Run("xl", "pci-assignable-list").StandardOutput, StringComparison.Ordinal);
        Assert.NotEqual(before, sim.Capture());

        await sim.Driver.RestoreDriverAsync(binding, Ct);

        Assert.Equal(before, sim.Capture());
        Assert.Equal("igb", sim.DriverOf(DefaultDevices.PassthroughNic));
    }

    [Fact]
    public async Task A_function_without_a_dom0_driver_is_restored_to_no_driver()
    {
        var sim = Create(ProductProfile.XcpNg82);
        var before = sim.Capture();

        var binding = await sim.Driver.BindToPcibackAsync(DefaultDevices.Gpu, Ct);
        Assert.Equal(new DriverBinding(DefaultDevices.Gpu, null, true), binding);
        Assert.Equal("pciback", sim.DriverOf(DefaultDevices.Gpu));

        await sim.Driver.RestoreDriverAsync(binding, Ct);

        Assert.Equal(before, sim.Capture());
        Assert.Null(sim.DriverOf(DefaultDevices.Gpu));
    }

    [Fact]
    public async Task Binding_twice_changes_nothing_the_second_time_and_restoring_twice_likewise()
    {
        var sim = Create(ProductProfile.XenServer71);
        var before = sim.Capture();
        var first = await sim.Driver.BindToPcibackAsync(DefaultDevices.UsbController, Ct);
        var bound = sim.Capture();
        var log = sim.Watch();

        var second = await sim.Driver.BindToPcibackAsync(DefaultDevices.UsbController, Ct);

        Assert.Equal(new DriverBinding(DefaultDevices.UsbController, null, false), second);
        Assert.Equal(bound, sim.Capture());
        Assert.False(log.Ran("tee"));

        // Undoing the no-op changes nothing; undoing the real bind twice restores once.
        await sim.Driver.RestoreDriverAsync(second, Ct);
        Assert.Equal(bound, sim.Capture());
        await sim.Driver.RestoreDriverAsync(first, Ct);
        await sim.Driver.RestoreDriverAsync(first, Ct);
        Assert.Equal(before, sim.Capture());
        Assert.Equal("xhci_hcd", sim.DriverOf(DefaultDevices.UsbController));
    }

    [Fact]
    public async Task A_function_hidden_at_boot_is_already_on_pciback_and_left_alone()
    {
        var sim = Create(ProductProfile.XenServer65, b => b.HiddenAtBoot("(0000:03:00.0)"));
        var before = sim.Capture();
        var log = sim.Watch();

        var binding = await sim.Driver.BindToPcibackAsync(DefaultDevices.PassthroughNic, Ct);
        await sim.Driver.RestoreDriverAsync(binding, Ct);

        Assert.Equal(new DriverBinding(DefaultDevices.PassthroughNic, null, false), binding);
        Assert.False(log.Ran("tee"));
        Assert.Equal(before, sim.Capture());
        Assert.Equal("pciback", sim.DriverOf(DefaultDevices.PassthroughNic));
    }

    [Fact]
    public async Task A_function_that_no_driver_can_probe_fails_to_bind_and_leaves_the_host_exactly_as_before()
    {
        var sim = Create(ProductProfile.XcpNg83);
        sim.Faults.DeviceFailsToBind(DefaultDevices.Gpu);
        var before = sim.Capture();

        var error = await Assert.ThrowsAsync<Dom0Exception>(() => sim.Driver.BindToPcibackAsync(DefaultDevices.Gpu, Ct));

        Assert.Equal(FailureCause.DeviceBindFailed, error.Cause);
        Assert.Contains("tee: /sys/bus/pci/drivers/pciback/bind: No such device", error.Failure.OriginalText, StringComparison.Ordinal);
        Assert.Contains($"probe of {DefaultDevices.Gpu} failed with error -5", error.Failure.OriginalText, StringComparison.Ordinal);
        Assert.Contains("undone", error.Failure.Message, StringComparison.Ordinal);
        Assert.NotNull(error.Failure.FixHint);
        Assert.Equal(before, sim.Capture());
    }

    [Fact]
    public async Task When_even_the_original_driver_cannot_take_the_function_back_the_failure_says_where_it_was_left()
    {
        var sim = Create(ProductProfile.XcpNg83);
        sim.Faults.DeviceFailsToBind(DefaultDevices.PassthroughNic);
        var before = sim.Capture();

        var error = await Assert.ThrowsAsync<Dom0Exception>(() => sim.Driver.BindToPcibackAsync(DefaultDevices.PassthroughNic, Ct));

        Assert.Equal(FailureCause.DeviceBindFailed, error.Cause);
        Assert.Contains("giving it back to igb failed too", error.Failure.Message, StringComparison.Ordinal);
        Assert.Contains("left on no driver", error.Failure.Message, StringComparison.Ordinal);
        // What could be undone was: pciback's slot is gone again; only the driver binding differs.
        Assert.Equal(
            [$"- function {DefaultDevices.PassthroughNic} driver: igb", $"+ function {DefaultDevices.PassthroughNic} driver: (unbound)"],
            before.DiffAgainst(sim.Capture()));
    }

    [Theory]
    [MemberData(nameof(AllProducts), MemberType = typeof(SimHost))]
    public async Task An_FLR_timeout_is_classified_from_the_kernel_log_and_the_original_driver_is_rebound(string product)
    {
        var sim = Create(product);
        sim.Faults.FlrTimesOut(DefaultDevices.PassthroughNic);
        var before = sim.Capture();

        var error = await Assert.ThrowsAsync<Dom0Exception>(() => sim.Driver.BindToPcibackAsync(DefaultDevices.PassthroughNic, Ct));

        Assert.Equal(FailureCause.FlrTimeout, error.Cause);
        Assert.Contains($"pciback {DefaultDevices.PassthroughNic}: timed out waiting for pending transaction: performing function level reset anyway", error.Failure.OriginalText, StringComparison.Ordinal);
        Assert.Contains(DefaultDevices.PassthroughNic.ToString(), error.Failure.Message, StringComparison.Ordinal);
        Assert.NotNull(error.Failure.FixHint);
        Assert.Equal(before, sim.Capture());
    }

    [Fact]
    public async Task An_older_FLR_timeout_in_the_kernel_log_does_not_explain_a_later_failure()
    {
        var sim = Create(ProductProfile.XcpNg82);
        sim.Faults.FlrTimesOut(DefaultDevices.PassthroughNic);
        var first = await Assert.ThrowsAsync<Dom0Exception>(() => sim.Driver.BindToPcibackAsync(DefaultDevices.PassthroughNic, Ct));
        Assert.Equal(FailureCause.FlrTimeout, first.Cause);
        sim.Faults.Clear();
        sim.Faults.FailCommand("tee /sys/bus/pci/drivers/pciback/bind", "tee: /sys/bus/pci/drivers/pciback/bind: No such device");

        var second = await Assert.ThrowsAsync<Dom0Exception>(() => sim.Driver.BindToPcibackAsync(DefaultDevices.PassthroughNic, Ct));

        Assert.Equal(FailureCause.DeviceBindFailed, second.Cause);
        Assert.DoesNotContain("timed out waiting", second.Failure.OriginalText, StringComparison.Ordinal);
        Assert.Equal("igb", sim.DriverOf(DefaultDevices.PassthroughNic));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("igb")]
    public async Task A_function_hidden_at_boot_is_given_back_to_dom0_without_a_record(string? knownDriver)
    {
        var sim = Create(ProductProfile.XenServer71, b => b.HiddenAtBoot("(0000:03:00.0)"));
        var log = sim.Watch();

        var binding = await sim.Driver.ReattachToDom0Async(DefaultDevices.PassthroughNic, knownDriver, Ct);

        Assert.Equal(new DriverBinding(DefaultDevices.PassthroughNic, "igb", true), binding);
        Assert.Equal("igb", sim.DriverOf(DefaultDevices.PassthroughNic));
        Assert.Empty(sim.Host.PcibackSlots);
        Assert.Equal(knownDriver is null, log.Ran("tee /sys/bus/pci/drivers_probe"));
        var again = await sim.Driver.ReattachToDom0Async(DefaultDevices.PassthroughNic, knownDriver, Ct);
        Assert.Equal(new DriverBinding(DefaultDevices.PassthroughNic, "igb", false), again);
    }

    [Fact]
    public async Task Without_pciback_nothing_is_unbound_and_the_failure_is_PcibackNotLoaded()
    {
        var sim = Create(ProductProfile.XcpNg82);
        sim.Host.Mutate(h => h.PcibackLoaded = false);
        var before = sim.Capture();
        var log = sim.Watch();

        var error = await Assert.ThrowsAsync<Dom0Exception>(() => sim.Driver.BindToPcibackAsync(DefaultDevices.PassthroughNic, Ct));

        Assert.Equal(FailureCause.PcibackNotLoaded, error.Cause);
        Assert.Contains("Looks like pciback driver not loaded", error.Failure.OriginalText, StringComparison.Ordinal);
        Assert.NotNull(error.Failure.FixHint);
        Assert.False(log.Ran("tee"));
        Assert.Equal(before, sim.Capture());
    }

    [Fact]
    public async Task An_unknown_function_is_DeviceNotFound()
    {
        var sim = Create();

        var error = await Assert.ThrowsAsync<Dom0Exception>(() => sim.Driver.BindToPcibackAsync(PciAddress.Parse("0000:09:00.0"), Ct));

        Assert.Equal(FailureCause.DeviceNotFound, error.Cause);
    }

    [Fact]
    public async Task A_bind_whose_connection_drops_is_undone_and_reported_as_unreachable()
    {
        var sim = Create(ProductProfile.CitrixHypervisor82);
        sim.Faults.DropConnection("tee /sys/bus/pci/drivers/pciback/bind");
        var before = sim.Capture();

        var error = await Assert.ThrowsAsync<Dom0Exception>(() => sim.Driver.BindToPcibackAsync(DefaultDevices.PassthroughNic, Ct));

        Assert.Equal(FailureCause.HostUnreachable, error.Cause);
        Assert.Contains("Connection reset by peer", error.Failure.OriginalText, StringComparison.Ordinal);
        Assert.Equal(before, sim.Capture());
    }
}

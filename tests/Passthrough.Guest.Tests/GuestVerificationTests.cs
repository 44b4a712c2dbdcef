using Passthrough.Contracts.Messaging;
using Passthrough.Contracts.Pci;
using static Passthrough.Guest.Tests.DeviceMatcherTests;

namespace Passthrough.Guest.Tests;

public sealed class GuestVerificationTests
{
    private static readonly PciDeviceId Ehci = PciDeviceId.Parse("8086:293a");
    private static readonly PciDeviceId Uhci = PciDeviceId.Parse("8086:2934");

    [Fact]
    public async Task A_pv_guest_whose_kernel_lacks_pcifront_is_not_verified_with_that_exact_message()
    {
        using var tree = LinuxGuestProbeTests.PvWithoutPcifront();
        var report = await Probe.TreeAsync(tree);

        var verdict = GuestVerification.Build(report, [new ExpectedDevice(Ehci)]);

        Assert.False(verdict.Verified);
        var lacks = Assert.Single(verdict.Problems, p => p.Cause == FailureCause.GuestLacksPcifront);
        Assert.Equal("guest kernel lacks xen-pcifront", lacks.Message);
        Assert.Contains("CONFIG_XEN_PCIDEV_FRONTEND", lacks.FixHint, StringComparison.Ordinal);
        Assert.Contains(verdict.Problems, p => p.Cause == FailureCause.GuestDeviceMissing && p.Message.Contains("8086:293a", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_pv_guest_with_pcifront_active_and_both_controllers_bound_is_verified()
    {
        using var tree = LinuxGuestProbeTests.PvWithPcifrontActive();
        var report = await Probe.TreeAsync(tree);

        var verdict = GuestVerification.Build(report, [new ExpectedDevice(Ehci, Driver: "ehci_hcd"), new ExpectedDevice(Uhci, Driver: "uhci-hcd")]);

        Assert.True(verdict.Verified);
        Assert.Empty(verdict.Problems);
        Assert.All(verdict.Devices, d => Assert.True(d.DriverOk));
    }

    [Fact]
    public void A_pv_guest_with_pcifront_not_active_fails_even_without_expected_devices()
    {
        var verdict = GuestVerification.Build(Report(GuestType.PV, PcifrontState.AvailableNotLoaded), []);

        Assert.False(verdict.Verified);
        var problem = Assert.Single(verdict.Problems);
        Assert.Equal(FailureCause.GuestLacksPcifront, problem.Cause);
        Assert.Equal("xen-pcifront is available but not loaded in the guest", problem.Message);
    }

    [Theory]
    [InlineData(PcifrontState.LoadedNoDevice, "no PCI frontend device")]
    [InlineData(PcifrontState.Unknown, "could not tell")]
    public void Every_pcifront_state_but_active_names_its_problem(PcifrontState state, string text)
    {
        var problem = Assert.Single(GuestVerification.Build(Report(GuestType.PV, state), []).Problems);

        Assert.Equal(FailureCause.GuestLacksPcifront, problem.Cause);
        Assert.Contains(text, problem.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(GuestType.HVM)]
    [InlineData(GuestType.PVH)]
    public void A_guest_that_is_not_pv_needs_no_pcifront(GuestType type)
    {
        var report = Report(type, PcifrontState.NotApplicable, Device("0000:00:05.0", Ehci, "ehci-pci"));

        var verdict = GuestVerification.Build(report, [new ExpectedDevice(Ehci)]);

        Assert.True(verdict.Verified);
    }

    [Fact]
    public void A_missing_device_is_guest_device_missing()
    {
        var verdict = GuestVerification.Build(Report(GuestType.HVM, PcifrontState.NotApplicable), [new ExpectedDevice(Ehci, PciDeviceId.Parse("1462:7360"))]);

        Assert.False(verdict.Verified);
        var problem = Assert.Single(verdict.Problems);
        Assert.Equal(FailureCause.GuestDeviceMissing, problem.Cause);
        Assert.Equal("expected device 8086:293a (subsystem 1462:7360) is not visible in the guest", problem.Message);
    }

    [Fact]
    public void A_device_without_its_named_driver_is_guest_driver_not_bound()
    {
        var report = Report(GuestType.PV, PcifrontState.Active, Device("0000:00:00.2", Ehci, null));

        var verdict = GuestVerification.Build(report, [new ExpectedDevice(Ehci, Driver: "ehci_hcd")]);

        var problem = Assert.Single(verdict.Problems);
        Assert.Equal(FailureCause.GuestDriverNotBound, problem.Cause);
        Assert.Equal("device 8086:293a at 0000:00:00.2 has no driver bound (expected ehci_hcd)", problem.Message);
    }

    [Fact]
    public void A_device_bound_to_the_wrong_driver_names_both()
    {
        var report = Report(GuestType.PV, PcifrontState.Active, Device("0000:00:00.2", Ehci, "pciback"));

        var problem = Assert.Single(GuestVerification.Build(report, [new ExpectedDevice(Ehci, Driver: "ehci_hcd")]).Problems);

        Assert.Equal(FailureCause.GuestDriverNotBound, problem.Cause);
        Assert.Contains("bound to pciback, not ehci_hcd", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unbound_device_is_fine_when_no_driver_is_named()
    {
        var report = Report(GuestType.PV, PcifrontState.Active, Device("0000:00:00.2", Ehci, null));

        var verdict = GuestVerification.Build(report, [new ExpectedDevice(Ehci)]);

        Assert.True(verdict.Verified);
        Assert.False(Assert.Single(verdict.Devices).Bound);
    }
}

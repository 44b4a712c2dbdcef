using Passthrough.Contracts.Messaging;
using Passthrough.Simulation;
using Passthrough.Simulation.Model;
using static Passthrough.Xen.Tests.Driver.SimHost;

namespace Passthrough.Xen.Tests.Driver;

/// <summary>The persisted hide list (xen-cmdline) and the XCP-ng 8.3 dom0-access API: merged, full form, restored byte for byte.</summary>
public sealed class HideListTests
{
    [Theory]
    [MemberData(nameof(AllProducts), MemberType = typeof(SimHost))]
    public async Task Persisting_into_no_list_writes_the_full_form_and_restoring_deletes_the_parameter(string product)
    {
        var sim = Create(product);
        var before = sim.Capture();
        var log = sim.Watch();

        var change = await sim.Driver.PersistHideAsync([DefaultDevices.PassthroughNic, DefaultDevices.UsbController], Ct);

        Assert.Equal(new HideListChange(string.Empty, "xen-pciback.hide=(0000:03:00.0)(0000:00:14.0)", true), change);
        Assert.Equal("(0000:03:00.0)(0000:00:14.0)", sim.NextBootHide);
        Assert.Equal("igb", sim.DriverOf(DefaultDevices.PassthroughNic));

        await sim.Driver.RestoreHideListAsync(change, Ct);

        Assert.Null(sim.NextBootHide);
        Assert.Equal(before, sim.Capture());
        Assert.Equal(1, log.Count($"xen-cmdline --delete-dom0 xen-pciback.hide"));
    }

    [Fact]
    public async Task Persisting_merges_into_the_existing_list_and_restoring_puts_it_back()
    {
        var sim = Create(ProductProfile.XcpNg82, b => b.HiddenAtBoot("(0000:00:14.0)"));
        var before = sim.Capture();

        var change = await sim.Driver.PersistHideAsync([DefaultDevices.PassthroughNic], Ct);
        Assert.Equal("(0000:00:14.0)(0000:03:00.0)", sim.NextBootHide);
        Assert.Equal("xen-pciback.hide=(0000:00:14.0)", change.PreviousText);

        await sim.Driver.RestoreHideListAsync(change, Ct);

        Assert.Equal("(0000:00:14.0)", sim.NextBootHide);
        Assert.Equal(before, sim.Capture());
    }

    [Fact]
    public async Task A_short_form_list_is_rewritten_in_full_form_and_restored_byte_for_byte()
    {
        var sim = Create(ProductProfile.XenServer65);
        sim.SetNextBootHide("xen-pciback.hide=(00:14.0)");
        var before = sim.Capture();

        var change = await sim.Driver.PersistHideAsync([DefaultDevices.PassthroughNic], Ct);
        Assert.Equal("(0000:00:14.0)(0000:03:00.0)", sim.NextBootHide);

        await sim.Driver.RestoreHideListAsync(change, Ct);

        Assert.Equal("(00:14.0)", sim.NextBootHide);
        Assert.Equal(before, sim.Capture());
    }

    [Fact]
    public async Task Persisting_what_is_already_hidden_writes_nothing()
    {
        var sim = Create(ProductProfile.XenServer71);
        await sim.Driver.PersistHideAsync([DefaultDevices.PassthroughNic], Ct);
        var persisted = sim.Capture();
        var log = sim.Watch();

        var change = await sim.Driver.PersistHideAsync([DefaultDevices.PassthroughNic], Ct);
        await sim.Driver.RestoreHideListAsync(change, Ct);

        Assert.False(change.Changed);
        Assert.Equal(0, log.Count("xen-cmdline --set-dom0"));
        Assert.Equal(0, log.Count("xen-cmdline --delete-dom0"));
        Assert.Equal(persisted, sim.Capture());
    }

    [Fact]
    public async Task Restoring_twice_writes_once()
    {
        var sim = Create(ProductProfile.XenServer71);
        var change = await sim.Driver.PersistHideAsync([DefaultDevices.PassthroughNic], Ct);
        await sim.Driver.RestoreHideListAsync(change, Ct);
        var log = sim.Watch();

        await sim.Driver.RestoreHideListAsync(change, Ct);

        Assert.Equal(0, log.Count("xen-cmdline --set-dom0") + log.Count("xen-cmdline --delete-dom0"));
        Assert.Null(sim.NextBootHide);
    }

    [Theory]
    [InlineData("xen-pciback.hide=(0000:00:14.0)(garbage)")]
    [InlineData("xen-pciback.hide=(0000:00:14.0")]
    [InlineData("xen-pciback.hide=0000:00:14.0")]
    public async Task A_malformed_existing_list_is_refused_and_left_untouched(string existing)
    {
        var sim = Create(ProductProfile.XcpNg82);
        sim.SetNextBootHide(existing);
        var before = sim.Capture();
        var log = sim.Watch();

        var persist = await Assert.ThrowsAsync<Dom0Exception>(() => sim.Driver.PersistHideAsync([DefaultDevices.PassthroughNic], Ct));
        var remove = await Assert.ThrowsAsync<Dom0Exception>(() => sim.Driver.RemoveHideAsync([DefaultDevices.UsbController], Ct));

        Assert.Equal(FailureCause.MalformedHideList, persist.Cause);
        Assert.Equal(FailureCause.MalformedHideList, remove.Cause);
        Assert.Equal(existing, persist.Failure.OriginalText);
        Assert.NotNull(persist.Failure.FixHint);
        Assert.Equal(0, log.Count("xen-cmdline --set-dom0") + log.Count("xen-cmdline --delete-dom0"));
        Assert.Equal(before, sim.Capture());
    }

    [Fact]
    public async Task Removing_keeps_the_others_and_removing_the_last_deletes_the_parameter()
    {
        var sim = Create(ProductProfile.XcpNg82);
        sim.SetNextBootHide("xen-pciback.hide=(0000:00:14.0)(0000:03:00.0)");
        var before = sim.Capture();

        var first = await sim.Driver.RemoveHideAsync([DefaultDevices.PassthroughNic], Ct);
        Assert.Equal("(0000:00:14.0)", sim.NextBootHide);
        var second = await sim.Driver.RemoveHideAsync([DefaultDevices.UsbController], Ct);
        Assert.Null(sim.NextBootHide);
        var again = await sim.Driver.RemoveHideAsync([DefaultDevices.UsbController], Ct);
        Assert.False(again.Changed);

        await sim.Driver.RestoreHideListAsync(second, Ct);
        await sim.Driver.RestoreHideListAsync(first, Ct);

        Assert.Equal(before, sim.Capture());
    }

    [Fact]
    public async Task Removing_from_a_short_form_list_normalises_it_and_restoring_brings_the_short_form_back()
    {
        var sim = Create(ProductProfile.XenServer65);
        sim.SetNextBootHide("xen-pciback.hide=(00:14.0)(03:00.0)");
        var before = sim.Capture();

        var change = await sim.Driver.RemoveHideAsync([DefaultDevices.PassthroughNic], Ct);
        Assert.Equal("(0000:00:14.0)", sim.NextBootHide);
        await sim.Driver.RestoreHideListAsync(change, Ct);

        Assert.Equal("(00:14.0)(03:00.0)", sim.NextBootHide);
        Assert.Equal(before, sim.Capture());
    }

    [Fact]
    public async Task On_8_3_disabling_dom0_access_is_undone_by_restoring_the_state_before()
    {
        var sim = Create(ProductProfile.XcpNg83);
        var nic = sim.Pci(DefaultDevices.PassthroughNic);
        var before = sim.Capture();

        var previous = await sim.Driver.DisableDom0AccessAsync(nic, Ct);

        Assert.Equal(Dom0Access.Enabled, previous);
        Assert.Equal(Dom0Access.DisableOnReboot, await sim.Driver.ReadDom0AccessAsync(nic, Ct));
        Assert.Equal("(0000:03:00.0)", sim.NextBootHide);

        await sim.Driver.RestoreDom0AccessAsync(nic, previous, Ct);

        Assert.Equal(Dom0Access.Enabled, await sim.Driver.ReadDom0AccessAsync(nic, Ct));
        Assert.Equal(before, sim.Capture());
    }

    [Fact]
    public async Task On_8_3_disabling_twice_calls_xapi_once_and_keeps_the_other_hidden_devices()
    {
        var sim = Create(ProductProfile.XcpNg83, b => b.HiddenAtBoot("(0000:00:14.0)"));
        var nic = sim.Pci(DefaultDevices.PassthroughNic);
        var before = sim.Capture();
        var log = sim.Watch();

        var first = await sim.Driver.DisableDom0AccessAsync(nic, Ct);
        var second = await sim.Driver.DisableDom0AccessAsync(nic, Ct);

        Assert.Equal(Dom0Access.Enabled, first);
        Assert.Equal(Dom0Access.DisableOnReboot, second);
        Assert.Equal(1, log.Count("xe pci-disable-dom0-access"));
        Assert.Equal("(0000:03:00.0)(0000:00:14.0)", sim.NextBootHide);

        await sim.Driver.RestoreDom0AccessAsync(nic, second, Ct);
        Assert.Equal("(0000:03:00.0)(0000:00:14.0)", sim.NextBootHide);
        await sim.Driver.RestoreDom0AccessAsync(nic, first, Ct);

        Assert.Equal(before, sim.Capture());
    }

    [Fact]
    public async Task On_8_3_the_boot_disk_controller_cannot_be_hidden_where_xapi_refuses_it()
    {
        var profile = ProductProfile.XcpNg83 with { RefusesBootDevicePassthrough = true };
        var sim = Create(profile);
        var before = sim.Capture();

        var error = await Assert.ThrowsAsync<Dom0Exception>(() => sim.Driver.DisableDom0AccessAsync(sim.Pci(DefaultDevices.SataController), Ct));

        Assert.Equal(FailureCause.BootDevice, error.Cause);
        Assert.Contains("Passing through a PCI device backing a boot disk is disallowed", error.Failure.OriginalText, StringComparison.Ordinal);
        Assert.Equal(before, sim.Capture());
    }
}

using Passthrough.Contracts.Messaging;
using Passthrough.Shell;
using Passthrough.Testing;

namespace Passthrough.Guest.Tests;

public sealed class PcifrontRemedyTests
{
    private const string Release = "3.2.0-4-amd64";

    private static GuestTree AvailableNotLoaded() =>
        GuestTree.Linux(Release, "PV").PcifrontDevice().Modules(Release, string.Empty, "kernel/drivers/pci/xen-pcifront.ko:\n")
            .KernLog(string.Empty);

    private static readonly PcifrontRemedyPolicy Allow = PcifrontRemedyPolicy.LoadModule with { SettleDelay = TimeSpan.FromMilliseconds(1) };

    [Fact]
    public async Task Loads_the_module_when_allowed_and_reprobes_to_an_active_frontend()
    {
        using var tree = AvailableNotLoaded();
        var probe = new LinuxGuestProbe(new LocalGuestFileSystem(tree.Root));
        var before = await probe.ProbeAsync(Probe.Ct);
        // modprobe in the guest: the module loads, registers the driver and binds pci-0.
        var runner = new RecordingRunner(null, request =>
        {
            tree.PcifrontModuleLoaded().PcifrontDriver();
            return RecordingRunner.Result(request, 0);
        });

        var result = await new PcifrontRemedy(runner, Allow).ApplyAsync(probe, before, Probe.Ct);

        var request = Assert.Single(runner.Requests);
        Assert.Equal("modprobe", request.Program);
        Assert.Equal(["xen-pcifront"], request.Arguments);
        Assert.Equal(PcifrontRemedyOutcome.Loaded, result.Outcome);
        Assert.Equal(PcifrontState.Active, result.Report.Pcifront.State);
        Assert.Equal(PcifrontState.AvailableNotLoaded, before.Pcifront.State);
    }

    [Fact]
    public async Task Does_nothing_when_the_policy_does_not_allow_it()
    {
        using var tree = AvailableNotLoaded();
        var probe = new LinuxGuestProbe(new LocalGuestFileSystem(tree.Root));
        var before = await probe.ProbeAsync(Probe.Ct);
        var runner = new RecordingRunner(null, request => RecordingRunner.Result(request, 0));

        var result = await new PcifrontRemedy(runner).ApplyAsync(probe, before, Probe.Ct);

        Assert.Empty(runner.Requests);
        Assert.Equal(PcifrontRemedyOutcome.NotAllowed, result.Outcome);
        Assert.Same(before, result.Report);
    }

    [Fact]
    public async Task Does_nothing_when_pcifront_is_absent_from_the_kernel()
    {
        using var tree = LinuxGuestProbeTests.PvWithoutPcifront();
        var probe = new LinuxGuestProbe(new LocalGuestFileSystem(tree.Root));
        var before = await probe.ProbeAsync(Probe.Ct);
        var runner = new RecordingRunner(null, request => RecordingRunner.Result(request, 0));

        var result = await new PcifrontRemedy(runner, Allow).ApplyAsync(probe, before, Probe.Ct);

        Assert.Empty(runner.Requests);
        Assert.Equal(PcifrontRemedyOutcome.NotNeeded, result.Outcome);
    }

    [Fact]
    public async Task A_failing_modprobe_is_reported_with_its_error_output()
    {
        using var tree = AvailableNotLoaded();
        var probe = new LinuxGuestProbe(new LocalGuestFileSystem(tree.Root));
        var before = await probe.ProbeAsync(Probe.Ct);
        var runner = new RecordingRunner(null, request => RecordingRunner.Result(request, 1, stderr: "modprobe: ERROR: could not insert 'xen_pcifront': Operation not permitted\n"));

        var result = await new PcifrontRemedy(runner, Allow).ApplyAsync(probe, before, Probe.Ct);

        Assert.Equal(PcifrontRemedyOutcome.Failed, result.Outcome);
        Assert.Contains("Operation not permitted", result.Detail, StringComparison.Ordinal);
        Assert.Same(before, result.Report);
    }

    [Fact]
    public async Task A_modprobe_that_succeeds_without_effect_is_a_failure_after_the_settle_attempts()
    {
        using var tree = AvailableNotLoaded();
        var inner = new LinuxGuestProbe(new LocalGuestFileSystem(tree.Root));
        var counting = new CountingProbe(inner);
        var before = await inner.ProbeAsync(Probe.Ct);
        var runner = new RecordingRunner(null, request => RecordingRunner.Result(request, 0));

        var result = await new PcifrontRemedy(runner, Allow with { SettleAttempts = 3 }).ApplyAsync(counting, before, Probe.Ct);

        Assert.Equal(PcifrontRemedyOutcome.Failed, result.Outcome);
        Assert.Equal(3, counting.Calls);
        Assert.Contains("still shows", result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_transport_failure_of_modprobe_is_a_failed_remedy_not_an_exception()
    {
        using var tree = AvailableNotLoaded();
        var probe = new LinuxGuestProbe(new LocalGuestFileSystem(tree.Root));
        var before = await probe.ProbeAsync(Probe.Ct);
        var runner = new RecordingRunner(null, _ => throw new ConnectionLostException(CommandTarget.Local, "modprobe xen-pcifront", "reset"));

        var result = await new PcifrontRemedy(runner, Allow).ApplyAsync(probe, before, Probe.Ct);

        Assert.Equal(PcifrontRemedyOutcome.Failed, result.Outcome);
        Assert.Contains("reset", result.Detail, StringComparison.Ordinal);
    }

    private sealed class CountingProbe(IGuestProbe inner) : IGuestProbe
    {
        public int Calls { get; private set; }

        public Task<GuestReport> ProbeAsync(CancellationToken cancellationToken = default)
        {
            Calls++;
            return inner.ProbeAsync(cancellationToken);
        }
    }
}

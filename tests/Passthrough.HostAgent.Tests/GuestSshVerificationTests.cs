using Passthrough.Contracts.HostCommands;
using Passthrough.Contracts.HostEvents;
using Passthrough.Contracts.Messaging;
using Passthrough.Guest;
using Passthrough.Testing;

namespace Passthrough.HostAgent.Tests;

/// <summary>
/// Agentless verification for guests that cannot run the guest agent: the host agent logs into the "guest" over a real
/// OpenSSH server on 127.0.0.1 (this machine stands in for the guest) and runs the same probe and verdict as the agent.
/// A missing sshd fails these tests.
/// </summary>
public sealed class GuestSshVerificationTests(SshdFixture sshd) : IClassFixture<SshdFixture>
{
    private static readonly Guid Saga = Guid.NewGuid();

    [Fact]
    public async Task The_host_agent_probes_a_guest_over_ssh_and_answers_with_what_it_found()
    {
        var sim = new SimHost();
        await using var agent = await AgentHost.StartAsync(sim, o => o.GuestSsh.IdentityFile = sshd.IdentityFile);
        var local = await new LinuxGuestProbe(new LocalGuestFileSystem("/")).ProbeAsync(AgentHost.Ct);
        var present = local.Devices[0];

        var probed = await agent.AskAsync<GuestProbedOverSsh>(sim.Id, Verify(sim, new GuestSshTarget("127.0.0.1", sshd.Port, sshd.User, sshd.HostKeyFingerprint),
            new ExpectedDevice(present.Id)));

        // The same facts the local probe reads, carried back through the host agent's reply.
        Assert.Equal(local.KernelRelease, probed.Kernel);
        Assert.Equal(local.BootId, probed.BootId);
        Assert.Equal(local.Devices.Select(d => (d.Address, d.Id)), probed.Devices.Select(d => (d.Address, d.Id)));
        // A device this machine has, no pcifront demanded (as for an HVM guest): verified.
        Assert.True(probed.Verified, string.Join("; ", probed.Problems.Select(p => p.Message)));

        // A device it does not have: not verified, and the problem names the cause.
        var absent = await agent.AskAsync<GuestProbedOverSsh>(sim.Id, Verify(sim, new GuestSshTarget("127.0.0.1", sshd.Port, sshd.User, sshd.HostKeyFingerprint),
            new ExpectedDevice(Contracts.Pci.PciDeviceId.Create(0xdead, 0xbeef))));
        Assert.False(absent.Verified);
        Assert.Contains(absent.Problems, p => p.Cause == FailureCause.GuestDeviceMissing);
    }

    [Fact]
    public async Task A_guest_whose_host_key_differs_from_the_pinned_one_is_refused()
    {
        var sim = new SimHost();
        await using var agent = await AgentHost.StartAsync(sim, o => o.GuestSsh.IdentityFile = sshd.IdentityFile);

        var failed = await agent.AskAsync<HostCommandFailed>(sim.Id, Verify(sim,
            new GuestSshTarget("127.0.0.1", sshd.Port, sshd.User, "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), new ExpectedDevice(Contracts.Pci.PciDeviceId.Create(0x8086, 0x1533))));

        Assert.Equal(FailureCause.HostKeyMismatch, failed.Failure.Cause);
    }

    [Fact]
    public async Task An_unreachable_guest_is_reported_as_such_naming_its_address()
    {
        var sim = new SimHost();
        await using var agent = await AgentHost.StartAsync(sim, o => o.GuestSsh.IdentityFile = sshd.IdentityFile);

        // Port 1 on loopback: nothing listens there.
        var failed = await agent.AskAsync<HostCommandFailed>(sim.Id, Verify(sim,
            new GuestSshTarget("127.0.0.1", 1, sshd.User, sshd.HostKeyFingerprint), new ExpectedDevice(Contracts.Pci.PciDeviceId.Create(0x8086, 0x1533))));

        Assert.Equal(FailureCause.HostUnreachable, failed.Failure.Cause);
        Assert.Contains("127.0.0.1", failed.Failure.Message, StringComparison.Ordinal);
    }

    private static VerifyGuestOverSsh Verify(SimHost sim, GuestSshTarget target, ExpectedDevice expected) =>
        new(Saga, SagaStep.Verify, 1, Guid.NewGuid(), sim.Id, sim.Vm(Passthrough.Simulation.DefaultDevices.PvVmName), target, [expected], null, RequirePcifront: false);
}

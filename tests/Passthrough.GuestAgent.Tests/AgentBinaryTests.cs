using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Passthrough.Contracts.GuestCommands;
using Passthrough.Contracts.GuestEvents;
using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Messaging;
using Passthrough.Contracts.Pci;
using Passthrough.GuestAgent.Tests.Infrastructure;

namespace Passthrough.GuestAgent.Tests;

/// <summary>
/// The NativeAOT agent binary (the one ops/test.sh publishes and CI ships) against the real RabbitMQ, with its probe
/// root on a temporary guest tree, and a MassTransit bus on the coordinator's side.
/// </summary>
public sealed class AgentBinaryTests(EventBus bus) : IClassFixture<EventBus>, IAsyncLifetime
{
    private readonly VmId _vm = new(XenUuid.NewUuid());
    private readonly GuestTree _tree = GuestTree.Pv(GuestTree.UsbController);
    private readonly string _spool = Path.Combine(Path.GetTempPath(), "agent-spool-" + Guid.NewGuid().ToString("N"));
    private readonly List<AgentProcess> _agents = [];

    public ValueTask InitializeAsync()
    {
        bus.Track(_vm);
        _ = AgentProcess.Binary;
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var agent in _agents)
        {
            await agent.DisposeAsync();
        }

        _tree.Dispose();
        if (Directory.Exists(_spool))
        {
            Directory.Delete(_spool, recursive: true);
        }
    }

    private Dictionary<string, string?> Settings(Uri? broker = null) => new()
    {
        ["Broker"] = (broker ?? RabbitMqBroker.Uri).ToString(),
        ["VmUuid"] = _vm.ToString(),
        ["ProbeRoot"] = _tree.Root,
        ["SpoolDirectory"] = _spool,
        ["HeartbeatInterval"] = "00:00:01",
    };

    private AgentProcess StartAgent(Uri? broker = null)
    {
        var agent = AgentProcess.Start(Settings(broker));
        _agents.Add(agent);
        return agent;
    }

    private async Task<GuestBooted> WaitForBootAsync(AgentProcess agent, int count = 1)
    {
        try
        {
            await Eventually.TrueAsync(() => bus.Of<GuestBooted>(m => m.Vm == _vm).Count >= count, TimeSpan.FromSeconds(30), $"boot report {count} of VM {_vm}");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Assert.Fail($"{ex.Message}\nagent output:\n{agent.Output}");
        }

        return (GuestBooted)bus.Of<GuestBooted>(m => m.Vm == _vm)[count - 1].Message;
    }

    /// <summary>
    /// The boot report reaches the bus before the broker's confirm reaches the agent, which deletes its spool file only
    /// then; cutting the connection in between would leave that file behind beside the fault's (it failed once on CI).
    /// </summary>
    private Task WaitForConfirmedBootAsync() =>
        Eventually.TrueAsync(() => SpoolFiles() == 0, TimeSpan.FromSeconds(10), "the boot report's confirm to empty the spool");

    private int SpoolFiles() => Directory.Exists(_spool) ? Directory.GetFiles(_spool, "*.msg").Length : 0;

    [Fact]
    public async Task The_agent_binary_reports_its_boot_and_heartbeats_to_a_MassTransit_consumer()
    {
        var agent = StartAgent();

        var booted = await WaitForBootAsync(agent);

        Assert.Equal(_tree.BootId, booted.BootId);
        Assert.Equal(GuestTree.Kernel, booted.Kernel);
        Assert.Equal(GuestType.PV, booted.GuestType);
        Assert.Equal(PcifrontState.Active, booted.Pcifront);
        var device = Assert.Single(booted.Devices);
        Assert.Equal((GuestTree.UsbController.Address, GuestTree.UsbController.Id, "ehci-pci"), (device.Address, device.Id, device.Driver));
        Assert.Equal(PciDeviceId.Parse("1043:84ca"), device.Subsystem);
        var heartbeat = (await bus.WaitForAsync<GuestHeartbeat>(m => m.Vm == _vm, TimeSpan.FromSeconds(10))).Message;
        Assert.Equal(_tree.BootId, heartbeat.BootId);
    }

    [Fact]
    public async Task The_agent_binary_answers_VerifyGuestDevices_sent_by_MassTransit()
    {
        var agent = StartAgent();
        await WaitForBootAsync(agent);
        var good = new VerifyGuestDevices(Guid.NewGuid(), SagaStep.Verify, 1, Guid.NewGuid(), _vm,
            [new ExpectedDevice(GuestTree.UsbController.Id, PciDeviceId.Parse("1043:84ca"), "ehci_pci")], "00000000-0000-0000-0000-000000000000", RequirePcifront: true);
        var missing = good with { CommandId = Guid.NewGuid(), Attempt = 2, Expected = [new ExpectedDevice(PciDeviceId.Parse("10de:1b81"))] };

        var goodId = await bus.SendAsync(good);
        var (verified, envelope) = await bus.WaitForAsync<GuestDevicesVerified>(m => m.CommandId == good.CommandId);
        await bus.SendAsync(missing);
        var (notVerified, _) = await bus.WaitForAsync<GuestDevicesVerified>(m => m.CommandId == missing.CommandId);

        Assert.True(verified.Verified, string.Join("; ", verified.Problems.Select(p => p.Message)) + "\n" + agent.Output);
        Assert.Equal((good.SagaId, _vm, _tree.BootId, PcifrontState.Active), (verified.SagaId, verified.Vm, verified.BootId, verified.Pcifront));
        Assert.Equal(goodId, envelope.InitiatorId);
        Assert.False(notVerified.Verified);
        Assert.Equal(FailureCause.GuestDeviceMissing, Assert.Single(notVerified.Problems).Cause);
    }

    [Fact]
    public async Task The_agent_binary_reports_a_lost_pcifront_within_one_second()
    {
        var agent = StartAgent();
        await WaitForBootAsync(agent);

        var lost = DateTime.UtcNow;
        _tree.RemovePcifrontDriver();
        var (fault, envelope) = await bus.WaitForAsync<GuestFaultDetected>(m => m.Vm == _vm, TimeSpan.FromSeconds(10));

        Assert.Equal(GuestFaultKind.PcifrontGone, fault.Kind);
        Assert.Equal(_tree.BootId, fault.BootId);
        var delay = envelope.At - lost;
        Assert.True(delay < TimeSpan.FromSeconds(1), $"the fault reached the consumer {delay.TotalMilliseconds:0} ms after the change");
    }

    [Fact]
    public async Task A_fault_during_a_broker_outage_is_kept_and_published_after_the_agent_reconnects()
    {
        await using var proxy = new TcpProxy(RabbitMqBroker.Uri.Host, RabbitMqBroker.Uri.Port);
        var agent = StartAgent(RabbitMqBroker.ThroughPort(proxy.Port));
        await WaitForBootAsync(agent);
        await WaitForConfirmedBootAsync();

        proxy.Cut();
        _tree.RemoveDevice(GuestTree.UsbController.Address);
        await Eventually.TrueAsync(() => SpoolFiles() == 1, TimeSpan.FromSeconds(5), "the fault in the spool");
        await Task.Delay(TimeSpan.FromSeconds(2), TestContext.Current.CancellationToken);
        Assert.Empty(bus.Of<GuestFaultDetected>(m => m.Vm == _vm));

        proxy.Restore();
        var (fault, _) = await bus.WaitForAsync<GuestFaultDetected>(m => m.Vm == _vm, TimeSpan.FromSeconds(30));

        Assert.Equal((GuestFaultKind.DeviceVanished, (PciDeviceId?)GuestTree.UsbController.Id), (fault.Kind, fault.Device));
        await Eventually.TrueAsync(() => SpoolFiles() == 0, TimeSpan.FromSeconds(10), "the spool to empty");
        Assert.Single(bus.Of<GuestFaultDetected>(m => m.Vm == _vm));
    }

    [Fact]
    public async Task The_agent_binary_recovers_when_the_broker_closes_its_connection()
    {
        var agent = StartAgent();
        await WaitForBootAsync(agent);

        Assert.Equal(1, await RabbitMqBroker.CloseConnectionsAsync($"passthrough-guest-agent {_vm}"));
        _tree.UnbindDriver(GuestTree.UsbController.Address);
        var (fault, _) = await bus.WaitForAsync<GuestFaultDetected>(m => m.Vm == _vm, TimeSpan.FromSeconds(30));
        var verify = new VerifyGuestDevices(Guid.NewGuid(), SagaStep.Verify, 1, Guid.NewGuid(), _vm, [new ExpectedDevice(GuestTree.UsbController.Id, null, "ehci-pci")], null, true);
        await bus.SendAsync(verify);
        var (answer, _) = await bus.WaitForAsync<GuestDevicesVerified>(m => m.CommandId == verify.CommandId, TimeSpan.FromSeconds(30));

        Assert.Equal(GuestFaultKind.DriverUnbound, fault.Kind);
        Assert.Equal(FailureCause.GuestDriverNotBound, Assert.Single(answer.Problems).Cause);
    }

    [Fact]
    public async Task The_agent_binary_consumes_again_when_its_command_queue_is_deleted()
    {
        var agent = StartAgent();
        await WaitForBootAsync(agent);

        await RabbitMqBroker.DeleteAsync([GuestAgentQueues.ForVm(_vm)], []);
        // The broker cancels the consumer and the agent re-declares after its back-off: seconds when idle, more on a loaded CI machine.
        await Eventually.TrueAsync(() => agent.Output.Contains("consuming again", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "the agent to notice");
        var verify = new VerifyGuestDevices(Guid.NewGuid(), SagaStep.Verify, 1, Guid.NewGuid(), _vm, [new ExpectedDevice(GuestTree.UsbController.Id)], null, true);
        await bus.SendAsync(verify);
        var (answer, _) = await bus.WaitForAsync<GuestDevicesVerified>(m => m.CommandId == verify.CommandId, TimeSpan.FromSeconds(30));

        Assert.True(answer.Verified, agent.Output);
    }

    [Fact]
    public async Task Faults_spooled_by_an_agent_that_died_during_an_outage_are_published_by_the_next_one()
    {
        await using var proxy = new TcpProxy(RabbitMqBroker.Uri.Host, RabbitMqBroker.Uri.Port);
        var first = StartAgent(RabbitMqBroker.ThroughPort(proxy.Port));
        await WaitForBootAsync(first);
        await WaitForConfirmedBootAsync();
        proxy.Cut();
        _tree.RemoveDevice(GuestTree.UsbController.Address);
        await Eventually.TrueAsync(() => SpoolFiles() == 1, TimeSpan.FromSeconds(5), "the fault in the spool");

        first.Kill();
        var second = StartAgent();
        await WaitForBootAsync(second, count: 2);
        var (fault, _) = await bus.WaitForAsync<GuestFaultDetected>(m => m.Vm == _vm, TimeSpan.FromSeconds(30));

        Assert.Equal(GuestFaultKind.DeviceVanished, fault.Kind);
        await Eventually.TrueAsync(() => SpoolFiles() == 0, TimeSpan.FromSeconds(10), "the spool to empty");
    }

    [Fact]
    public async Task Under_systemd_the_agent_binary_says_READY_once_working_and_STOPPING_on_SIGTERM()
    {
        var socketPath = Path.Combine(Path.GetTempPath(), $"notify-{Guid.NewGuid():N}.sock");
        var pidFile = Path.Combine(Path.GetTempPath(), $"agent-{Guid.NewGuid():N}.pid");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(socketPath));
        try
        {
            var agent = AgentProcess.StartUnderSystemd(Settings(), socketPath, pidFile);
            _agents.Add(agent);

            var ready = await ReceiveAsync(socket);
            Assert.Equal("READY=1", ready);
            Assert.Equal(_tree.BootId, (await WaitForBootAsync(agent)).BootId);
            Assert.Contains("<6>Passthrough.GuestAgent", agent.Output, StringComparison.Ordinal);

            await Eventually.TrueAsync(() => File.Exists(pidFile) && File.ReadAllText(pidFile).Trim().Length > 0, TimeSpan.FromSeconds(5), "the agent's pid");
            using (var kill = Process.Start("kill", ["-TERM", File.ReadAllText(pidFile).Trim()]))
            {
                await kill.WaitForExitAsync(TestContext.Current.CancellationToken);
            }

            Assert.Equal("STOPPING=1", await ReceiveAsync(socket));
            Assert.Equal(0, await agent.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }
        finally
        {
            File.Delete(socketPath);
            File.Delete(pidFile);
        }
    }

    private static async Task<string> ReceiveAsync(Socket socket)
    {
        var buffer = new byte[4096];
        var count = await socket.ReceiveAsync(buffer, SocketFlags.None, TestContext.Current.CancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        return Encoding.UTF8.GetString(buffer, 0, count).Trim();
    }

    [Fact]
    public async Task The_agent_binary_refuses_to_start_without_a_broker_and_names_the_key()
    {
        var agent = AgentProcess.Start(new Dictionary<string, string?> { ["VmUuid"] = _vm.ToString(), ["ProbeRoot"] = _tree.Root, ["SpoolDirectory"] = _spool });
        _agents.Add(agent);

        var exitCode = await agent.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(1, exitCode);
        Assert.Contains("GuestAgent:Broker is required", agent.Output, StringComparison.Ordinal);
    }
}

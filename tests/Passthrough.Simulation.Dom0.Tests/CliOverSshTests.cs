using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Passthrough.Cli;
using Passthrough.Shell;

namespace Passthrough.Simulation.Dom0.Tests;

// Integration tier: `passthrough host inventory` with the real runner factory, against a real sshd in front of the
// simulated dom0 (and against what goes wrong before any command runs).
public sealed class CliOverSshTests(SimulatedDom0SshdFixture sshd) : IClassFixture<SimulatedDom0SshdFixture>, IAsyncDisposable
{
    private const string WrongFingerprint = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    private readonly CommandRunnerFactory _factory = new();
    private readonly StringWriter _out = new();
    private readonly StringWriter _error = new();

    public ValueTask DisposeAsync() => _factory.DisposeAsync();

    private string[] ErrorLines => _error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);

    private Task<int> InventoryAsync(int? port = null, string? identity = null, string? hostKey = null) =>
        CliApplication.RunAsync(
            ["host", "inventory", "--target", $"ssh://root@127.0.0.1:{port ?? sshd.Port}", "--identity", identity ?? sshd.IdentityFile,
             "--host-key", hostKey ?? sshd.HostKeyFingerprint, "--output", "json"],
            new CliEnvironment(_out, _error, _factory.Create, TimeProvider.System));

    // An unreachable host, a bad key or a malformed target is exactly one line on stderr.
    private string SingleErrorLine()
    {
        var line = Assert.Single(ErrorLines);
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        return line;
    }

    [Fact]
    public async Task Inventory_of_the_simulated_host_over_ssh_exits_0_with_every_device()
    {
        var host = SimulatedDom0SshdFixture.NewHost();
        sshd.Reset(host);

        var code = await InventoryAsync();

        Assert.True(code == ExitCodes.Ok, _error.ToString());
        Assert.Equal(string.Empty, _error.ToString());
        using var json = JsonDocument.Parse(_out.ToString());
        var root = json.RootElement;
        Assert.Equal(host.Uuid.ToString(), root.GetProperty("host").GetString());
        Assert.Equal($"ssh://root@127.0.0.1:{sshd.Port}", root.GetProperty("target").GetString());
        Assert.Equal("XCP-ng", root.GetProperty("product").GetString());
        var devices = root.GetProperty("devices").EnumerateArray().ToList();
        Assert.Equal(host.PciFunctions.Select(f => f.Address.ToString()), devices.Select(d => d.GetProperty("bdf").GetString()));
        var gpu = devices.Single(d => d.GetProperty("bdf").GetString() == DefaultDevices.Gpu.ToString());
        Assert.Equal(host.Function(DefaultDevices.Gpu).XapiUuid.ToString(), gpu.GetProperty("xapiUuid").GetString());
        Assert.True(devices.Single(d => d.GetProperty("bdf").GetString() == DefaultDevices.SataController.ToString()).GetProperty("bootDevice").GetBoolean());
    }

    [Fact]
    public async Task A_wrong_host_key_exits_4_naming_the_fingerprint_the_server_presented()
    {
        var code = await InventoryAsync(hostKey: WrongFingerprint);

        Assert.Equal(ExitCodes.HostKeyMismatch, code);
        var line = SingleErrorLine();
        Assert.Contains(sshd.HostKeyFingerprint, line, StringComparison.Ordinal);
        Assert.Contains(WrongFingerprint, line, StringComparison.Ordinal);
        Assert.Equal(string.Empty, _out.ToString());
    }

    [Fact]
    public async Task A_closed_port_exits_3()
    {
        int closed;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            closed = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        var code = await InventoryAsync(port: closed);

        Assert.Equal(ExitCodes.Unreachable, code);
        Assert.Contains($"connection refused on port {closed}", SingleErrorLine(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_key_the_server_does_not_accept_exits_5()
    {
        var stranger = await sshd.CreateUnauthorizedKeyAsync($"stranger-{Guid.NewGuid():N}");

        var code = await InventoryAsync(identity: stranger);

        Assert.Equal(ExitCodes.AuthenticationFailed, code);
        Assert.Contains(stranger, SingleErrorLine(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_malformed_target_exits_2_before_connecting()
    {
        var code = await CliApplication.RunAsync(
            ["host", "inventory", "--target", "ssh://root@127.0.0.1:99999", "--identity", sshd.IdentityFile, "--host-key", sshd.HostKeyFingerprint],
            new CliEnvironment(_out, _error, _factory.Create, TimeProvider.System));

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("99999", SingleErrorLine(), StringComparison.Ordinal);
    }
}

using Passthrough.Testing;

namespace Passthrough.Shell.Tests;

// Integration tier with its own sshd, because these tests kill sessions and restart the server.
public sealed class SshReconnectTests(SshdFixture sshd) : IClassFixture<SshdFixture>, IAsyncLifetime
{
    private readonly SshCommandRunner _runner = new(
        sshd.Target, new SshCommandRunnerOptions { ConnectTimeout = TimeSpan.FromSeconds(5) });

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        await _runner.DisposeAsync();

        // Leave the server up for the next test whatever this one did to it.
        await sshd.StartAsync();
    }

    [Fact]
    public async Task A_connection_dropped_while_idle_is_re_established_by_the_next_command()
    {
        var before = await SshCommandRunnerTests.ConnectionIdAsync(_runner);

        await sshd.KillSessionsAsync();
        var result = await _runner.RunAsync(new CommandRequest("echo", "back"), Ct);

        Assert.Equal("back\n", result.StandardOutput);
        Assert.NotEqual(before, await SshCommandRunnerTests.ConnectionIdAsync(_runner));
    }

    [Fact]
    public async Task A_restarted_server_is_reconnected_to_by_the_next_command()
    {
        await _runner.RunAsync(new CommandRequest("true"), Ct);

        await sshd.RestartAsync();
        var result = await _runner.RunAsync(new CommandRequest("echo", "after restart"), Ct);

        Assert.Equal("after restart\n", result.StandardOutput);
    }

    [Fact]
    public async Task A_connection_lost_during_a_command_throws_ConnectionLostException_and_never_re_runs_it()
    {
        var ledger = Path.Combine(sshd.Directory, "ran-" + Guid.NewGuid().ToString("N"));
        var running = _runner.RunAsync(new CommandRequest("sh", "-c", "echo ran >> \"$0\"; sleep 30", ledger), Ct);
        await WaitUntilAsync(() => File.Exists(ledger));

        await sshd.KillSessionsAsync();
        var error = await Assert.ThrowsAsync<ConnectionLostException>(() => running);

        Assert.Equal(sshd.Target, error.Target);
        Assert.Contains("sleep 30", error.Command, StringComparison.Ordinal);
        Assert.Equal(["ran"], await File.ReadAllLinesAsync(ledger, Ct));
        var next = await _runner.RunAsync(new CommandRequest("echo", "recovered"), Ct);
        Assert.Equal("recovered\n", next.StandardOutput);
        Assert.Equal(["ran"], await File.ReadAllLinesAsync(ledger, Ct));
    }

    [Fact]
    public async Task A_server_that_is_down_refuses_and_a_later_call_succeeds_once_it_is_back()
    {
        await _runner.RunAsync(new CommandRequest("true"), Ct);

        await sshd.StopAsync();
        await Assert.ThrowsAsync<ConnectionRefusedException>(() => _runner.RunAsync(new CommandRequest("true"), Ct));
        await sshd.StartAsync();
        var result = await _runner.RunAsync(new CommandRequest("echo", "up again"), Ct);

        Assert.Equal("up again\n", result.StandardOutput);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(25, Ct);
        }

        Assert.True(condition(), "the remote command never started");
    }
}

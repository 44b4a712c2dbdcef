namespace Passthrough.Shell.Tests;

public sealed class CommandRunnerFactoryTests
{
    private const string Fingerprint = "SHA256:aT/ZusIhXO+0ye3pnzJk8npk+68iSK5I8hVWtcscbhA";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Creates_a_local_runner_for_the_local_target()
    {
        await using var factory = new CommandRunnerFactory();

        await using var runner = factory.Create(CommandTarget.Local);

        Assert.IsType<LocalCommandRunner>(runner);
        Assert.Same(CommandTarget.Local, runner.Target);
    }

    [Fact]
    public async Task Creates_an_ssh_runner_for_an_ssh_target_without_connecting()
    {
        await using var factory = new CommandRunnerFactory();
        var target = SshTarget.Parse("ssh://root@192.0.2.1", "/nonexistent/key", Fingerprint);

        await using var runner = factory.Create(target);

        var ssh = Assert.IsType<SshCommandRunner>(runner);
        Assert.Equal(target, ssh.Target);
        Assert.False(ssh.IsConnected);
    }

    [Fact]
    public async Task Shared_local_runner_runs_commands_and_survives_a_callers_dispose()
    {
        await using var factory = new CommandRunnerFactory();
        var runner = factory.GetRunner(CommandTarget.Parse("local"));

        await runner.DisposeAsync();
        var result = await runner.RunAsync("echo", ["shared"], Ct);

        Assert.Equal("shared\n", result.StandardOutput);
        Assert.Same(CommandTarget.Local, runner.Target);
    }

    [Fact]
    public async Task Refuses_a_kind_of_target_it_has_no_runner_for()
    {
        await using var factory = new CommandRunnerFactory();

        var error = Assert.Throws<NotSupportedException>(() => factory.GetRunner(new ElsewhereTarget()));

        Assert.Contains("elsewhere://", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_disposed_factory_hands_out_nothing()
    {
        var factory = new CommandRunnerFactory();
        await factory.DisposeAsync();

        Assert.Throws<ObjectDisposedException>(() => factory.GetRunner(CommandTarget.Local));
    }

    private sealed record ElsewhereTarget : CommandTarget
    {
        public override string ToString() => "elsewhere://nowhere";
    }
}

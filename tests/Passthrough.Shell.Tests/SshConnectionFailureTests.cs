using System.Net;
using System.Net.Sockets;
using Passthrough.Testing;

namespace Passthrough.Shell.Tests;

// Integration tier: each refusal is produced by the real sshd (or by nothing listening), never simulated.
public sealed class SshConnectionFailureTests(SshdFixture sshd) : IClassFixture<SshdFixture>
{
    private const string WrongFingerprint = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_wrong_pin_is_refused_with_the_fingerprint_the_server_presented()
    {
        await using var runner = new SshCommandRunner(sshd.TargetWith(hostKeyFingerprint: WrongFingerprint));

        var error = await Assert.ThrowsAsync<HostKeyMismatchException>(() => runner.RunAsync(new CommandRequest("true"), Ct));

        Assert.Equal(WrongFingerprint, error.ExpectedFingerprint);
        Assert.Equal(sshd.HostKeyFingerprint, error.SeenFingerprint);
        Assert.Equal("ssh-ed25519", error.KeyAlgorithm);
        Assert.Contains(sshd.HostKeyFingerprint, error.Message, StringComparison.Ordinal);
        Assert.Contains(WrongFingerprint, error.Message, StringComparison.Ordinal);
        Assert.False(runner.IsConnected);
    }

    [Fact]
    public async Task A_pin_differing_only_in_letter_case_is_refused()
    {
        var fingerprint = "SHA256:" + SwapCase(sshd.HostKeyFingerprint["SHA256:".Length..]);
        await using var runner = new SshCommandRunner(sshd.TargetWith(hostKeyFingerprint: fingerprint));

        await Assert.ThrowsAsync<HostKeyMismatchException>(() => runner.ConnectAsync(Ct));
    }

    [Fact]
    public async Task A_key_the_server_does_not_authorize_is_refused_with_AuthenticationFailedException()
    {
        var stranger = await sshd.CreateUnauthorizedKeyAsync("stranger-" + Guid.NewGuid().ToString("N"));
        await using var runner = new SshCommandRunner(sshd.TargetWith(identityFile: stranger));

        var error = await Assert.ThrowsAsync<AuthenticationFailedException>(() => runner.RunAsync(new CommandRequest("true"), Ct));

        Assert.Contains(stranger, error.Message, StringComparison.Ordinal);
        Assert.Contains("refused the key", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_user_the_key_does_not_belong_to_is_refused()
    {
        await using var runner = new SshCommandRunner(sshd.TargetWith(user: "nobody"));

        await Assert.ThrowsAsync<AuthenticationFailedException>(() => runner.ConnectAsync(Ct));
    }

    [Fact]
    public async Task A_missing_identity_file_is_refused_naming_the_file()
    {
        var missing = Path.Combine(sshd.Directory, "no-such-key");
        await using var runner = new SshCommandRunner(sshd.TargetWith(identityFile: missing));

        var error = await Assert.ThrowsAsync<AuthenticationFailedException>(() => runner.ConnectAsync(Ct));

        Assert.Contains(missing, error.Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_garbled_identity_file_is_refused_naming_the_file()
    {
        var garbled = Path.Combine(sshd.Directory, "garbled-" + Guid.NewGuid().ToString("N"));
        await File.WriteAllTextAsync(
            garbled, "-----BEGIN OPENSSH PRIVATE KEY-----\nbm90IGEga2V5\n-----END OPENSSH PRIVATE KEY-----\n", Ct);
        await using var runner = new SshCommandRunner(sshd.TargetWith(identityFile: garbled));

        var error = await Assert.ThrowsAsync<AuthenticationFailedException>(() => runner.ConnectAsync(Ct));

        Assert.Contains(garbled, error.Message, StringComparison.Ordinal);
        Assert.Contains("not a usable private key", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_public_key_given_as_identity_file_is_refused_naming_the_file()
    {
        var publicKey = sshd.IdentityFile + ".pub";
        await using var runner = new SshCommandRunner(sshd.TargetWith(identityFile: publicKey));

        var error = await Assert.ThrowsAsync<AuthenticationFailedException>(() => runner.ConnectAsync(Ct));

        Assert.Contains(publicKey, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_closed_port_is_refused_with_ConnectionRefusedException()
    {
        await using var runner = new SshCommandRunner(sshd.TargetWith(port: ClosedPort()));

        var error = await Assert.ThrowsAsync<ConnectionRefusedException>(() => runner.RunAsync(new CommandRequest("true"), Ct));

        Assert.Contains("connection refused", error.Message, StringComparison.Ordinal);
        Assert.Null(error.Command);
    }

    [Fact]
    public async Task A_host_name_that_does_not_resolve_is_refused_with_ConnectionRefusedException()
    {
        var target = SshTarget.Create("root", "passthrough-test.invalid", 22, sshd.IdentityFile, sshd.HostKeyFingerprint);
        await using var runner = new SshCommandRunner(target, new SshCommandRunnerOptions { ConnectTimeout = TimeSpan.FromSeconds(5) });

        var error = await Assert.ThrowsAsync<ConnectionRefusedException>(() => runner.ConnectAsync(Ct));

        Assert.Contains("'passthrough-test.invalid' does not resolve", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_port_that_accepts_but_never_speaks_SSH_times_out_as_ConnectionRefusedException()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        await using var runner = new SshCommandRunner(
            sshd.TargetWith(port: port), new SshCommandRunnerOptions { ConnectTimeout = TimeSpan.FromSeconds(1) });

        var error = await Assert.ThrowsAsync<ConnectionRefusedException>(() => runner.ConnectAsync(Ct));

        Assert.Contains("within 1 s", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refused_connection_is_retried_on_the_next_call_and_then_succeeds()
    {
        await using var runner = new SshCommandRunner(sshd.TargetWith(identityFile: Path.Combine(sshd.Directory, "late-key")));
        await Assert.ThrowsAsync<AuthenticationFailedException>(() => runner.ConnectAsync(Ct));

        File.Copy(sshd.IdentityFile, Path.Combine(sshd.Directory, "late-key"));
        var result = await runner.RunAsync(new CommandRequest("echo", "ok"), Ct);

        Assert.Equal("ok\n", result.StandardOutput);
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string SwapCase(string value) =>
        string.Concat(value.Select(c => char.IsUpper(c) ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c)));
}

using System.Runtime.Versioning;
using Passthrough.Testing;

namespace Passthrough.Shell.Tests;

// The fixture's promises that later suites rely on: executables dropped in BinDirectory are found by sessions, and
// derived fixtures can set the session environment and add sshd_config lines.
public sealed class SshdFixtureTests(SshdFixtureTests.CustomSshdFixture sshd) : IClassFixture<SshdFixtureTests.CustomSshdFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    [SupportedOSPlatform("linux")]
    public async Task Sessions_run_executables_placed_in_the_bin_directory_by_name()
    {
        var name = "passthrough-sim-" + Guid.NewGuid().ToString("N")[..8];
        var script = Path.Combine(sshd.BinDirectory, name);
        await File.WriteAllTextAsync(script, "#!/bin/sh\nprintf 'simulated %s\\n' \"$*\"\n", Ct);
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        await using var runner = new SshCommandRunner(sshd.Target);

        var result = await runner.RunAsync(new CommandRequest(name, "vm-list", "uuid=x y"), Ct);

        Assert.Equal("simulated vm-list uuid=x y\n", result.StandardOutput);
    }

    [Fact]
    public async Task Sessions_get_the_configured_environment_and_extra_config_applies()
    {
        await using var runner = new SshCommandRunner(sshd.Target);

        var result = await runner.RunAsync(new CommandRequest("sh", "-c", "printf '%s|%s\\n' \"$PASSTHROUGH_SIMULATION\" \"$PATH\""), Ct);

        var fields = result.StandardOutput.TrimEnd('\n').Split('|');
        Assert.Equal("host one", fields[0]);
        Assert.Contains(sshd.BinDirectory + ":/usr/bin:/bin", fields[1], StringComparison.Ordinal);
        Assert.Contains("MaxSessions 12", await File.ReadAllTextAsync(sshd.ConfigFile, Ct), StringComparison.Ordinal);
    }

    [Fact]
    public void Exposes_a_pinned_target_on_loopback()
    {
        Assert.Equal($"ssh://root@127.0.0.1:{sshd.Port}", sshd.Target.ToString());
        Assert.Matches("^SHA256:[A-Za-z0-9+/]{43}$", sshd.HostKeyFingerprint);
        Assert.True(File.Exists(sshd.IdentityFile));
        Assert.True(sshd.IsRunning);
    }

    [Fact]
    public async Task A_missing_sshd_fails_the_tests_with_a_message_saying_what_to_install()
    {
        await using var fixture = new MissingSshdFixture();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => fixture.InitializeAsync().AsTask());

        Assert.Contains("/nonexistent/sshd", error.Message, StringComparison.Ordinal);
        Assert.Contains("apt-get install -y openssh-server", error.Message, StringComparison.Ordinal);
    }

    private sealed class MissingSshdFixture() : SshdFixture(new SshdOptions { SshdPath = "/nonexistent/sshd" });

    public sealed class CustomSshdFixture()
        : SshdFixture(new SshdOptions
        {
            SessionEnvironment = new Dictionary<string, string> { ["PASSTHROUGH_SIMULATION"] = "host one", ["PATH"] = "/usr/bin:/bin" },
            ExtraConfigLines = ["MaxSessions 12"],
        });
}

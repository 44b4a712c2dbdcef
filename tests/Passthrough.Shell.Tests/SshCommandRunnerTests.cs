using System.Diagnostics;
using System.Globalization;
using System.Text;
using Passthrough.Testing;

namespace Passthrough.Shell.Tests;

// Integration tier: a real OpenSSH server on 127.0.0.1 (see SshdFixture); missing sshd fails these tests.
public sealed class SshCommandRunnerTests(SshdFixture sshd) : IClassFixture<SshdFixture>, IAsyncDisposable
{
    private readonly SshCommandRunner _runner = new(sshd.Target);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask DisposeAsync() => _runner.DisposeAsync();

    [Fact]
    public async Task Runs_a_command_on_the_host_and_returns_its_output()
    {
        var result = await _runner.RunAsync(new CommandRequest("id", "-un"), Ct);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("root\n", result.StandardOutput);
        Assert.Equal(sshd.Target, result.Target);
        Assert.True(result.Elapsed > TimeSpan.Zero);
    }

    [Fact]
    public async Task Connects_only_to_the_pinned_host_key()
    {
        await _runner.ConnectAsync(Ct);

        Assert.True(_runner.IsConnected);
        Assert.Equal(sshd.HostKeyFingerprint, _runner.Target.HostKeyFingerprint);
    }

    [Fact]
    public async Task Propagates_exit_status_and_stderr()
    {
        var result = await _runner.RunAsync(new CommandRequest("sh", "-c", "echo partial; echo 'xe: VM not found' >&2; exit 7"), Ct);

        Assert.Equal(7, result.ExitCode);
        Assert.Equal("partial\n", result.StandardOutput);
        Assert.Equal("xe: VM not found\n", result.StandardError);
    }

    [Fact]
    public async Task A_missing_remote_program_is_exit_status_127_not_an_exception()
    {
        var result = await _runner.RunAsync(new CommandRequest("passthrough-no-such-program"), Ct);

        Assert.Equal(127, result.ExitCode);
        Assert.Contains("not found", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_command_killed_by_a_signal_reports_128_plus_the_signal_number()
    {
        var result = await _runner.RunAsync(new CommandRequest("sh", "-c", "kill -TERM $$"), Ct);

        Assert.Equal(128 + 15, result.ExitCode);
    }

    [Fact]
    public async Task Writes_standard_input_and_closes_it()
    {
        const string input = "alpha\nbeta ✓\n$(not expanded)\n";

        var result = await _runner.RunAsync(new CommandRequest("cat") { StandardInput = input }, Ct);

        Assert.Equal(input, result.StandardOutput);
    }

    [Fact]
    public async Task Without_input_a_program_reading_stdin_sees_end_of_file_at_once()
    {
        var result = await _runner.RunAsync(new CommandRequest("cat") { Timeout = TimeSpan.FromSeconds(10) }, Ct);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(string.Empty, result.StandardOutput);
        Assert.True(result.Elapsed < TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Carries_1_MB_of_input_and_5_MB_of_output()
    {
        var input = new string('i', 1024 * 1024);
        var echoed = await _runner.RunAsync(new CommandRequest("wc", "-c") { StandardInput = input }, Ct);
        var big = await _runner.RunAsync(new CommandRequest("sh", "-c", "head -c 5242880 /dev/zero | tr '\\0' o"), Ct);

        Assert.Equal("1048576", echoed.StandardOutput.Trim());
        Assert.Equal(5 * 1024 * 1024, big.StandardOutput.Length);
        Assert.True(big.StandardOutput.All(c => c == 'o'));
    }

    [Fact]
    public async Task Hostile_arguments_arrive_literally_byte_for_byte()
    {
        var result = await _runner.RunAsync(new CommandRequest("printf", ["%s\\n", .. HostileStrings.All]), Ct);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(
            Encoding.UTF8.GetBytes(HostileStrings.PrintedOnePerLine(HostileStrings.All)),
            Encoding.UTF8.GetBytes(result.StandardOutput));
    }

    [Fact]
    public async Task An_injection_attempt_in_an_argument_is_not_executed()
    {
        var canary = Path.Combine(sshd.Directory, "injected-" + Guid.NewGuid().ToString("N"));

        var result = await _runner.RunAsync(new CommandRequest("echo", $"x; touch {canary}", $"$(touch {canary})", $"`touch {canary}`"), Ct);

        Assert.Equal($"x; touch {canary} $(touch {canary}) `touch {canary}`\n", result.StandardOutput);
        Assert.False(File.Exists(canary), "an argument was executed by the remote shell");
    }

    [Fact]
    public async Task Timeout_stops_the_remote_command_and_the_connection_stays_usable()
    {
        var connectionBefore = await ConnectionIdAsync(_runner);
        var marker = string.Create(CultureInfo.InvariantCulture, $"30.{Random.Shared.Next(100_000, 999_999)}");
        var started = Stopwatch.GetTimestamp();

        var error = await Assert.ThrowsAsync<CommandTimeoutException>(
            () => _runner.RunAsync(new CommandRequest("sleep", marker) { Timeout = TimeSpan.FromSeconds(1) }, Ct));

        Assert.True(Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(5), "the timeout did not return promptly");
        Assert.Equal(sshd.Target, error.Target);
        Assert.Contains($"sleep {marker}", error.Message, StringComparison.Ordinal);
        Assert.Equal(connectionBefore, await ConnectionIdAsync(_runner));
        await AssertNoRemoteProcessAsync($"sleep {marker}");
    }

    [Fact]
    public async Task Cancellation_stops_the_remote_command_and_throws_OperationCanceledException()
    {
        var marker = string.Create(CultureInfo.InvariantCulture, $"31.{Random.Shared.Next(100_000, 999_999)}");
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cancellation.CancelAfter(TimeSpan.FromMilliseconds(500));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => _runner.RunAsync(new CommandRequest("sh", "-c", $"sleep {marker} & sleep {marker}"), cancellation.Token));

        await AssertNoRemoteProcessAsync($"sleep {marker}");
    }

    [Fact]
    public async Task Twenty_concurrent_commands_share_one_connection()
    {
        var connection = await ConnectionIdAsync(_runner);

        // Each command reports when it started and ended on the remote side: parallelism is read from overlapping
        // intervals, not from wall-clock totals that a loaded test machine stretches.
        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => _runner.RunAsync(
            new CommandRequest("sh", "-c", "start=$(date +%s.%N); sleep 1.5; printf '%s %s|%s %s\\n' \"$1\" \"$SSH_CONNECTION\" \"$start\" \"$(date +%s.%N)\"", "sh", i.ToString(CultureInfo.InvariantCulture)),
            Ct)));

        Assert.All(results, r => Assert.Equal(0, r.ExitCode));
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"{i} {connection}"), results.Select(r => r.StandardOutput.Split('|')[0]));
        var intervals = results.Select(r => r.StandardOutput.Split('|')[1].Trim().Split(' ')
            .Select(t => double.Parse(t, CultureInfo.InvariantCulture)).ToArray()).ToList();
        var mostAtOnce = intervals.Max(point => intervals.Count(other => other[0] <= point[0] && point[0] < other[1]));
        // The old wall-clock form (20 x 0.5 s within 5 s) asked for an average of two at once and failed on a loaded CI
        // machine; three overlapping at one instant is at least as strict and does not depend on load. Measured here: 4
        // to 5 at once, below MaxConcurrentCommands (9): channel set-up, not the semaphore, is the limit (an open item).
        Assert.True(mostAtOnce >= 3, $"at most {mostAtOnce} of the 20 commands ran at the same time on the one connection");
    }

    [Fact]
    public async Task Concurrent_first_calls_open_a_single_connection()
    {
        await using var fresh = new SshCommandRunner(sshd.Target);

        var connections = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => ConnectionIdAsync(fresh)));

        Assert.Single(connections.Distinct());
    }

    [Fact]
    public async Task Factory_gives_every_caller_of_one_target_the_same_connection()
    {
        await using var factory = new CommandRunnerFactory();
        var first = factory.GetRunner(sshd.Target);
        var second = factory.GetRunner(SshTarget.Parse(sshd.Target.ToString(), sshd.IdentityFile, sshd.HostKeyFingerprint));
        var connection = await ConnectionIdAsync(first);

        await second.DisposeAsync(); // a shared runner ignores one caller's disposal

        Assert.Equal(connection, await ConnectionIdAsync(second));
        Assert.Equal(connection, await ConnectionIdAsync(first));
    }

    [Fact]
    public async Task A_disposed_runner_refuses_new_commands()
    {
        var runner = new SshCommandRunner(sshd.Target);
        await runner.RunAsync(new CommandRequest("true"), Ct);
        await runner.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => runner.RunAsync(new CommandRequest("true"), Ct));
        Assert.False(runner.IsConnected);
    }

    // sshd's "client-address client-port server-address server-port": one value per TCP connection.
    internal static async Task<string> ConnectionIdAsync(ICommandRunner runner)
    {
        var result = await runner.RunAsync(new CommandRequest("sh", "-c", "echo \"$SSH_CONNECTION\""), Ct);
        var id = result.StandardOutput.Trim();
        Assert.StartsWith("127.0.0.1 ", id, StringComparison.Ordinal);
        return id;
    }

    private async Task AssertNoRemoteProcessAsync(string commandLine)
    {
        for (var attempt = 0; attempt < 40; attempt++)
        {
            var result = await _runner.RunAsync(new CommandRequest("pgrep", "-f", "-x", commandLine), Ct);
            if (result.ExitCode == 1)
            {
                return;
            }

            await Task.Delay(50, Ct);
        }

        Assert.Fail($"the remote process '{commandLine}' survived");
    }
}

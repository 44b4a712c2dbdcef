using System.Diagnostics;
using System.Globalization;

namespace Passthrough.Shell.Tests;

public sealed class LocalCommandRunnerTests : IAsyncDisposable
{
    private const int FiveMegabytes = 5 * 1024 * 1024;

    private readonly LocalCommandRunner _runner = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask DisposeAsync() => _runner.DisposeAsync();

    [Fact]
    public async Task Returns_stdout_and_exit_status_zero_on_local()
    {
        var result = await _runner.RunAsync(new CommandRequest("echo", "hello", "world"), Ct);

        Assert.Equal(0, result.ExitCode);
        Assert.True(result.Succeeded);
        Assert.Equal("hello world\n", result.StandardOutput);
        Assert.Equal(string.Empty, result.StandardError);
        Assert.Same(CommandTarget.Local, result.Target);
        Assert.Equal("echo hello world", result.Request.Display);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(127)]
    [InlineData(255)]
    public async Task Returns_non_zero_exit_status_as_a_result_not_an_exception(int status)
    {
        var result = await _runner.RunAsync(new CommandRequest("sh", "-c", $"exit {status}"), Ct);

        Assert.Equal(status, result.ExitCode);
        Assert.False(result.Succeeded);
    }

    [Fact]
    public async Task Keeps_stderr_apart_from_stdout()
    {
        var result = await _runner.RunAsync(new CommandRequest("sh", "-c", "echo out; echo err >&2; exit 4"), Ct);

        Assert.Equal("out\n", result.StandardOutput);
        Assert.Equal("err\n", result.StandardError);
        Assert.Equal(4, result.ExitCode);
    }

    [Fact]
    public async Task RunChecked_throws_CommandFailedException_carrying_stderr()
    {
        var error = await Assert.ThrowsAsync<CommandFailedException>(
            () => _runner.RunCheckedAsync(new CommandRequest("sh", "-c", "echo 'no such VM' >&2; exit 1"), Ct));

        Assert.Equal(1, error.ExitCode);
        Assert.Equal("no such VM\n", error.StandardError);
        Assert.Contains("exited with status 1: no such VM", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Writes_standard_input_then_closes_it()
    {
        const string input = "first line\nsecond ✓ line\n";

        var result = await _runner.RunAsync(new CommandRequest("cat") { StandardInput = input }, Ct);

        Assert.Equal(input, result.StandardOutput);
    }

    [Fact]
    public async Task Closes_standard_input_at_once_when_there_is_none()
    {
        var started = Stopwatch.GetTimestamp();

        var result = await _runner.RunAsync(new CommandRequest("cat") { Timeout = TimeSpan.FromSeconds(10) }, Ct);

        Assert.Equal(string.Empty, result.StandardOutput);
        Assert.True(Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Reads_5_MB_on_stdout_and_stderr_at_once_without_deadlock()
    {
        var script = $"head -c {FiveMegabytes} /dev/zero | tr '\\0' o; head -c {FiveMegabytes} /dev/zero | tr '\\0' e >&2";

        var result = await _runner.RunAsync(new CommandRequest("sh", "-c", script) { Timeout = TimeSpan.FromSeconds(30) }, Ct);

        Assert.Equal(FiveMegabytes, result.StandardOutput.Length);
        Assert.Equal(FiveMegabytes, result.StandardError.Length);
        Assert.True(result.StandardOutput.All(c => c == 'o'));
        Assert.True(result.StandardError.All(c => c == 'e'));
    }

    [Fact]
    public async Task Streams_5_MB_of_stdin_through_a_program_that_echoes_it_as_it_reads()
    {
        var input = new string('i', FiveMegabytes - 1) + "\n";

        var result = await _runner.RunAsync(new CommandRequest("cat") { StandardInput = input, Timeout = TimeSpan.FromSeconds(30) }, Ct);

        Assert.Equal(input.Length, result.StandardOutput.Length);
        Assert.Equal(input, result.StandardOutput);
    }

    [Fact]
    public async Task A_program_that_ignores_its_input_still_completes()
    {
        var result = await _runner.RunAsync(new CommandRequest("true") { StandardInput = new string('x', 1024 * 1024) }, Ct);

        Assert.Equal(0, result.ExitCode);
    }

    [Fact]
    public async Task Timeout_kills_the_whole_process_tree_and_throws_CommandTimeoutException()
    {
        // A unique duration marks the background child so the test can look for it afterwards.
        var marker = string.Create(CultureInfo.InvariantCulture, $"30.{Random.Shared.Next(100_000, 999_999)}");
        var request = new CommandRequest("sh", "-c", $"sleep {marker} & sleep {marker}") { Timeout = TimeSpan.FromSeconds(1) };
        var started = Stopwatch.GetTimestamp();

        var error = await Assert.ThrowsAsync<CommandTimeoutException>(() => _runner.RunAsync(request, Ct));

        Assert.True(Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(10), "the timeout did not return promptly");
        Assert.Equal(TimeSpan.FromSeconds(1), error.Timeout);
        Assert.Same(CommandTarget.Local, error.Target);
        Assert.Contains("did not finish within 1 s", error.Message, StringComparison.Ordinal);
        await AssertNoProcessMatchesAsync($"sleep {marker}");
    }

    [Fact]
    public async Task Cancellation_kills_the_process_and_throws_OperationCanceledException()
    {
        var marker = string.Create(CultureInfo.InvariantCulture, $"31.{Random.Shared.Next(100_000, 999_999)}");
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cancellation.CancelAfter(TimeSpan.FromMilliseconds(300));
        var started = Stopwatch.GetTimestamp();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => _runner.RunAsync(new CommandRequest("sh", "-c", $"sleep {marker} & sleep {marker}"), cancellation.Token));

        Assert.True(Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(10));
        await AssertNoProcessMatchesAsync($"sleep {marker}");
    }

    [Fact]
    public async Task An_already_cancelled_token_starts_nothing()
    {
        using var cancellation = new CancellationTokenSource();
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _runner.RunAsync(new CommandRequest("true"), cancellation.Token));
    }

    [Fact]
    public async Task A_missing_program_throws_ProgramNotFoundException_naming_it()
    {
        var error = await Assert.ThrowsAsync<ProgramNotFoundException>(
            () => _runner.RunAsync(new CommandRequest("passthrough-no-such-program", "--help"), Ct));

        Assert.Equal("passthrough-no-such-program", error.Program);
        Assert.Contains("'passthrough-no-such-program' was not found on the PATH of local", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_program_by_path_throws_ProgramNotFoundException()
    {
        await Assert.ThrowsAsync<ProgramNotFoundException>(() => _runner.RunAsync(new CommandRequest("/nonexistent/dir/xe"), Ct));
    }

    [Fact]
    public async Task Hostile_arguments_arrive_literally_as_argv()
    {
        var result = await _runner.RunAsync(new CommandRequest("printf", ["%s\\n", .. HostileStrings.All]), Ct);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(HostileStrings.PrintedOnePerLine(HostileStrings.All), result.StandardOutput);
    }

    [Fact]
    public async Task A_program_name_is_never_run_through_a_shell()
    {
        // Through a shell this would run `echo`; as argv[0] it is a (missing) file of that odd name.
        await Assert.ThrowsAsync<ProgramNotFoundException>(() => _runner.RunAsync(new CommandRequest("echo pwned; true"), Ct));
    }

    [Fact]
    public async Task Measures_elapsed_wall_time()
    {
        var result = await _runner.RunAsync(new CommandRequest("sleep", "0.3"), Ct);

        Assert.InRange(result.Elapsed, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Runs_commands_concurrently()
    {
        var started = Stopwatch.GetTimestamp();

        var results = await Task.WhenAll(Enumerable.Range(0, 10).Select(
            i => _runner.RunAsync(new CommandRequest("sh", "-c", "sleep 0.5; echo $0", i.ToString(CultureInfo.InvariantCulture)), Ct)));

        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"{i}\n"), results.Select(r => r.StandardOutput));
        Assert.True(Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(4), "the commands ran one after the other");
    }

    private async Task AssertNoProcessMatchesAsync(string commandLine)
    {
        // The kill is synchronous for the tree it found, but give the kernel a moment to reap.
        for (var attempt = 0; attempt < 40; attempt++)
        {
            var result = await _runner.RunAsync(new CommandRequest("pgrep", "-f", "-x", commandLine), Ct);
            if (result.ExitCode == 1)
            {
                return;
            }

            await Task.Delay(50, Ct);
        }

        Assert.Fail($"a process '{commandLine}' survived the kill");
    }
}

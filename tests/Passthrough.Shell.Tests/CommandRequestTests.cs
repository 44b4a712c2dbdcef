namespace Passthrough.Shell.Tests;

public sealed class CommandRequestTests
{
    [Fact]
    public void Keeps_program_and_arguments_as_given_with_sixty_second_default_timeout_and_no_input()
    {
        var request = new CommandRequest("xe", "vm-list", "name-label=my vm");

        Assert.Equal("xe", request.Program);
        Assert.Equal(["vm-list", "name-label=my vm"], request.Arguments);
        Assert.Equal(TimeSpan.FromSeconds(60), request.Timeout);
        Assert.Null(request.StandardInput);
    }

    [Fact]
    public void Copies_the_argument_list_so_later_changes_to_the_source_do_not_leak_in()
    {
        var source = new List<string> { "a" };
        var request = new CommandRequest("echo", source);
        source.Add("b");

        Assert.Equal(["a"], request.Arguments);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void Refuses_an_empty_program(string program)
    {
        var error = Assert.Throws<ArgumentException>(() => new CommandRequest(program));

        Assert.Contains("program name is empty", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Refuses_a_null_argument_naming_its_index()
    {
        var error = Assert.Throws<ArgumentNullException>(() => new CommandRequest("echo", "ok", null!));

        Assert.Contains("arguments[1]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Refuses_a_line_feed_in_an_argument_naming_the_argument_and_position()
    {
        var error = Assert.Throws<ArgumentException>(() => new CommandRequest("printf", "%s", "evil\nreboot"));

        Assert.Contains("argument 2 of printf", error.Message, StringComparison.Ordinal);
        Assert.Contains("line feed at position 4", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Refuses_NUL_in_the_program_name()
    {
        var error = Assert.Throws<ArgumentException>(() => new CommandRequest("x\0e"));

        Assert.Contains("program name contains NUL at position 1", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Refuses_a_timeout_that_is_not_positive(int seconds)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new CommandRequest("true") { Timeout = TimeSpan.FromSeconds(seconds) });
    }

    [Fact]
    public void Displays_as_the_quoted_command_line()
    {
        var request = new CommandRequest("xe", "vm-param-set", "name-label=it's mine");

        Assert.Equal("xe vm-param-set 'name-label=it'\\''s mine'", request.Display);
        Assert.Equal(request.Display, request.ToString());
    }

    [Fact]
    public void Standard_input_may_hold_line_breaks_because_it_never_reaches_a_command_line()
    {
        var request = new CommandRequest("cat") { StandardInput = "line 1\nline 2\r\n" };

        Assert.Equal("line 1\nline 2\r\n", request.StandardInput);
    }

    [Fact]
    public void A_non_zero_result_turns_into_CommandFailedException_carrying_stderr()
    {
        var request = new CommandRequest("xe", "vm-start");
        var result = new CommandResult(request, CommandTarget.Local, 1, string.Empty, "VM is already running\n", TimeSpan.FromMilliseconds(5));

        var error = Assert.Throws<CommandFailedException>(() => result.EnsureSuccess());

        Assert.Equal(1, error.ExitCode);
        Assert.Equal("VM is already running\n", error.StandardError);
        Assert.Contains("xe vm-start on local exited with status 1: VM is already running", error.Message, StringComparison.Ordinal);
    }
}

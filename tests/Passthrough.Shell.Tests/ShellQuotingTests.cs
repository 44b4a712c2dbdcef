namespace Passthrough.Shell.Tests;

public sealed class ShellQuotingTests
{
    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("0000:02:03.0", "0000:02:03.0")]
    [InlineData("/usr/bin/xe", "/usr/bin/xe")]
    [InlineData("5f1c-9a,b+c@d%e_f.g", "5f1c-9a,b+c@d%e_f.g")]
    public void Leaves_words_of_safe_characters_unquoted(string value, string expected)
    {
        Assert.Equal(expected, ShellQuoting.Quote(value));
    }

    [Theory]
    [InlineData("", "''")]
    [InlineData("with space", "'with space'")]
    [InlineData("it's", "'it'\\''s'")]
    [InlineData("'", "''\\'''")]
    [InlineData("\"double\"", "'\"double\"'")]
    [InlineData("$HOME", "'$HOME'")]
    [InlineData("$(reboot)", "'$(reboot)'")]
    [InlineData("`reboot`", "'`reboot`'")]
    [InlineData("a;reboot", "'a;reboot'")]
    [InlineData("a|b", "'a|b'")]
    [InlineData("a&b", "'a&b'")]
    [InlineData("*", "'*'")]
    [InlineData("~", "'~'")]
    [InlineData("back\\slash", "'back\\slash'")]
    [InlineData("ünï ✓", "'ünï ✓'")]
    [InlineData("key=value", "'key=value'")]
    public void Single_quotes_everything_else_and_escapes_single_quotes(string value, string expected)
    {
        Assert.Equal(expected, ShellQuoting.Quote(value));
    }

    [Theory]
    [MemberData(nameof(HostileStrings.Each), MemberType = typeof(HostileStrings))]
    public void Every_hostile_word_becomes_one_sh_word_that_reads_back_unchanged(string value)
    {
        var quoted = ShellQuoting.Quote(value);

        Assert.Equal(value, ReadShWord(quoted));
    }

    [Theory]
    [InlineData("a\0b", "NUL", 1)]
    [InlineData("line\nfeed", "a line feed", 4)]
    [InlineData("\rcarriage", "a carriage return", 0)]
    public void Refuses_NUL_LF_and_CR_naming_the_position(string value, string name, int position)
    {
        var error = Assert.Throws<ArgumentException>(() => ShellQuoting.Quote(value));

        Assert.Contains(name, error.Message, StringComparison.Ordinal);
        Assert.Contains($"position {position}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Join_quotes_the_program_and_each_argument_separated_by_one_space()
    {
        var line = ShellQuoting.Join("xe", ["vm-list", "name-label=my vm", "params=uuid,power-state", "it's"]);

        Assert.Equal("xe vm-list 'name-label=my vm' 'params=uuid,power-state' 'it'\\''s'", line);
    }

    [Fact]
    public void Join_refuses_a_line_break_in_any_argument()
    {
        var error = Assert.Throws<ArgumentException>(() => ShellQuoting.Join("echo", ["ok", "bad\nvalue"]));

        Assert.Contains("position 3", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Quoted_hostile_words_reach_a_real_sh_literally()
    {
        // Proof against the real interpreter, not just the expected spelling: sh -c "printf '%s\n' QUOTED..."
        await using var runner = new LocalCommandRunner();
        var script = ShellQuoting.Join("printf", ["%s\\n", .. HostileStrings.All]);

        var result = await runner.RunAsync(new CommandRequest("sh", "-c", script), TestContext.Current.CancellationToken);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(HostileStrings.PrintedOnePerLine(HostileStrings.All), result.StandardOutput);
    }

    // Reads one POSIX sh word the way sh would, allowing only what Quote may produce: '…' spans (inside which
    // nothing is special), \' escapes, and safe characters. Anything else outside quotes fails the test.
    private static string ReadShWord(string word)
    {
        var text = new System.Text.StringBuilder();
        var i = 0;
        while (i < word.Length)
        {
            var c = word[i];
            if (c == '\'')
            {
                var end = word.IndexOf('\'', i + 1);
                Assert.True(end > i, $"unterminated quote in {word}");
                text.Append(word, i + 1, end - i - 1);
                i = end + 1;
            }
            else if (c == '\\')
            {
                Assert.True(i + 1 < word.Length && word[i + 1] == '\'', $"backslash escapes something other than a quote in {word}");
                text.Append('\'');
                i += 2;
            }
            else
            {
                Assert.True(IsSafe(c), $"'{c}' outside quotes in {word}");
                text.Append(c);
                i++;
            }
        }

        return text.ToString();
    }

    private static bool IsSafe(char c) => char.IsAsciiLetterOrDigit(c) || "-_./:,+@%".Contains(c, StringComparison.Ordinal);
}

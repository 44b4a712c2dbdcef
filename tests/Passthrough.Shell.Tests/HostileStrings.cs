namespace Passthrough.Shell.Tests;

// Arguments that a shell would interpret if they were ever joined into a command line unquoted.
internal static class HostileStrings
{
    public static readonly string[] All =
    [
        "with space",
        "  leading and trailing  ",
        "it's",
        "'",
        "''",
        "\"double\"",
        "$HOME",
        "${PATH}",
        "$(id -u)",
        "`id -u`",
        "a;b",
        "a|b",
        "a&b",
        "a && b || c",
        "*",
        "?",
        "[ab]",
        "{a,b}",
        "~",
        "~root",
        "back\\slash",
        "\\",
        "trailing\\",
        "a\\'b",
        "!",
        "#not a comment",
        ">out",
        "<in",
        "2>&1",
        "%s %d",
        "-n",
        "--",
        "-e",
        "\tTab",
        "ünïcødé ✓ 日本語 🚀",
        string.Empty,
    ];

    public static TheoryData<string> Each()
    {
        var data = new TheoryData<string>();
        foreach (var value in All)
        {
            data.Add(value);
        }

        return data;
    }

    // What `printf '%s\n' ARGS...` prints when every argument arrives literally.
    public static string PrintedOnePerLine(IEnumerable<string> values) => string.Concat(values.Select(v => v + "\n"));
}

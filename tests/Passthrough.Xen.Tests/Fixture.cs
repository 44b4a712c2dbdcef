namespace Passthrough.Xen.Tests;

/// <summary>Reads the real outputs in Fixtures/: the '#' lines at the top name the source and are stripped here.</summary>
internal static class Fixture
{
    /// <summary>Every fixture file name (*.txt).</summary>
    public static IReadOnlyList<string> Names() =>
        [.. Directory.EnumerateFiles(FixtureDirectory(), "*.txt").Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)];

    /// <summary>The output part of a fixture, '#' lines removed, line breaks kept (ends with a line break).</summary>
    public static string Text(string name)
    {
        var lines = Raw(name).Split('\n');
        var kept = lines.Where(line => !line.StartsWith('#'));
        return string.Join('\n', kept);
    }

    /// <summary>The output lines of a fixture ('#' lines removed; the empty line after the final line break is not a line).</summary>
    public static IReadOnlyList<string> Lines(string name)
    {
        var text = Text(name);
        if (text.EndsWith('\n'))
        {
            text = text[..^1];
        }

        return text.Split('\n');
    }

    /// <summary>The file exactly as stored, source notes included.</summary>
    public static string Raw(string name) => File.ReadAllText(Path.Combine(FixtureDirectory(), name));

    private static string FixtureDirectory() => Path.Combine(AppContext.BaseDirectory, "Fixtures");
}

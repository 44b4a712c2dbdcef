namespace Passthrough.Guest.Tests;

/// <summary>Reads Fixtures/: the leading "# " lines name the source and are stripped; everything else is kept verbatim.</summary>
internal static class Fixture
{
    public static string Text(string name)
    {
        var raw = Raw(name);
        var lines = raw.Split('\n');
        var skip = lines.TakeWhile(line => line.StartsWith("# ", StringComparison.Ordinal)).Count();
        return string.Join('\n', lines.Skip(skip));
    }

    public static string Raw(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", name));
}

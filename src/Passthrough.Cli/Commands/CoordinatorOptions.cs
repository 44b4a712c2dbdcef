using System.CommandLine;
using Passthrough.Cli.Coordinator;

namespace Passthrough.Cli.Commands;

/// <summary>
/// <c>--coordinator URL</c>: the coordinator's base URL; else the <c>PASSTHROUGH_COORDINATOR</c> environment variable;
/// else <see cref="DefaultUrl"/>.
/// </summary>
internal sealed class CoordinatorOptions
{
    public const string VariableName = "PASSTHROUGH_COORDINATOR";

    public const string DefaultUrl = "http://127.0.0.1:5080";

    public Option<string?> Url { get; } = new("--coordinator", "-c")
    {
        Description = $"the coordinator's base URL (default: ${VariableName}, else {DefaultUrl})",
    };

    public void AddTo(Command command) => command.Options.Add(Url);

    /// <summary>The base URL; a malformed one throws <see cref="FormatException"/> naming where it came from.</summary>
    public Uri Resolve(ParseResult result, CliEnvironment environment)
    {
        var (text, source) = result.GetValue(Url) is { } option
            ? (option, "--coordinator")
            : environment.Variable(VariableName) is { Length: > 0 } variable
                ? (variable, VariableName)
                : (DefaultUrl, "the default");
        if (!Uri.TryCreate(text.Trim(), UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment))
        {
            throw new FormatException($"Coordinator URL '{Show(text)}' (from {source}) is not an http:// or https:// base URL such as {DefaultUrl}.");
        }

        return uri;
    }

    public CoordinatorClient CreateClient(ParseResult result, CliEnvironment environment) =>
        new(Resolve(result, environment), environment.CreateCoordinatorHandler());

    private static string Show(string value) => value.Length > 80 ? value[..80] + "…" : value;
}

using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Passthrough.Cli.Output;

/// <summary>How a command prints its answer.</summary>
internal enum OutputFormat
{
    /// <summary>Human tables.</summary>
    Table,

    /// <summary>One JSON document with the same fields as the table.</summary>
    Json,
}

/// <summary>The shared <c>--output</c> option and the JSON settings every command uses.</summary>
internal static class OutputOptions
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Converters = { new JsonStringEnumConverter() },
    };

    public static Option<OutputFormat> Create() => new("--output", "-o")
    {
        Description = "table (default) or json",
        DefaultValueFactory = _ => OutputFormat.Table,
    };
}

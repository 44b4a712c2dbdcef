using System.Globalization;
using Passthrough.Hosting;

namespace Passthrough.Bench;

/// <summary>
/// Command-line options: <c>--json PATH</c>, <c>--pairs N</c>, <c>--fleet-hosts N</c>, <c>--raw-samples N</c>,
/// <c>--durability full|normal</c> (SQLite <c>synchronous</c> of the saga store and the command record; default full).
/// </summary>
internal sealed record BenchArguments(string JsonPath, int Pairs, int FleetHosts, int RawSamples, SqliteDurability Durability = SqliteDurability.Full)
{
    public static BenchArguments Parse(string[] args)
    {
        var result = new BenchArguments(Path.Combine("artifacts", "bench", "saga-roundtrip.json"), Pairs: 60, FleetHosts: 6, RawSamples: 2000);
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{args[i]} needs a value.");
            result = args[i] switch
            {
                "--json" => result with { JsonPath = value },
                "--pairs" => result with { Pairs = Positive(args[i], value) },
                "--fleet-hosts" => result with { FleetHosts = Positive(args[i], value) },
                "--raw-samples" => result with { RawSamples = Positive(args[i], value) },
                "--durability" => result with
                {
                    Durability = value switch
                    {
                        "full" => SqliteDurability.Full,
                        "normal" => SqliteDurability.Normal,
                        _ => throw new ArgumentException($"--durability must be full or normal, not '{value}'."),
                    },
                },
                _ => throw new ArgumentException($"Unknown option {args[i]}; known: --json PATH, --pairs N, --fleet-hosts N, --raw-samples N, --durability full|normal."),
            };
            i++;
        }

        return result;
    }

    private static int Positive(string option, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0
            ? n
            : throw new ArgumentException($"{option} must be a positive whole number, not '{value}'.");
}

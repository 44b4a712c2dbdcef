using System.Globalization;

namespace Passthrough.Bench;

/// <summary>Percentiles of a set of durations (nearest-rank), in milliseconds.</summary>
internal sealed record LatencyStats(int Count, double P50, double P90, double P99, double Max, double Mean)
{
    public static LatencyStats From(IReadOnlyCollection<TimeSpan> samples)
    {
        if (samples.Count == 0)
        {
            throw new InvalidOperationException("No samples were taken.");
        }

        var sorted = samples.Select(s => s.TotalMilliseconds).Order().ToArray();
        return new LatencyStats(
            sorted.Length,
            Percentile(sorted, 0.50),
            Percentile(sorted, 0.90),
            Percentile(sorted, 0.99),
            sorted[^1],
            sorted.Average());
    }

    private static double Percentile(double[] sorted, double p)
    {
        var rank = (int)Math.Ceiling(p * sorted.Length) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Length - 1)];
    }

    public static string Ms(double value) => value.ToString("0.000", CultureInfo.InvariantCulture);
}

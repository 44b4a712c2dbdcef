using Passthrough.Contracts.Ids;
using Passthrough.Simulation.Model;

namespace Passthrough.Lab;

/// <summary>Every host's <see cref="HostStateSnapshot"/>, taken together.</summary>
/// <param name="At">When the capture was taken (the fleet's clock).</param>
/// <param name="Hosts">Host → its state; host order kept.</param>
public sealed record FleetStateCapture(DateTimeOffset At, IReadOnlyList<KeyValuePair<HostId, HostStateSnapshot>> Hosts)
{
    /// <summary>The state of <paramref name="host"/>.</summary>
    /// <exception cref="KeyNotFoundException">The capture has no such host.</exception>
    public HostStateSnapshot this[HostId host] =>
        Hosts.FirstOrDefault(h => h.Key == host).Value ?? throw new KeyNotFoundException($"The capture has no host {host}.");
}

/// <summary>How one host differs between two captures.</summary>
/// <param name="Host">The host.</param>
/// <param name="Lines"><c>- fact: before</c> / <c>+ fact: after</c> pairs (<see cref="HostStateSnapshot.DiffAgainst"/>).</param>
public sealed record HostStateDifference(HostId Host, IReadOnlyList<string> Lines);

/// <summary>Fleet-wide state captures: "did this rollout (or its rollback) leave every host as it found it?"</summary>
public static class FleetState
{
    /// <summary>
    /// Captures every host through its runner (so the boot cycle has advanced to the fleet's clock). Each host's capture
    /// is atomic; hosts are captured one after another in index order.
    /// </summary>
    public static FleetStateCapture Capture(SimulatedFleet fleet)
    {
        ArgumentNullException.ThrowIfNull(fleet);
        var at = fleet.Time.GetUtcNow();
        return new FleetStateCapture(at, [.. fleet.Hosts.Select(h => new KeyValuePair<HostId, HostStateSnapshot>(h.HostId, h.Runner.Capture()))]);
    }

    /// <summary>
    /// The hosts whose state differs from <paramref name="before"/> to <paramref name="after"/>, in <paramref name="before"/>'s
    /// host order; empty when every host is as it was. A host only one capture has is reported as such.
    /// </summary>
    public static IReadOnlyList<HostStateDifference> Compare(FleetStateCapture before, FleetStateCapture after)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        var later = after.Hosts.ToDictionary(h => h.Key, h => h.Value);
        var differences = new List<HostStateDifference>();
        foreach (var (host, state) in before.Hosts)
        {
            if (!later.Remove(host, out var afterState))
            {
                differences.Add(new HostStateDifference(host, ["- host: captured", "+ host: (absent)"]));
                continue;
            }

            var lines = state.DiffAgainst(afterState);
            if (lines.Count > 0)
            {
                differences.Add(new HostStateDifference(host, lines));
            }
        }

        foreach (var (host, _) in after.Hosts.Where(h => later.ContainsKey(h.Key)))
        {
            differences.Add(new HostStateDifference(host, ["- host: (absent)", "+ host: captured"]));
        }

        return differences;
    }
}

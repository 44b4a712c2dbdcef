using Passthrough.Shell;

namespace Passthrough.Simulation;

/// <summary>A simulated XenServer host reached in-process; displayed as <c>sim://&lt;host-name&gt;</c>.</summary>
public sealed record SimulatedTarget : CommandTarget
{
    /// <summary>Creates the target of the simulated host named <paramref name="hostName"/>.</summary>
    /// <exception cref="ArgumentException">The name is empty.</exception>
    public SimulatedTarget(string hostName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(hostName);
        HostName = hostName;
    }

    /// <summary>The host's name-label (also its dom0 hostname).</summary>
    public string HostName { get; }

    /// <inheritdoc />
    public override string ToString() => "sim://" + HostName;
}

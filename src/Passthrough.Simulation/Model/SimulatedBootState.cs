using System.Text.Json.Serialization;

namespace Passthrough.Simulation.Model;

/// <summary>Where the host is in its boot cycle.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<HostPhase>))]
public enum HostPhase
{
    /// <summary>Up; xapi answers.</summary>
    Live = 0,

    /// <summary>Rebooting: nothing answers, every connection is refused.</summary>
    Down,

    /// <summary>dom0 is up but xapi does not listen yet: <c>xe</c> prints <c>Error: Connection refused (calling connect )</c>.</summary>
    XapiNotListening,

    /// <summary>xapi listens but is still starting: <c>xe</c> prints <c>The host toolstack is still initialising. Please wait.</c></summary>
    XapiInitialising,
}

/// <summary>The boot cycle: phase, the instants the next phases begin, and what keeps xapi from finishing its start.</summary>
public sealed class SimulatedBootState
{
    /// <summary>The phase as of the last time the host was looked at (phases advance lazily with the clock).</summary>
    public HostPhase Phase { get; set; }

    /// <summary>When the current boot completed (kernel time zero for dmesg).</summary>
    public DateTimeOffset BootedAt { get; set; }

    /// <summary>While down: when dom0 comes up again.</summary>
    public DateTimeOffset? DownUntil { get; set; }

    /// <summary>When xapi starts listening.</summary>
    public DateTimeOffset? XapiListensAt { get; set; }

    /// <summary>When xapi has finished initialising.</summary>
    public DateTimeOffset? XapiReadyAt { get; set; }

    /// <summary>
    /// Set when xapi failed during start-up (e.g. it could not scan the hide list): it then stays in
    /// <see cref="HostPhase.XapiInitialising"/> until the next reboot. Holds the reason xapi logged.
    /// </summary>
    public string? XapiStartFailure { get; set; }

    /// <summary>When true the host never comes back from its next (or current) reboot.</summary>
    public bool NeverReturns { get; set; }

    /// <summary>How many times the host has rebooted since it was built.</summary>
    public int RebootCount { get; set; }
}

/// <summary>How long the phases of a reboot last (simulated time).</summary>
public sealed class SimulatedTimings
{
    /// <summary>From <c>xe host-reboot</c> until dom0 accepts connections again; default 90 s.</summary>
    public TimeSpan RebootDowntime { get; set; } = TimeSpan.FromSeconds(90);

    /// <summary>After dom0 is up, how long xapi does not listen (xe: connection refused); default 0.</summary>
    public TimeSpan XapiNotListening { get; set; } = TimeSpan.Zero;

    /// <summary>How long xapi then answers "still initialising"; default 30 s.</summary>
    public TimeSpan XapiInitialising { get; set; } = TimeSpan.FromSeconds(30);
}

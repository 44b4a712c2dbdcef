namespace Passthrough.GuestAgent;

/// <summary>Timing of one <see cref="GuestAgentLogic"/>.</summary>
public sealed record GuestAgentSettings
{
    /// <summary>The settings used when none are given.</summary>
    public static GuestAgentSettings Default { get; } = new();

    /// <summary>Time between heartbeats; default 30 s.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Time between two looks of the fault watch; default 250 ms. A fault is published within this interval plus the
    /// publish time of its change, so it must stay well under the 1 s promise.
    /// </summary>
    public TimeSpan WatchInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Wait before probing again when the start-up probe fails; default 5 s.</summary>
    public TimeSpan ProbeRetryDelay { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How many answers to remember by command id, so a redelivered command gets the same answer; default 64.</summary>
    public int RememberedReplies { get; init; } = 64;
}

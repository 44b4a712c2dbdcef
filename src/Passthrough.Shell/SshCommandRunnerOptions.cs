namespace Passthrough.Shell;

/// <summary>Connection settings of an <see cref="SshCommandRunner"/>.</summary>
public sealed record SshCommandRunnerOptions
{
    /// <summary>The settings used when none are given.</summary>
    public static SshCommandRunnerOptions Default { get; } = new();

    /// <summary>
    /// How long establishing the connection (TCP connect, key exchange, authentication) and opening a channel may take;
    /// default 10 seconds.
    /// </summary>
    public TimeSpan ConnectTimeout
    {
        get => _connectTimeout;
        init => _connectTimeout = value > TimeSpan.Zero
            ? value
            : throw new ArgumentOutOfRangeException(nameof(ConnectTimeout), value, "The SSH connect timeout must be positive.");
    }

    /// <summary>
    /// How often an idle connection sends a keep-alive so that NAT and firewalls keep it open and a dead peer is noticed;
    /// default 15 seconds. <see cref="Timeout.InfiniteTimeSpan"/> turns keep-alives off.
    /// </summary>
    public TimeSpan KeepAliveInterval
    {
        get => _keepAliveInterval;
        init => _keepAliveInterval = value > TimeSpan.Zero || value == Timeout.InfiniteTimeSpan
            ? value
            : throw new ArgumentOutOfRangeException(nameof(KeepAliveInterval), value, "The SSH keep-alive interval must be positive (or infinite to disable it).");
    }

    /// <summary>
    /// How many commands may run at once over the one connection; default 9. One more channel is kept in reserve to
    /// kill timed-out commands, so the server's <c>MaxSessions</c> (OpenSSH default 10) must be at least this plus one.
    /// Further commands wait for a free channel (their timeout starts once they run).
    /// </summary>
    public int MaxConcurrentCommands
    {
        get => _maxConcurrentCommands;
        init => _maxConcurrentCommands = value >= 1
            ? value
            : throw new ArgumentOutOfRangeException(nameof(MaxConcurrentCommands), value, "At least one command must be allowed to run.");
    }

    private readonly TimeSpan _connectTimeout = TimeSpan.FromSeconds(10);
    private readonly TimeSpan _keepAliveInterval = TimeSpan.FromSeconds(15);
    private readonly int _maxConcurrentCommands = 9;
}

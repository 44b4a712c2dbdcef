using Passthrough.Contracts.Ids;
using Passthrough.Hosting;
using Passthrough.Shell;
using Passthrough.Xen;

namespace Passthrough.HostAgent;

/// <summary>
/// The host agent's settings (configuration section <see cref="SectionName"/>): the hosts it serves, where it records
/// commands, how often it reports, the dom0 command timeouts and the identity it logs into agentless guests with.
/// </summary>
public sealed class HostAgentOptions
{
    /// <summary>The configuration section: <c>HostAgent</c>.</summary>
    public const string SectionName = "HostAgent";

    private readonly Dictionary<HostId, ICommandRunner> _programmaticHosts = [];

    /// <summary>The hosts reached through configuration (SSH or local); each becomes a logical agent with its own queue.</summary>
    public IList<HostAgentHostOptions> Hosts { get; } = new List<HostAgentHostOptions>();

    /// <summary>
    /// The SQLite file of the command record (created with its directory when missing); default
    /// <c>/var/lib/passthrough-host-agent/commands.db</c> on Linux (the systemd unit's state directory) and
    /// <c>%ProgramData%\Passthrough\HostAgent\commands.db</c> on Windows.
    /// </summary>
    public string CommandRecordPath { get; set; } = DefaultCommandRecordPath;

    /// <summary>
    /// When a write to the command record counts as done; default <see cref="SqliteDurability.Full"/>. With
    /// <see cref="SqliteDurability.Normal"/> the record still survives the agent being killed, but after a crash or power
    /// loss of the agent's machine the last rows can be gone: a redelivered command then runs again (harmless, handlers
    /// check the state first), but a command cut short after changing dom0 may have lost its memo of the state before,
    /// so its re-run would record the changed state as "before" and an undo would not restore the original exactly.
    /// </summary>
    public SqliteDurability CommandRecordDurability { get; set; } = SqliteDurability.Full;

    /// <summary>How long answered commands stay in the record (duplicates older than this are executed again); default 7 days.</summary>
    public TimeSpan CommandRecordRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How often each host's heartbeat is published; default 30 seconds.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often each host's inventory is re-read to detect changes made outside the agent; default 60 seconds.</summary>
    public TimeSpan InventoryInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long a host must stay without changing commands before the inventory is re-read after one; default 1 second.
    /// A saga sends a host several changing commands a few milliseconds apart: re-reading after each (tens of dom0
    /// commands) would compete with the next command for dom0 and the CPU, so the re-read waits for the burst to end
    /// (but never longer than <see cref="InventoryInterval"/> after the first change).
    /// </summary>
    public TimeSpan InventoryRecheckDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>dom0 command timeouts (mapped to <see cref="Dom0DriverOptions"/>).</summary>
    public HostAgentDom0Options Dom0 { get; set; } = new();

    /// <summary>How the agent logs into guests that run no agent (agentless verification).</summary>
    public HostAgentGuestSshOptions GuestSsh { get; set; } = new();

    /// <summary>The default <see cref="CommandRecordPath"/>.</summary>
    public static string DefaultCommandRecordPath { get; } = OperatingSystem.IsWindows()
        ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.CommonApplicationData), "Passthrough", "HostAgent", "commands.db")
        // .NET maps CommonApplicationData to /usr/share on Linux, which is no place for state.
        : "/var/lib/passthrough-host-agent/commands.db";

    /// <summary>Hosts added in code with their own command runner (the lab's simulated hosts, tests).</summary>
    public IReadOnlyDictionary<HostId, ICommandRunner> ProgrammaticHosts => _programmaticHosts;

    /// <summary>
    /// Serves <paramref name="host"/> through <paramref name="runner"/> (in-process callers: the lab passes simulated
    /// hosts). The agent does not dispose the runner: its creator owns it.
    /// </summary>
    /// <exception cref="ArgumentException">The host was already added.</exception>
    public HostAgentOptions AddHost(HostId host, ICommandRunner runner)
    {
        ArgumentNullException.ThrowIfNull(runner);
        if (!_programmaticHosts.TryAdd(host, runner))
        {
            throw new ArgumentException($"Host {host} is already served by this agent.", nameof(host));
        }

        return this;
    }
}

/// <summary>One configured host (<c>HostAgent:Hosts:&lt;n&gt;</c>): its uuid and how to reach its dom0.</summary>
public sealed class HostAgentHostOptions
{
    /// <summary>The host's uuid (its <c>INSTALLATION_UUID</c>); checked against the host at start.</summary>
    public string? HostId { get; set; }

    /// <summary>Reach dom0 over SSH (exactly one of <see cref="Ssh"/> and <see cref="Local"/>).</summary>
    public HostAgentSshOptions? Ssh { get; set; }

    /// <summary>The agent runs in this host's dom0 and runs commands locally.</summary>
    public bool Local { get; set; }
}

/// <summary>How to reach a dom0 over SSH.</summary>
public sealed class HostAgentSshOptions
{
    /// <summary>Host name or IP address of dom0.</summary>
    public string? Host { get; set; }

    /// <summary>SSH port; default 22.</summary>
    public int Port { get; set; } = SshTarget.DefaultPort;

    /// <summary>Login user; default <c>root</c> (dom0 commands need it).</summary>
    public string User { get; set; } = "root";

    /// <summary>Private key file to log in with.</summary>
    public string? IdentityFile { get; set; }

    /// <summary>The pinned host key, <c>SHA256:…</c> as <c>ssh-keygen -lf</c> prints it on the host. Required.</summary>
    public string? HostKeySha256 { get; set; }
}

/// <summary>dom0 command timeouts; defaults suit a real host (those of <see cref="Dom0DriverOptions"/>).</summary>
public sealed class HostAgentDom0Options
{
    private static readonly Dom0DriverOptions Defaults = new();

    /// <summary>One ordinary dom0 command; default 60 seconds.</summary>
    public TimeSpan CommandTimeout { get; set; } = Defaults.CommandTimeout;

    /// <summary><c>xe vm-start</c>; default 5 minutes.</summary>
    public TimeSpan VmStartTimeout { get; set; } = Defaults.VmStartTimeout;

    /// <summary><c>xe vm-snapshot</c>, <c>snapshot-revert</c>, <c>snapshot-uninstall</c>; default 10 minutes.</summary>
    public TimeSpan SnapshotTimeout { get; set; } = Defaults.SnapshotTimeout;

    /// <summary>A forced shutdown; default 2 minutes.</summary>
    public TimeSpan ForcedShutdownTimeout { get; set; } = Defaults.ForcedShutdownTimeout;

    /// <summary><c>xe host-evacuate</c>; default 30 minutes.</summary>
    public TimeSpan EvacuateTimeout { get; set; } = Defaults.EvacuateTimeout;

    /// <summary>How often a rebooting host is asked whether it is back; default 5 seconds.</summary>
    public TimeSpan RebootPollInterval { get; set; } = Defaults.RebootPollInterval;

    /// <summary>Each poll while a host reboots; default 10 seconds.</summary>
    public TimeSpan RebootPollTimeout { get; set; } = Defaults.RebootPollTimeout;

    /// <summary>The driver options these settings stand for.</summary>
    public Dom0DriverOptions ToDriverOptions() => new()
    {
        CommandTimeout = CommandTimeout,
        VmStartTimeout = VmStartTimeout,
        SnapshotTimeout = SnapshotTimeout,
        ForcedShutdownTimeout = ForcedShutdownTimeout,
        EvacuateTimeout = EvacuateTimeout,
        RebootPollInterval = RebootPollInterval,
        RebootPollTimeout = RebootPollTimeout,
    };
}

/// <summary>The identity for agentless guest verification (<c>HostAgent:GuestSsh</c>).</summary>
public sealed class HostAgentGuestSshOptions
{
    /// <summary>Private key file the agent logs into guests with; without it, agentless verification is refused.</summary>
    public string? IdentityFile { get; set; }

    /// <summary>How long one probe of a guest may take in all; default 2 minutes.</summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromMinutes(2);
}

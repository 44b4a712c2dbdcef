using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Messaging;
using Passthrough.Shell;
using Passthrough.Xen;

namespace Passthrough.HostAgent.Hosts;

/// <summary>The hosts this agent serves: host id → the dom0 driver that reaches it.</summary>
public interface IHostConnections
{
    /// <summary>Every served host, in configuration order.</summary>
    IReadOnlyList<ServedHost> Hosts { get; }

    /// <summary>The served host <paramref name="host"/>, or false when this agent does not serve it.</summary>
    bool TryGet(HostId host, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ServedHost? served);
}

/// <summary>Whether the host behind a connection was confirmed to be the configured one.</summary>
public enum HostIdentityState
{
    /// <summary>Not checked yet (the host did not answer so far).</summary>
    Unverified = 0,

    /// <summary>Its <c>INSTALLATION_UUID</c> is the configured host id.</summary>
    Verified,

    /// <summary>Another host answers at the address: its commands are refused, never executed.</summary>
    Mismatch,
}

/// <summary>One host this agent serves: its id, its driver and whether the host behind the address is really it.</summary>
public sealed class ServedHost
{
    private readonly Lock _gate = new();
    private HostIdentityState _identity;
    private HostId? _actual;

    /// <summary>Serves <paramref name="host"/> through <paramref name="driver"/>.</summary>
    public ServedHost(HostId host, Dom0Driver driver)
    {
        Id = host;
        Driver = driver ?? throw new ArgumentNullException(nameof(driver));
    }

    /// <summary>The configured host id.</summary>
    public HostId Id { get; }

    /// <summary>The dom0 driver.</summary>
    public Dom0Driver Driver { get; }

    /// <summary>The host's queue.</summary>
    public string Queue => AgentQueues.ForHost(Id);

    /// <summary>Whether the identity was checked, and how it came out.</summary>
    public HostIdentityState Identity
    {
        get
        {
            lock (_gate)
            {
                return _identity;
            }
        }
    }

    /// <summary>
    /// Confirms the host behind the connection is <see cref="Id"/> (once; <see cref="Dom0Driver.DetectAsync"/> reads
    /// <c>/etc/xensource-inventory</c>). Returns the state; a host that does not answer throws like any dom0 command.
    /// </summary>
    public async Task<HostIdentityState> VerifyIdentityAsync(CancellationToken cancellationToken)
    {
        if (Identity != HostIdentityState.Unverified)
        {
            return Identity;
        }

        var facts = await Driver.DetectAsync(false, cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            _actual = facts.Host;
            _identity = facts.Host == Id ? HostIdentityState.Verified : HostIdentityState.Mismatch;
            return _identity;
        }
    }

    /// <summary>The failure every command gets while the host behind the address is another one.</summary>
    public Failure MismatchFailure()
    {
        HostId? actual;
        lock (_gate)
        {
            actual = _actual;
        }

        return new Failure(
            FailureCause.InvalidInput,
            $"The host at {Driver.Target} is {actual}, not the configured host {Id}: no command is executed on it.",
            $"INSTALLATION_UUID={actual}",
            "Check HostAgent:Hosts (HostId and address): the address reaches another host, or the host was reinstalled.");
    }
}

/// <summary>
/// The default <see cref="IHostConnections"/>: the hosts of <see cref="HostAgentOptions.Hosts"/> through runners the
/// <see cref="ICommandRunnerFactory"/> makes (SSH with the pinned key, or local), and those added in code with their own
/// runner (<see cref="HostAgentOptions.AddHost"/>).
/// </summary>
public sealed class HostConnections : IHostConnections
{
    private readonly Dictionary<HostId, ServedHost> _byId = [];

    /// <summary>Builds one driver per host.</summary>
    public HostConnections(IOptions<HostAgentOptions> options, ICommandRunnerFactory runners, TimeProvider time, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(runners);
        ArgumentNullException.ThrowIfNull(loggers);
        var settings = options.Value;
        var driverOptions = settings.Dom0.ToDriverOptions();
        var hosts = new List<ServedHost>();
        foreach (var configured in settings.Hosts)
        {
            var id = HostId.Parse(configured.HostId!);
            CommandTarget target = configured.Local
                ? CommandTarget.Local
                : SshTarget.Create(configured.Ssh!.User, configured.Ssh.Host!, configured.Ssh.Port, configured.Ssh.IdentityFile!, configured.Ssh.HostKeySha256!);
            hosts.Add(new ServedHost(id, new Dom0Driver(runners.GetRunner(target), driverOptions, time, loggers.CreateLogger<Dom0Driver>())));
        }

        foreach (var (id, runner) in settings.ProgrammaticHosts)
        {
            hosts.Add(new ServedHost(id, new Dom0Driver(runner, driverOptions, time, loggers.CreateLogger<Dom0Driver>())));
        }

        foreach (var host in hosts)
        {
            _byId.Add(host.Id, host);
        }

        Hosts = hosts;
    }

    /// <inheritdoc />
    public IReadOnlyList<ServedHost> Hosts { get; }

    /// <inheritdoc />
    public bool TryGet(HostId host, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ServedHost? served) =>
        _byId.TryGetValue(host, out served);
}

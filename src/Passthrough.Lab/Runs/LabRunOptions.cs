using System.Globalization;
using System.Text.Json.Serialization;

namespace Passthrough.Lab.Runs;

/// <summary>What a lab run does on its fleet.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<LabScenario>))]
public enum LabScenario
{
    /// <summary>Every planned assignment at once (one saga per VM), with one injected fault unless told otherwise.</summary>
    Fleet = 0,

    /// <summary>The first planned assignment only.</summary>
    Assign,

    /// <summary>Three faults, one per host: a PV guest without pcifront, an HVM VM on a host with the IOMMU off, a hung host reboot.</summary>
    Faults,

    /// <summary>The fleet scenario, then a release of every passthrough that completed.</summary>
    Release,
}

/// <summary>What <see cref="LabRun.RunAsync"/> runs, and on what.</summary>
public sealed record LabRunOptions
{
    /// <summary>The default <see cref="TimeScale"/>: a 6 s VM start takes 120 ms, a 90 s host reboot 1.8 s (coordinator deadlines are compressed 2.5 times less).</summary>
    public const double DefaultTimeScale = 0.02;

    /// <summary>The most hosts a lab run simulates (every host is in this process).</summary>
    public const int MaxHosts = 50;

    /// <summary>The most VMs per host.</summary>
    public const int MaxVmsPerHost = 16;

    /// <summary>The scenario; default <see cref="LabScenario.Fleet"/>.</summary>
    public LabScenario Scenario { get; init; } = LabScenario.Fleet;

    /// <summary>Simulated hosts, 1 to <see cref="MaxHosts"/> (the faults scenario needs 3: one per fault); default 3.</summary>
    public int Hosts { get; init; } = 3;

    /// <summary>VMs per host, PV and HVM alternating, 1 to <see cref="MaxVmsPerHost"/>; default 4.</summary>
    public int VmsPerHost { get; init; } = 4;

    /// <summary>Fixes every uuid and the assignment plan; default 1.</summary>
    public long Seed { get; init; } = 1;

    /// <summary>
    /// Multiplies real durations: dom0 command latencies, host reboot phases and the coordinator's deadlines (more than 0,
    /// at most 1); default <see cref="DefaultTimeScale"/>.
    /// </summary>
    public double TimeScale { get; init; } = DefaultTimeScale;

    /// <summary>
    /// For <see cref="LabScenario.Fleet"/> and <see cref="LabScenario.Release"/>: inject one fault (the first PV guest
    /// planned loses its pcifront, so its saga must roll back exactly); default true.
    /// </summary>
    public bool InjectFault { get; init; } = true;

    /// <summary>The RabbitMQ broker; null runs MassTransit's in-memory bus (default).</summary>
    public Uri? RabbitMq { get; init; }

    /// <summary>A PostgreSQL connection string for the saga store; null keeps SQLite in the state directory (default).</summary>
    public string? Postgres { get; init; }

    /// <summary>Where the run keeps its store, command record and guest trees; null: a fresh temporary directory, deleted afterwards.</summary>
    public string? StateDirectory { get; init; }

    /// <summary>How long the sagas of one phase may take in all before the unfinished ones are reported stuck; null: 60 s plus 1 s per saga, stretched by time scales above the default.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>How often each saga is read from the coordinator's API; default 100 ms.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The phase timeout in effect (see <see cref="Timeout"/>).</summary>
    public TimeSpan PhaseTimeout(int sagas) =>
        Timeout ?? TimeSpan.FromSeconds((60 + sagas) * Math.Max(1.0, TimeScale / DefaultTimeScale));

    /// <summary>Every problem with these options, each naming the option and the value; empty when they are valid.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (!Enum.IsDefined(Scenario))
        {
            problems.Add($"{nameof(Scenario)} must be fleet, assign, faults or release, not {Scenario}.");
        }

        if (Hosts is < 1 or > MaxHosts)
        {
            problems.Add(Invariant($"{nameof(Hosts)} must be between 1 and {MaxHosts}, not {Hosts}."));
        }
        else if (Scenario == LabScenario.Faults && Hosts < 3)
        {
            // The IOMMU fault takes a whole host's IOMMU away and the reboot fault takes the whole host down: each fault
            // needs a host of its own, or one would change the outcome of another.
            problems.Add(Invariant($"{nameof(Hosts)} must be at least 3 for the faults scenario (one host per fault), not {Hosts}."));
        }

        if (VmsPerHost is < 1 or > MaxVmsPerHost)
        {
            problems.Add(Invariant($"{nameof(VmsPerHost)} must be between 1 and {MaxVmsPerHost}, not {VmsPerHost}."));
        }
        else if (Scenario == LabScenario.Faults && VmsPerHost < 2)
        {
            problems.Add(Invariant($"{nameof(VmsPerHost)} must be at least 2 for the faults scenario (it needs a PV and an HVM VM), not {VmsPerHost}."));
        }

        if (!double.IsFinite(TimeScale) || TimeScale <= 0 || TimeScale > 1)
        {
            problems.Add(Invariant($"{nameof(TimeScale)} must be more than 0 and at most 1 (1 is real time), not {TimeScale}."));
        }

        if (RabbitMq is { } broker && (!broker.IsAbsoluteUri || broker.Scheme is not ("amqp" or "amqps")))
        {
            problems.Add($"{nameof(RabbitMq)} must be an absolute amqp:// or amqps:// URL, not '{broker}'.");
        }

        if (Postgres is { } postgres && string.IsNullOrWhiteSpace(postgres))
        {
            problems.Add($"{nameof(Postgres)} must be a connection string when set, not blank.");
        }

        if (Timeout is { } timeout && timeout <= TimeSpan.Zero)
        {
            problems.Add(Invariant($"{nameof(Timeout)} must be positive, not {timeout}."));
        }

        if (PollInterval <= TimeSpan.Zero || PollInterval > TimeSpan.FromSeconds(10))
        {
            problems.Add(Invariant($"{nameof(PollInterval)} must be more than 0 and at most 10 s, not {PollInterval}."));
        }

        return problems;
    }

    /// <summary>Throws when <see cref="Problems"/> finds any.</summary>
    /// <exception cref="ArgumentException">The message lists every problem.</exception>
    public void Validate()
    {
        var problems = Problems();
        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid lab options: " + string.Join(" ", problems));
        }
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

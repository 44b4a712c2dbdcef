using Passthrough.Contracts.Api;
using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Messaging;
using Passthrough.Coordinator;
using Passthrough.Lab;
using Passthrough.Simulation.Model;

namespace Passthrough.EndToEnd.Tests.Infrastructure;

/// <summary>
/// One test's world: a simulated fleet and the whole system on it (<see cref="LabRuntime"/>), with deadlines compressed
/// so a hung step is noticed in about a second, and a state directory removed afterwards.
/// </summary>
internal sealed class LabFixture : IAsyncDisposable
{
    /// <summary>Coordinator deadlines are multiplied by this: a 2-minute assign deadline becomes 2.4 s.</summary>
    public const double TimeScale = 0.02;

    /// <summary>A dom0 command that hangs is killed after this (the host agent then answers with a Timeout failure).</summary>
    public static readonly TimeSpan Dom0Timeout = TimeSpan.FromSeconds(1.5);

    private readonly string _directory;

    private LabFixture(SimulatedFleet fleet, LabRuntime runtime, string directory)
    {
        Fleet = fleet;
        Runtime = runtime;
        _directory = directory;
    }

    public SimulatedFleet Fleet { get; }

    public LabRuntime Runtime { get; }

    public static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    public static async Task<LabFixture> StartAsync(
        FleetSpec? spec = null, Action<SimulatedFleet>? arrange = null, Uri? rabbitMq = null, string? postgres = null, Action<CoordinatorOptions>? coordinator = null)
    {
        var directory = Directory.CreateTempSubdirectory("passthrough-e2e-").FullName;
        var fleet = SimulatedFleet.Create(spec ?? DefaultSpec with { WorkingDirectory = Path.Combine(directory, "guests") });
        arrange?.Invoke(fleet);
        try
        {
            var runtime = await LabRuntime.StartAsync(Options(fleet, directory, rabbitMq, postgres, coordinator: coordinator), Cancellation);
            return new LabFixture(fleet, runtime, directory);
        }
        catch
        {
            await fleet.DisposeAsync();
            Directory.Delete(directory, recursive: true);
            throw;
        }
    }

    /// <summary>One host (XCP-ng 8.3), a PV and an HVM VM, both running, every guest with pcifront.</summary>
    public static FleetSpec DefaultSpec { get; } = new()
    {
        Hosts = 1,
        VmsPerHost = 2,
        Seed = 7,
        Profiles = [ProductProfile.XcpNg83],
        InitialPowerState = VmPowerState.Running,
    };

    public static LabRuntimeOptions Options(SimulatedFleet fleet, string directory, Uri? rabbitMq = null, string? postgres = null, bool runCoordinator = true, bool runAgents = true, Action<CoordinatorOptions>? coordinator = null) => new()
    {
        Fleet = fleet,
        StateDirectory = directory,
        RabbitMq = rabbitMq,
        Postgres = postgres,
        RunCoordinator = runCoordinator,
        RunAgents = runAgents,
        Coordinator = o =>
        {
            o.TimeScale = TimeScale;
            o.WatchdogInterval = TimeSpan.FromSeconds(1);
            o.WatchdogGrace = TimeSpan.FromSeconds(1);
            coordinator?.Invoke(o);
        },
        HostAgent = o =>
        {
            o.Dom0.CommandTimeout = Dom0Timeout;
            o.Dom0.VmStartTimeout = Dom0Timeout;
            // Longer than the others so that a test can make a snapshot outlast the saga's deadline and still complete.
            o.Dom0.SnapshotTimeout = 4 * Dom0Timeout;
            o.Dom0.ForcedShutdownTimeout = Dom0Timeout;
            o.HeartbeatInterval = TimeSpan.FromSeconds(5);
            o.InventoryInterval = TimeSpan.FromSeconds(5);
        },
        // Short: an agent of a VM's previous boot lives until the supervisor's next look and could answer a verification
        // for the new boot (the coordinator does not send the previous boot id yet; see the issue note).
        Supervisor = o => o.PollInterval = TimeSpan.FromMilliseconds(10),
    };

    public FleetHost Host => Fleet.Hosts[0];

    public FleetVm Vm(GuestType type) => Fleet.Vms.First(v => v.GuestType == type);

    /// <summary>The first passthrough candidate of a kind on the VM's host.</summary>
    public static FleetDevice Device(FleetVm vm, FleetDeviceKind kind) => vm.Host.Devices.First(d => d.Kind == kind);

    public Task<SagaAccepted> AssignAsync(FleetVm vm, FleetDevice device, PassthroughOptionsBody? options = null) =>
        Runtime.SubmitPassthroughAsync(
            new PassthroughRequestBody(vm.Host.HostId.ToString(), vm.VmId.ToString(), [device.Address.ToString(), .. device.Siblings.Select(s => s.ToString())], options, "e2e"),
            Cancellation);

    public Task<SagaAccepted> ReleaseAsync(FleetVm vm, FleetDevice device) =>
        Runtime.SubmitReleaseAsync(
            new ReleaseRequestBody(vm.Host.HostId.ToString(), vm.VmId.ToString(), [device.Address.ToString(), .. device.Siblings.Select(s => s.ToString())], RequestedBy: "e2e"),
            Cancellation);

    public Task<SagaView> OutcomeAsync(Guid id, TimeSpan? timeout = null) =>
        Runtime.WaitForOutcomeAsync(id, timeout ?? TimeSpan.FromSeconds(60), Cancellation);

    public HostStateSnapshot Capture(HostId host) => Fleet.Host(host).Runner.Capture();

    public async ValueTask DisposeAsync()
    {
        await Runtime.DisposeAsync();
        await Fleet.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open by a stopping component; the temp folder is cleaned by the system.
        }
    }
}

using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;
using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Pci;
using Passthrough.Shell;
using Passthrough.Simulation;
using Passthrough.Simulation.Model;

namespace Passthrough.Xen.Tests.Driver;

/// <summary>
/// A simulated XenServer host on a fake clock and the dom0 driver over it: the driver runs its real command lines and
/// parsers against the simulator, and the test reads the simulated host's state directly to check what changed.
/// </summary>
internal sealed class SimHost
{
    public const string XenCmdline = "/opt/xensource/libexec/xen-cmdline";

    public static readonly DateTimeOffset Start = new(2025, 3, 1, 8, 0, 0, TimeSpan.Zero);

    private SimHost(SimulatedHost host, FakeTimeProvider time, Dom0DriverOptions? options)
    {
        Time = time;
        Host = host;
        Runner = new SimulatedHostRunner(host, time);
        Driver = new Dom0Driver(Runner, options, time);
    }

    public FakeTimeProvider Time { get; }

    public SimulatedHost Host { get; }

    public SimulatedHostRunner Runner { get; }

    public SimulatedFaults Faults => Runner.Faults;

    public Dom0Driver Driver { get; }

    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Every preset, by name, for theories.</summary>
    public static TheoryData<string> AllProducts => [.. ProductProfile.Presets.Select(p => p.Name)];

    /// <summary>The presets without the <c>xe pci-*</c> commands.</summary>
    public static TheoryData<string> ProductsWithoutPciCommands => [.. ProductProfile.Presets.Where(p => !p.HasPciCommands).Select(p => p.Name)];

    /// <summary>The presets on Xen 4.13 or later, where passthrough needs an IOMMU for PV guests too.</summary>
    public static TheoryData<string> ProductsNeedingIommu => [.. ProductProfile.Presets.Where(p => p.PvPassthroughNeedsIommu).Select(p => p.Name)];

    public static ProductProfile Product(string name) => ProductProfile.Presets.Single(p => p.Name == name);

    public static SimHost Create(string product, Func<SimulatedHostBuilder, SimulatedHostBuilder>? configure = null, Dom0DriverOptions? options = null) =>
        Create(Product(product), configure, options);

    public static SimHost Create(ProductProfile? product = null, Func<SimulatedHostBuilder, SimulatedHostBuilder>? configure = null, Dom0DriverOptions? options = null)
    {
        var time = new FakeTimeProvider(Start);
        var builder = new SimulatedHostBuilder(product ?? ProductProfile.XcpNg83);
        var host = (configure?.Invoke(builder) ?? builder).Build(time);
        return new SimHost(host, time, options);
    }

    /// <summary>The host's restorable state now (the boot cycle brought up to the clock first).</summary>
    public HostStateSnapshot Capture() => Runner.Capture();

    public VmId Vm(string name) => new(Host.Vm(name).Uuid);

    public XenUuid Pci(PciAddress address) => Host.Function(address).XapiUuid!.Value;

    public string? DriverOf(PciAddress address) => Host.Read(h => h.Function(address).BoundDriver);

    public string? NextBootHide => Host.Read(h => h.NextBootHideRaw);

    /// <summary>Runs a command on the simulated dom0 directly (set-up and checks), bypassing the runner's history and faults.</summary>
    public CommandResult Run(string program, params string[] args) => Runner.Dom0.Execute(new CommandRequest(program, args));

    /// <summary>Writes the next-boot hide list exactly as given, as an operator's hand edit would.</summary>
    public void SetNextBootHide(string token) => Assert.Equal(0, Run(XenCmdline, "--set-dom0", token).ExitCode);

    /// <summary>True when <paramref name="request"/> is <c>xe &lt;command&gt; …</c>.</summary>
    public static bool IsXe(CommandRequest request, string command) =>
        request.Program == "xe" && request.Arguments.Count > 0 && request.Arguments[0] == command;

    /// <summary>The command lines the driver ran, as displayed.</summary>
    public IReadOnlyList<string> Commands => [.. Runner.History.Select(r => r.Request.Display)];

    /// <summary>The command lines the driver runs from now on.</summary>
    public CommandLog Watch() => new(this, Runner.History.Count);

    /// <summary>
    /// Runs <paramref name="operation"/> while moving the fake clock forward <paramref name="step"/> at a time, so waits on
    /// the injected TimeProvider (poll intervals, command timeouts of hung commands, reboot downtime) pass in simulated time.
    /// </summary>
    public async Task<T> Drive<T>(Func<Task<T>> operation, TimeSpan? step = null)
    {
        var task = Task.Run(operation, Ct);
        var by = step ?? TimeSpan.FromSeconds(1);
        var guard = Stopwatch.StartNew();
        while (!task.IsCompleted)
        {
            if (guard.Elapsed > TimeSpan.FromSeconds(15))
            {
                throw new TimeoutException($"The operation did not finish after {Time.GetUtcNow() - Start} of simulated time.");
            }

            // Give the driver a moment to reach its next wait before the clock moves again.
            await Task.Delay(1, Ct);
            if (!task.IsCompleted)
            {
                Time.Advance(by);
            }
        }

        return await task;
    }

    public Task Drive(Func<Task> operation, TimeSpan? step = null) => Drive(async () =>
    {
        await operation();
        return true;
    }, step);

    /// <summary>The commands run since a point in time.</summary>
    internal sealed class CommandLog(SimHost host, int from)
    {
        public IReadOnlyList<CommandRequest> Requests => [.. host.Runner.History.Skip(from).Select(r => r.Request)];

        /// <summary>How many commands matched <paramref name="command"/>: program (its file name) then leading arguments, space-separated.</summary>
        public int Count(string command) => Requests.Count(r => Matches(r, command));

        public bool Ran(string command) => Count(command) > 0;

        public override string ToString() => string.Join(Environment.NewLine, Requests.Select(r => r.Display));

        private static bool Matches(CommandRequest request, string command)
        {
            var words = command.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return Path.GetFileName(request.Program) == words[0]
                && words.Length - 1 <= request.Arguments.Count
                && words.Skip(1).Select((w, i) => w == request.Arguments[i]).All(m => m);
        }
    }
}

using System.Text.RegularExpressions;
using Microsoft.Extensions.Time.Testing;
using Passthrough.Shell;
using Passthrough.Simulation.Model;

namespace Passthrough.Simulation.Tests;

/// <summary>A simulated host on a fake clock, with helpers to run command lines against it.</summary>
internal sealed class Sim
{
    public static readonly DateTimeOffset Start = new(2025, 3, 1, 8, 0, 0, TimeSpan.Zero);

    private Sim(SimulatedHost host, FakeTimeProvider time)
    {
        Host = host;
        Time = time;
        Dom0 = new SimulatedDom0(host, time);
    }

    public SimulatedHost Host { get; }

    public FakeTimeProvider Time { get; }

    public SimulatedDom0 Dom0 { get; }

    public string HostUuid => Host.Uuid.ToString();

    public static Sim Create(ProductProfile? profile = null, Func<SimulatedHostBuilder, SimulatedHostBuilder>? configure = null)
    {
        var time = new FakeTimeProvider(Start);
        var builder = new SimulatedHostBuilder(profile ?? ProductProfile.XcpNg83);
        var host = (configure?.Invoke(builder) ?? builder).Build(time);
        return new Sim(host, time);
    }

    public CommandResult Run(string program, params string[] args) => Dom0.Execute(new CommandRequest(program, args));

    public CommandResult RunWithInput(string stdin, string program, params string[] args) =>
        Dom0.Execute(new CommandRequest(program, args) { StandardInput = stdin });

    /// <summary>Runs xe and returns stdout, failing the test (with stderr) when it exits non-zero.</summary>
    public string Xe(params string[] args)
    {
        var result = Run("xe", args);
        Assert.True(result.ExitCode == 0, $"xe {string.Join(' ', args)} exited {result.ExitCode}: {result.StandardError}");
        return result.StandardOutput;
    }

    public CommandResult XeFails(params string[] args)
    {
        var result = Run("xe", args);
        Assert.True(result.ExitCode == 1, $"xe {string.Join(' ', args)} was expected to fail but exited {result.ExitCode}: {result.StandardOutput}");
        return result;
    }

    public string VmUuid(string name) => Host.Vm(name).Uuid.ToString();

    public string PciUuid(Passthrough.Contracts.Pci.PciAddress address) => Host.Function(address).XapiUuid!.Value.ToString();

    /// <summary>The sysfs sequence that detaches a function from its dom0 driver and binds it to pciback.</summary>
    public void DetachToPciback(Passthrough.Contracts.Pci.PciAddress address)
    {
        var bdf = address.ToString();
        if (Host.Function(address).BoundDriver is not null)
        {
            Assert.Equal(0, RunWithInput(bdf, "tee", $"/sys/bus/pci/devices/{bdf}/driver/unbind").ExitCode);
        }

        Assert.Equal(0, RunWithInput(bdf, "tee", "/sys/bus/pci/drivers/pciback/new_slot").ExitCode);
        Assert.Equal(0, RunWithInput(bdf, "tee", "/sys/bus/pci/drivers/pciback/bind").ExitCode);
    }

    /// <summary>host-disable, host-reboot, then the clock past the downtime and xapi's start.</summary>
    public void RebootAndWait()
    {
        Xe("host-disable", "uuid=" + HostUuid);
        Xe("host-reboot", "uuid=" + HostUuid);
        Time.Advance(Host.Timings.RebootDowntime + Host.Timings.XapiNotListening + Host.Timings.XapiInitialising + TimeSpan.FromSeconds(1));
        Dom0.Refresh();
    }
}

/// <summary>The real outputs copied from the shared fixtures (source lines starting with '#' removed).</summary>
internal static class Fixture
{
    public static string[] Lines(string name) =>
        [.. File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Fixtures", name)).Where(l => !l.StartsWith('#'))];
}

/// <summary>A strict reader of xe record output, used to check the simulator's layout field by field.</summary>
internal static partial class XeLayout
{
    /// <summary>Records as (label with tag, value) pairs; asserts the padding rule and the two blank lines after each record.</summary>
    public static List<List<(string Label, string Value)>> Records(string output)
    {
        var records = new List<List<(string, string)>>();
        if (output.Length == 0)
        {
            return records;
        }

        Assert.EndsWith("\n\n\n", output, StringComparison.Ordinal);
        foreach (var block in output[..^3].Split("\n\n\n"))
        {
            var lines = block.Split('\n');
            var width = lines.Max(l => l.IndexOf(": ", StringComparison.Ordinal));
            var record = new List<(string, string)>();
            for (var i = 0; i < lines.Length; i++)
            {
                var match = FieldLine().Match(lines[i]);
                Assert.True(match.Success, $"not an xe field line: '{lines[i]}'");
                var labelPart = lines[i][..lines[i].IndexOf(": ", StringComparison.Ordinal)];
                Assert.Equal(width, labelPart.Length);
                if (i == 0)
                {
                    Assert.False(labelPart.StartsWith(' '), "the first line is left-aligned");
                }
                else
                {
                    Assert.False(labelPart.EndsWith(' '), "later lines are right-aligned");
                }

                record.Add((labelPart.Trim(), match.Groups["value"].Value));
            }

            var longest = record.Max(r => r.Item1.Length);
            Assert.Equal(longest + 4, width);
            records.Add(record);
        }

        return records;
    }

    public static string Value(List<(string Label, string Value)> record, string name) =>
        record.Single(r => Name(r.Label) == name).Value;

    public static string Name(string label) => label[..label.IndexOf(" (", StringComparison.Ordinal)];

    [GeneratedRegex(@"^ *(?<name>[A-Za-z0-9_.:-]+) \((?<tag> RO| RW|MRO|MRW|SRO|SRW)\)( \[DEPRECATED\])? *: (?<value>.*)$")]
    private static partial Regex FieldLine();
}

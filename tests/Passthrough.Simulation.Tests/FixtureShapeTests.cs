using System.Text.RegularExpressions;
using Passthrough.Simulation.Model;

namespace Passthrough.Simulation.Tests;

/// <summary>The simulator's outputs have the shapes of the real outputs in the shared fixtures.</summary>
public sealed partial class FixtureShapeTests
{
    [Fact]
    public void Pci_list_records_are_laid_out_exactly_like_the_fixture()
    {
        var sim = Sim.Create();
        var fixture = Fixture.Lines("xe-pci-list.txt");

        var output = sim.Xe("pci-list");
        var first = output.Split("\n\n\n")[0].Split('\n');

        Assert.Equal(fixture.Length, first.Length);
        for (var i = 0; i < fixture.Length; i++)
        {
            var expectedLabel = fixture[i][..(fixture[i].IndexOf(": ", StringComparison.Ordinal) + 2)];
            Assert.StartsWith(expectedLabel, first[i], StringComparison.Ordinal);
        }

        Assert.Equal(6, XeLayout.Records(output).Count);
    }

    [Fact]
    public void Vm_list_records_carry_the_fixture_fields_in_the_fixture_order()
    {
        var sim = Sim.Create();
        var fixtureLabels = Fixture.Lines("xe-vm-list.txt").Select(l => l[..l.IndexOf(": ", StringComparison.Ordinal)].Trim()).ToList();

        var record = XeLayout.Records(sim.Xe("vm-list", "uuid=" + sim.VmUuid(DefaultDevices.PvVmName))).Single();

        Assert.Equal(fixtureLabels, record.Select(r => r.Label));
        Assert.Equal("halted", XeLayout.Value(record, "power-state"));
    }

    [Fact]
    public void Other_config_prints_as_the_fixture_map_with_the_pci_key()
    {
        var sim = Sim.Create();
        var vm = sim.VmUuid(DefaultDevices.HvmVmName);
        sim.Xe("vm-param-set", "uuid=" + vm, "other-config:pci=0/0000:03:00.0");

        var line = sim.Xe("vm-param-list", "uuid=" + vm).Split('\n').Single(l => l.TrimStart().StartsWith("other-config (MRW)", StringComparison.Ordinal)).TrimStart();
        var fixture = Fixture.Lines("xe-vm-param-list-other-config.txt");

        Assert.Matches(MapLine(), fixture[0]);
        Assert.Matches(MapLine(), fixture[1]);
        Assert.Matches(MapLine(), line);
        Assert.EndsWith("; pci: 0/0000:03:00.0", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Lspci_lines_parse_with_the_rule_that_reads_the_fixture()
    {
        var sim = Sim.Create();
        var lines = sim.Run("lspci", "-Dnn").StandardOutput.TrimEnd('\n').Split('\n');

        foreach (var line in Fixture.Lines("lspci-Dnn.txt").Concat(lines))
        {
            Assert.Matches(LspciLine(), line);
        }

        Assert.Contains("0000:00:14.0 USB controller [0c03]: Intel Corporation Cannon Lake PCH USB 3.1 xHCI Host Controller [8086:a36d] (rev 10)", lines);
        Assert.Contains("0000:01:00.0 VGA compatible controller [0300]: NVIDIA Corporation GK104 [GeForce GTX 690] [10de:1188] (rev a1)", lines);
        Assert.Contains("0000:02:00.0 Non-Volatile memory controller [0108]: Samsung Electronics Co Ltd NVMe SSD Controller SM981/PM981/PM983 [144d:a808]", lines);
    }

    [Fact]
    public void Lspci_without_the_domain_matches_the_nn_fixture_shape()
    {
        var sim = Sim.Create();
        var lines = sim.Run("lspci", "-nn").StandardOutput.TrimEnd('\n').Split('\n');

        Assert.Contains("01:00.1 Audio device [0403]: NVIDIA Corporation GK104 HDMI Audio Controller [10de:0e0a] (rev a1)", lines);
        Assert.Contains(Fixture.Lines("lspci-nn.txt"), l => l == "04:00.1 Audio device [0403]: NVIDIA Corporation GK104 HDMI Audio Controller [10de:0e0a] (rev a1)");
    }

    [Fact]
    public void Xen_cmdline_answers_like_the_fixture_with_and_without_a_hide_list()
    {
        var sim = Sim.Create();
        var fixture = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "xen-cmdline-get-dom0.txt")).Split('\n').Where(l => !l.StartsWith('#')).ToArray();

        Assert.Equal(fixture[1] + "\n", sim.Run("/opt/xensource/libexec/xen-cmdline", "--get-dom0", "xen-pciback.hide").StandardOutput);
        sim.Run("/opt/xensource/libexec/xen-cmdline", "--set-dom0", "xen-pciback.hide=(0000:00:02.0)(0000:00:02.1)");
        Assert.Equal(fixture[0] + "\n", sim.Run("/opt/xensource/libexec/xen-cmdline", "--get-dom0", "xen-pciback.hide").StandardOutput);
    }

    [Theory]
    [InlineData("XCP-ng 8.3", true, 1)]
    [InlineData("XenServer 7.1", true, 0)]
    public void Xl_info_virt_caps_line_equals_a_fixture_line(string profile, bool iommu, int fixtureLine)
    {
        var sim = Sim.Create(ProductProfile.Presets.Single(p => p.Name == profile), b => b.WithIommu(iommu));

        var line = sim.Run("xl", "info").StandardOutput.Split('\n').Single(l => l.StartsWith("virt_caps", StringComparison.Ordinal));

        Assert.Equal(Fixture.Lines("xl-info-virt_caps.txt")[fixtureLine], line);
    }

    [Fact]
    public void Xl_dmesg_prints_the_fixture_lines_when_the_iommu_is_on()
    {
        var sim = Sim.Create(ProductProfile.XenServer71);

        var lines = sim.Run("xl", "dmesg").StandardOutput.Split('\n');

        var expected = Fixture.Lines("xl-dmesg-iommu-enabled.txt").Where(l => l.Contains("virtualisation", StringComparison.Ordinal) || l.Contains("Dom0 mode", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(expected);
        Assert.All(expected, l => Assert.Contains(l, lines));
    }

    [Fact]
    public void Xl_dmesg_says_disabled_in_the_fixture_form_when_the_iommu_is_off()
    {
        var sim = Sim.Create(configure: b => b.WithIommu(false));

        var lines = sim.Run("xl", "dmesg").StandardOutput.Split('\n');

        var fixture = Fixture.Lines("xl-dmesg-iommu-disabled.txt").Single();
        Assert.Matches(DisabledLine(), fixture);
        Assert.Contains(lines, l => DisabledLine().IsMatch(l));
        Assert.DoesNotContain(lines, l => l.Contains("I/O virtualisation enabled", StringComparison.Ordinal));
    }

    [Fact]
    public void Toolstack_and_libxl_messages_are_the_fixture_texts()
    {
        var fixture = Fixture.Lines("xe-errors.txt");
        var sim = Sim.Create(configure: b => b.HiddenAtBoot("(0000:03:00.0"));

        Assert.Contains(sim.Run("xl", "pci-assignable-list").StandardError.TrimEnd('\n'), fixture);

        var booting = Sim.Create(configure: b => b.HiddenAtBoot("(03:00.0)"));
        Assert.Contains(booting.Run("xe", "vm-list").StandardError.TrimEnd('\n'), fixture);

        var refused = Sim.Create(configure: b => b.WithTimings(t => t.XapiNotListening = TimeSpan.FromSeconds(20)));
        refused.RebootAndWaitUntil(TimeSpan.FromSeconds(95));
        Assert.Contains(refused.Run("xe", "vm-list").StandardError.TrimEnd('\n'), fixture);
    }

    [Fact]
    public void Cannot_add_message_has_the_fixture_shape()
    {
        var sim = Sim.Create(ProductProfile.XenServer65, b => b.WithIommu(false));
        sim.DetachToPciback(DefaultDevices.PassthroughNic);
        var vm = sim.VmUuid(DefaultDevices.HvmVmName);
        sim.Xe("vm-param-set", "uuid=" + vm, "other-config:pci=0/0000:03:00.0");

        var error = sim.XeFails("vm-start", "uuid=" + vm).StandardError;

        var message = error.Split('\n').Single(l => l.StartsWith("message: ", StringComparison.Ordinal))["message: ".Length..];
        var fixture = Fixture.Lines("xe-errors.txt")[1]["Internal error: ".Length..];
        Assert.Matches(CannotAdd(), fixture);
        Assert.Matches(CannotAdd(), message);
        Assert.Equal("xenopsd internal error: Device.PCI.Cannot_add(0000:03:00.0, Xenctrlext.Unix_error(30, \"1: Operation not permitted\"))", message);
    }

    [GeneratedRegex(@"^other-config \(MRW\): [^:;]+: [^;]*(; [^:;]+: [^;]*)*$")]
    private static partial Regex MapLine();

    [GeneratedRegex(@"^(?<bdf>[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]) (?<class>[^\[]+) \[(?<code>[0-9a-f]{4})\]: (?<name>.*) \[(?<ids>[0-9a-f]{4}:[0-9a-f]{4})\]( \(rev (?<rev>[0-9a-f]{2})\))?$")]
    private static partial Regex LspciLine();

    [GeneratedRegex(@"^\(XEN\) (\[\s*\d+\.\d{6}\] )?I/O virtualisation disabled$")]
    private static partial Regex DisabledLine();

    [GeneratedRegex(@"^xenopsd internal error: (Device\.PCI\.)?Cannot_add\([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7], Xenctrlext\.Unix_error\(\d+, ""\d+: [^""]+""\)\)$")]
    private static partial Regex CannotAdd();
}

internal static class SimExtensions
{
    /// <summary>Disables and reboots the host, then moves the clock <paramref name="after"/> past the reboot command.</summary>
    public static void RebootAndWaitUntil(this Sim sim, TimeSpan after)
    {
        sim.Xe("host-disable", "uuid=" + sim.HostUuid);
        sim.Xe("host-reboot", "uuid=" + sim.HostUuid);
        sim.Time.Advance(after);
    }
}

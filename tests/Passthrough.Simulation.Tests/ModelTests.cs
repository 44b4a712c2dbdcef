using Passthrough.Contracts.Messaging;
using Passthrough.Shell;
using Passthrough.Simulation.Model;

namespace Passthrough.Simulation.Tests;

/// <summary>Seeds, JSON round trips, state captures for undo assertions, and concurrent use.</summary>
public sealed class ModelTests
{
    [Fact]
    public void The_same_seed_builds_the_same_host_and_another_seed_does_not()
    {
        var a = new SimulatedHostBuilder(ProductProfile.XcpNg83, seed: 42).Build(Sim.Start);
        var b = new SimulatedHostBuilder(ProductProfile.XcpNg83, seed: 42).Build(Sim.Start);
        var c = new SimulatedHostBuilder(ProductProfile.XcpNg83, seed: 43).Build(Sim.Start);

        Assert.Equal(a.ToJson(), b.ToJson());
        Assert.NotEqual(a.Uuid, c.Uuid);
    }

    [Fact]
    public void A_host_survives_a_json_round_trip_and_keeps_answering_the_same()
    {
        var sim = Sim.Create();
        sim.DetachToPciback(DefaultDevices.PassthroughNic);
        sim.Xe("vm-param-set", "uuid=" + sim.VmUuid(DefaultDevices.PvVmName), "other-config:pci=0/0000:03:00.0");
        sim.Xe("vm-snapshot", "uuid=" + sim.VmUuid(DefaultDevices.PvVmName), "new-name-label=s1");
        sim.Run("/opt/xensource/libexec/xen-cmdline", "--set-dom0", "xen-pciback.hide=(04:00.0)");

        var json = sim.Host.ToJson();
        var copy = SimulatedHost.FromJson(json);

        Assert.Equal(json, copy.ToJson());
        Assert.Equal(sim.Host.Capture(), copy.Capture());
        var copyDom0 = new SimulatedDom0(copy, sim.Time);
        string[] vmList = ["vm-list", "params=all"];
        Assert.Equal(sim.Xe(vmList), copyDom0.Execute(new CommandRequest("xe", vmList)).StandardOutput);
        Assert.Equal(["base_template_name", "import_task", "mac_seed", "install-methods", "linux_template", "pci"], copy.Vm(DefaultDevices.PvVmName).OtherConfig.Keys);
        Assert.Equal(ProductProfile.XcpNg83, copy.Profile);
    }

    [Fact]
    public void Another_process_can_load_modify_and_save_the_model()
    {
        var sim = Sim.Create();
        var loaded = SimulatedHost.FromJson(sim.Host.ToJson());

        loaded.IommuEnabled = false;
        loaded.Vm(DefaultDevices.HvmVmName).OtherConfig["pci"] = "0/0000:01:00.0";
        var saved = SimulatedHost.FromJson(loaded.ToJson());

        Assert.False(saved.IommuEnabled);
        Assert.Equal("0/0000:01:00.0", saved.Vm(DefaultDevices.HvmVmName).OtherConfig["pci"]);
    }

    [Fact]
    public void Capture_is_equal_after_an_exact_undo_and_the_diff_names_what_differs()
    {
        var sim = Sim.Create();
        var before = sim.Host.Capture();
        var vm = sim.VmUuid(DefaultDevices.PvVmName);
        const string Hide = "/opt/xensource/libexec/xen-cmdline";

        sim.DetachToPciback(DefaultDevices.PassthroughNic);
        sim.Run(Hide, "--set-dom0", "xen-pciback.hide=(0000:03:00.0)");
        sim.Xe("vm-param-set", "uuid=" + vm, "other-config:pci=0/0000:03:00.0");
        var during = sim.Host.Capture();

        Assert.NotEqual(before, during);
        var diff = before.DiffAgainst(during);
        Assert.Contains("- function 0000:03:00.0 driver: igb", diff);
        Assert.Contains("+ function 0000:03:00.0 driver: pciback", diff);
        Assert.Contains("- next-boot xen-pciback.hide: (absent)", diff);
        Assert.Contains("+ pciback slots: 0000:03:00.0", diff);
        Assert.Contains(diff, l => l.StartsWith("+ vm ", StringComparison.Ordinal) && l.Contains("pci: 0/0000:03:00.0", StringComparison.Ordinal));

        sim.Xe("vm-param-remove", "uuid=" + vm, "param-name=other-config", "param-key=pci");
        sim.Run(Hide, "--delete-dom0", "xen-pciback.hide");
        sim.RunWithInput("0000:03:00.0", "tee", "/sys/bus/pci/drivers/pciback/unbind");
        sim.RunWithInput("0000:03:00.0", "tee", "/sys/bus/pci/drivers/pciback/remove_slot");
        sim.RunWithInput("0000:03:00.0", "tee", "/sys/bus/pci/drivers/igb/bind");

        var after = sim.Host.Capture();
        Assert.Equal(before, after);
        Assert.Empty(before.DiffAgainst(after));
        Assert.Equal(before.GetHashCode(), after.GetHashCode());
    }

    [Fact]
    public void Describe_lists_one_fact_per_line()
    {
        var sim = Sim.Create();

        var lines = sim.Host.Capture().Describe();

        Assert.Contains("enabled: true", lines);
        Assert.Contains("pciback: loaded", lines);
        Assert.Contains("function 0000:01:00.0 driver: (unbound)", lines);
        Assert.Contains(lines, l => l.StartsWith("vm ", StringComparison.Ordinal) && l.EndsWith("power-state: halted", StringComparison.Ordinal));
        Assert.Contains("function 0000:00:14.0 driver: xhci_hcd", sim.Host.Capture().ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_snapshot_changes_the_capture_and_its_summary_carries_the_pci_key()
    {
        var sim = Sim.Create();
        var vm = sim.Host.Vm(DefaultDevices.PvVmName);
        sim.Xe("vm-param-set", "uuid=" + vm.Uuid, "other-config:pci=0/0000:03:00.0");

        sim.Xe("vm-snapshot", "uuid=" + vm.Uuid, "new-name-label=s");

        var summary = sim.Host.Capture().Vms.Single(v => v.Uuid == vm.Uuid).Snapshots.Single();
        Assert.Equal(VmPowerState.Halted, summary.PowerState);
        Assert.Contains(new KeyValuePair<string, string>("pci", "0/0000:03:00.0"), summary.OtherConfig);
    }

    [Fact]
    public async Task Concurrent_commands_keep_the_model_consistent()
    {
        var sim = Sim.Create();
        var vms = Enumerable.Range(0, 8).Select(i => $"vm{i}").ToArray();
        var builder = new SimulatedHostBuilder(ProductProfile.XcpNg83).WithoutDefaultVms();
        foreach (var name in vms)
        {
            builder.WithVm(name, GuestType.HVM);
        }

        var host = builder.Build(sim.Time);
        await using var runner = new SimulatedHostRunner(host, sim.Time);

        await Task.WhenAll(vms.Select(name => Task.Run(async () =>
        {
            var uuid = "uuid=" + host.Read(h => h.Vm(name).Uuid);
            for (var i = 0; i < 20; i++)
            {
                await runner.RunCheckedAsync(new CommandRequest("xe", "vm-param-set", uuid, $"other-config:round={i}"), TestContext.Current.CancellationToken);
                await runner.RunCheckedAsync(new CommandRequest("xe", "vm-start", uuid), TestContext.Current.CancellationToken);
                await runner.RunCheckedAsync(new CommandRequest("xe", "vm-shutdown", uuid, "--force"), TestContext.Current.CancellationToken);
            }
        }, TestContext.Current.CancellationToken)));

        Assert.All(vms, name => Assert.Equal("19", host.Vm(name).OtherConfig["round"]));
        Assert.Equal(1 + (vms.Length * 20), host.NextDomId);
        Assert.Equal(vms.Length * 60, runner.History.Count);
    }
}

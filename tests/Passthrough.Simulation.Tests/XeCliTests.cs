using Passthrough.Simulation.Model;

namespace Passthrough.Simulation.Tests;

/// <summary>The xe command lines of docs/dom0-commands.md and the CLI's printing rules.</summary>
public sealed class XeCliTests
{
    private const string VmListParams = "params=uuid,name-label,power-state,resident-on,domain-type,HVM-boot-policy,dom-id,other-config";

    [Fact]
    public void Vm_list_without_filters_lists_dom0_but_not_snapshots()
    {
        var sim = Sim.Create();
        sim.Xe("vm-snapshot", "uuid=" + sim.VmUuid(DefaultDevices.PvVmName), "new-name-label=snap");

        var records = XeLayout.Records(sim.Xe("vm-list", "params=all"));

        Assert.Equal(3, records.Count);
        Assert.Single(records, r => XeLayout.Value(r, "is-control-domain") == "true");
        Assert.All(records, r => Assert.Equal("false", XeLayout.Value(r, "is-a-snapshot")));
    }

    [Fact]
    public void Vm_list_of_the_catalogue_selects_the_named_fields_in_record_order()
    {
        var sim = Sim.Create();

        var records = XeLayout.Records(sim.Xe("vm-list", "is-control-domain=false", "is-a-snapshot=false", "is-a-template=false", VmListParams));

        Assert.Equal(2, records.Count);
        Assert.Equal(
            ["uuid ( RO)", "name-label ( RW)", "power-state ( RO)", "domain-type ( RW)", "HVM-boot-policy ( RW)", "resident-on ( RO)", "other-config (MRW)", "dom-id ( RO)"],
            records[0].Select(r => r.Label));
        var pv = records.Single(r => XeLayout.Value(r, "name-label") == DefaultDevices.PvVmName);
        Assert.Equal("pv", XeLayout.Value(pv, "domain-type"));
        Assert.Equal(string.Empty, XeLayout.Value(pv, "HVM-boot-policy"));
        Assert.Equal("<not in database>", XeLayout.Value(pv, "resident-on"));
        Assert.Equal("-1", XeLayout.Value(pv, "dom-id"));
        var hvm = records.Single(r => XeLayout.Value(r, "name-label") == DefaultDevices.HvmVmName);
        Assert.Equal("BIOS order", XeLayout.Value(hvm, "HVM-boot-policy"));
    }

    [Fact]
    public void Vm_list_on_a_host_before_7_5_has_no_domain_type_field()
    {
        var sim = Sim.Create(ProductProfile.XenServer65);

        var record = XeLayout.Records(sim.Xe("vm-list", "uuid=" + sim.VmUuid(DefaultDevices.PvVmName), VmListParams)).Single();

        Assert.DoesNotContain(record, r => XeLayout.Name(r.Label) == "domain-type");
        Assert.Equal(string.Empty, XeLayout.Value(record, "HVM-boot-policy"));
    }

    [Fact]
    public void Vm_list_by_uuid_or_name_gives_one_record_or_nothing()
    {
        var sim = Sim.Create();

        Assert.Single(XeLayout.Records(sim.Xe("vm-list", "name-label=" + DefaultDevices.HvmVmName, VmListParams)));
        Assert.Equal(string.Empty, sim.Xe("vm-list", "name-label=nobody", VmListParams));
        Assert.Equal(string.Empty, sim.Xe("vm-list", "uuid=00000000-0000-0000-0000-000000000000", VmListParams));
    }

    [Fact]
    public void Minimal_prints_first_fields_comma_joined_with_commas_escaped()
    {
        var sim = Sim.Create();
        var vm = sim.VmUuid(DefaultDevices.PvVmName);
        sim.Xe("vm-param-set", "uuid=" + vm, "name-label=a,b\\c");

        Assert.Equal("a\\,b\\\\c\n", sim.Xe("vm-list", "uuid=" + vm, "params=name-label", "--minimal"));
        Assert.Equal("\n", sim.Xe("vm-list", "name-label=nobody", "--minimal"));
        Assert.Equal(3, sim.Xe("vm-list", "--minimal").TrimEnd('\n').Split(',').Length);
    }

    [Fact]
    public void Management_pif_device_is_eth0()
    {
        var sim = Sim.Create();

        Assert.Equal("eth0\n", sim.Xe("pif-list", "host-uuid=" + sim.HostUuid, "management=true", "params=device", "--minimal"));
    }

    [Fact]
    public void Map_filters_select_on_a_key()
    {
        var sim = Sim.Create();
        sim.Xe("vm-param-set", "uuid=" + sim.VmUuid(DefaultDevices.PvVmName), "other-config:pci=0/0000:03:00.0");

        Assert.Equal(sim.VmUuid(DefaultDevices.PvVmName) + "\n", sim.Xe("vm-list", "other-config:pci=0/0000:03:00.0", "params=uuid", "--minimal"));
    }

    [Fact]
    public void Filter_on_an_unknown_field_fails_like_xapi()
    {
        var sim = Sim.Create(ProductProfile.XenServer71);

        var error = sim.XeFails("vm-list", "domain-type=hvm").StandardError;

        Assert.Equal(
            "The server failed to handle your request, due to an internal error. The given message may give details useful for debugging the problem.\nmessage: Failure: Unknown field 'domain-type'\n",
            error);
    }

    [Fact]
    public void Host_param_get_reads_versions_iommu_and_enabled()
    {
        var sim = Sim.Create();
        var host = "uuid=" + sim.HostUuid;

        var versions = sim.Xe("host-param-get", host, "param-name=software-version");
        Assert.Contains("product_version: 8.3.0; ", versions, StringComparison.Ordinal);
        Assert.Contains("; xapi: 24.19; xapi_build: 24.19.2; xen: 4.17.4-3; linux: 4.19.0+1; ", versions, StringComparison.Ordinal);
        Assert.Equal("true\n", sim.Xe("host-param-get", host, "param-name=chipset-info", "param-key=iommu"));
        Assert.Equal("true\n", sim.Xe("host-param-get", host, "param-name=enabled"));

        var old = Sim.Create(ProductProfile.XenServer65, b => b.WithIommu(false));
        var oldVersions = old.Xe("host-param-get", "uuid=" + old.HostUuid, "param-name=software-version");
        Assert.Contains("xapi: 1.9; xen: 4.4.1-xs", oldVersions, StringComparison.Ordinal);
        Assert.DoesNotContain("xapi_build", oldVersions, StringComparison.Ordinal);
        Assert.Equal("false\n", old.Xe("host-param-get", "uuid=" + old.HostUuid, "param-name=chipset-info", "param-key=iommu"));
    }

    [Fact]
    public void Other_config_pci_is_set_read_and_removed()
    {
        var sim = Sim.Create();
        var vm = "uuid=" + sim.VmUuid(DefaultDevices.PvVmName);

        Assert.DoesNotContain("pci:", sim.Xe("vm-param-get", vm, "param-name=other-config"), StringComparison.Ordinal);
        sim.Xe("vm-param-set", vm, "other-config:pci=0/0000:03:00.0,0/0000:00:14.0");
        Assert.Equal("0/0000:03:00.0,0/0000:00:14.0\n", sim.Xe("vm-param-get", vm, "param-name=other-config", "param-key=pci"));
        sim.Xe("vm-param-remove", vm, "param-name=other-config", "param-key=pci");
        Assert.DoesNotContain("pci:", sim.Xe("vm-param-get", vm, "param-name=other-config"), StringComparison.Ordinal);
    }

    [Fact]
    public void Reading_or_removing_an_absent_key_fails_with_xapis_messages()
    {
        var sim = Sim.Create();
        var vm = "uuid=" + sim.VmUuid(DefaultDevices.PvVmName);

        Assert.EndsWith("message: Failure: Key pci not found in map\n", sim.XeFails("vm-param-get", vm, "param-name=other-config", "param-key=pci").StandardError, StringComparison.Ordinal);
        Assert.EndsWith("message: Failure: Key pci is not in map\n", sim.XeFails("vm-param-remove", vm, "param-name=other-config", "param-key=pci").StandardError, StringComparison.Ordinal);

        var old = Sim.Create(ProductProfile.XenServer65);
        Assert.EndsWith("message: Failure: Key is not in map\n", old.XeFails("vm-param-remove", "uuid=" + old.VmUuid(DefaultDevices.PvVmName), "param-name=other-config", "param-key=pci").StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_uuid_is_refused_with_uuid_invalid()
    {
        var sim = Sim.Create();

        var result = sim.XeFails("vm-param-get", "uuid=11111111-2222-3333-4444-555555555555", "param-name=other-config");

        Assert.Equal("The uuid you supplied was invalid.\ntype: VM\nuuid: 11111111-2222-3333-4444-555555555555\n", result.StandardError);
        Assert.Equal(string.Empty, result.StandardOutput);
    }

    [Fact]
    public void Attached_pcis_is_not_a_cli_field()
    {
        var sim = Sim.Create();

        var result = sim.XeFails("vm-param-get", "uuid=" + sim.VmUuid(DefaultDevices.PvVmName), "param-name=attached-PCIs");

        Assert.Equal("Error code: Missing parameter\nError parameters: attached-PCIs\n", result.StandardError);
    }

    [Fact]
    public void Unknown_commands_exit_1_but_help_for_them_exits_0()
    {
        var sim = Sim.Create(ProductProfile.XcpNg82);

        var unknown = sim.XeFails("pci-disable-dom0-access", "uuid=x");
        Assert.Equal("Unknown command: pci-disable-dom0-access\nFor usage run: 'xe help'\n", unknown.StandardError);

        var help = sim.Run("xe", "help", "pci-disable-dom0-access");
        Assert.Equal(0, help.ExitCode);
        Assert.Equal("Unknown command 'pci-disable-dom0-access'\n", help.StandardOutput);
        Assert.Equal(1, sim.Run("xe", "pci-list").ExitCode);
    }

    [Fact]
    public void Help_describes_a_known_command_as_a_record()
    {
        var sim = Sim.Create();

        var output = sim.Xe("help", "pci-disable-dom0-access");

        Assert.Equal(
            "command name            : pci-disable-dom0-access\n        reqd params     : uuid\n        optional params : \n        description     : Disable PCI access to dom0.\n\n\n",
            output);
        Assert.Contains("optional params : force, on, paused, <vm-selectors>", sim.Xe("help", "vm-start"), StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_required_parameter_is_reported()
    {
        var sim = Sim.Create();

        Assert.Equal("Required parameter not found: new-name-label\nFor usage run: 'xe help'\n", sim.XeFails("vm-snapshot", "uuid=" + sim.VmUuid(DefaultDevices.PvVmName)).StandardError);
    }

    [Fact]
    public void Vm_operations_on_a_uuid_that_matches_nothing_fail_with_no_matching_vms()
    {
        var sim = Sim.Create();

        Assert.EndsWith("message: Failure: No matching VMs found\n", sim.XeFails("vm-start", "uuid=11111111-2222-3333-4444-555555555555").StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public void Pci_list_has_display_storage_network_functions_and_gpu_siblings_but_no_usb_controller()
    {
        var sim = Sim.Create();

        var records = XeLayout.Records(sim.Xe("pci-list", "host-uuid=" + sim.HostUuid, "params=all"));

        var ids = records.Select(r => XeLayout.Value(r, "pci-id")).ToList();
        Assert.Equal(["0000:00:17.0", "0000:00:1f.6", "0000:01:00.0", "0000:01:00.1", "0000:02:00.0", "0000:03:00.0"], ids);
        Assert.DoesNotContain("0000:00:14.0", ids);
        var gpu = records.Single(r => XeLayout.Value(r, "pci-id") == "0000:01:00.0");
        Assert.Equal("0000:01:00.1", XeLayout.Value(gpu, "dependencies"));
        Assert.Equal(
            ["uuid ( RO)", "vendor-name ( RO)", "device-name ( RO)", "driver-name ( RO)", "host-uuid ( RO)", "host-name-label ( RO)", "pci-id ( RO)", "dependencies (SRO)", "other-config (MRW)"],
            gpu.Select(r => r.Label));
        Assert.Equal("igb", XeLayout.Value(records.Single(r => XeLayout.Value(r, "pci-id") == "0000:03:00.0"), "driver-name"));
    }

    [Fact]
    public void Snapshot_prints_the_new_uuid_and_appears_in_the_vm_record()
    {
        var sim = Sim.Create();
        var vm = sim.VmUuid(DefaultDevices.PvVmName);

        var uuid = sim.Xe("vm-snapshot", "uuid=" + vm, "new-name-label=before passthrough").TrimEnd('\n');

        Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", uuid);
        Assert.Equal(uuid + "\n", sim.Xe("vm-param-get", "uuid=" + vm, "param-name=snapshots"));
        var record = XeLayout.Records(sim.Xe("snapshot-list", "uuid=" + uuid, "params=all")).Single();
        Assert.Equal("true", XeLayout.Value(record, "is-a-snapshot"));
        Assert.Equal(vm, XeLayout.Value(record, "snapshot-of"));
        Assert.Equal("20250301T08:00:00Z", XeLayout.Value(record, "snapshot-time"));
    }

    [Fact]
    public void Snapshot_uninstall_with_force_lists_and_destroys()
    {
        var sim = Sim.Create();
        var vm = sim.Host.Vm(DefaultDevices.PvVmName);
        var uuid = sim.Xe("vm-snapshot", "uuid=" + vm.Uuid, "new-name-label=tmp").TrimEnd('\n');

        var output = sim.Xe("snapshot-uninstall", "snapshot-uuid=" + uuid, "force=true");

        var lines = output.TrimEnd('\n').Split('\n');
        Assert.Equal("The following items are about to be destroyed", lines[0]);
        Assert.Equal($"VM : {uuid} (tmp)", lines[1]);
        Assert.StartsWith("VDI: ", lines[2], StringComparison.Ordinal);
        Assert.Equal("All objects destroyed", lines[^1]);
        Assert.Empty(vm.Snapshots);
        Assert.Equal("The uuid you supplied was invalid.\ntype: VM\nuuid: " + uuid + "\n", sim.XeFails("snapshot-revert", "snapshot-uuid=" + uuid).StandardError);
    }

    [Fact]
    public void Snapshot_commands_refuse_a_vm_that_is_not_a_snapshot()
    {
        var sim = Sim.Create();
        var vm = sim.VmUuid(DefaultDevices.PvVmName);

        Assert.EndsWith($"message: Failure: This operation can only be performed on a VM snapshot. {vm} is not a VM snapshot.\n", sim.XeFails("snapshot-revert", "snapshot-uuid=" + vm).StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public void Shutdown_of_a_halted_vm_reports_the_bad_power_state_with_the_vm_named()
    {
        var sim = Sim.Create();
        var vm = sim.Host.Vm(DefaultDevices.PvVmName);

        Assert.Equal(
            "You attempted an operation on a VM that was not in an appropriate power state at the time; for example, you attempted to start a VM that was already running. The parameters returned are the VM's handle, and the expected and actual VM state at the time of the call.\n" +
            $"vm: {vm.Uuid} (debian7-pv)\nexpected: running\nactual: halted\n",
            sim.XeFails("vm-shutdown", "uuid=" + vm.Uuid).StandardError);
        Assert.Contains("expected: paused, suspended, running\n", sim.XeFails("vm-shutdown", "uuid=" + vm.Uuid, "--force").StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public void Start_then_clean_and_forced_shutdown()
    {
        var sim = Sim.Create();
        var vm = sim.Host.Vm(DefaultDevices.HvmVmName);

        sim.Xe("vm-start", "uuid=" + vm.Uuid, "on=" + sim.HostUuid);
        Assert.Equal("running\n", sim.Xe("vm-param-get", "uuid=" + vm.Uuid, "param-name=power-state"));
        Assert.Equal(sim.HostUuid + "\n", sim.Xe("vm-param-get", "uuid=" + vm.Uuid, "param-name=resident-on"));
        Assert.Equal("1\n", sim.Xe("vm-param-get", "uuid=" + vm.Uuid, "param-name=dom-id"));
        Assert.Contains("expected: halted\nactual: running\n", sim.XeFails("vm-start", "uuid=" + vm.Uuid).StandardError, StringComparison.Ordinal);

        sim.Xe("vm-shutdown", "uuid=" + vm.Uuid);
        Assert.Equal("halted\n", sim.Xe("vm-param-get", "uuid=" + vm.Uuid, "param-name=power-state"));

        sim.Xe("vm-start", "uuid=" + vm.Uuid);
        sim.Xe("vm-shutdown", "uuid=" + vm.Uuid, "--force");
        Assert.Equal("-1\n", sim.Xe("vm-param-get", "uuid=" + vm.Uuid, "param-name=dom-id"));
    }

    [Fact]
    public void Start_on_an_unknown_host_fails()
    {
        var sim = Sim.Create();

        Assert.EndsWith("message: Failure: Host nowhere not found\n", sim.XeFails("vm-start", "uuid=" + sim.VmUuid(DefaultDevices.PvVmName), "on=nowhere").StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public void Start_on_a_disabled_host_fails_with_host_disabled()
    {
        var sim = Sim.Create();
        sim.Xe("host-disable", "uuid=" + sim.HostUuid);

        var error = sim.XeFails("vm-start", "uuid=" + sim.VmUuid(DefaultDevices.PvVmName), "on=" + sim.HostUuid).StandardError;

        Assert.Equal($"The specified server is disabled.\nhost: {sim.HostUuid} (xenhost-01)\n", error);
    }

    [Fact]
    public void Param_set_refuses_read_only_fields()
    {
        var sim = Sim.Create();

        Assert.EndsWith("message: Failure: Field 'power-state' is read-only.\n", sim.XeFails("vm-param-set", "uuid=" + sim.VmUuid(DefaultDevices.PvVmName), "power-state=running").StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public void Host_list_shows_the_pool_with_its_peer()
    {
        var sim = Sim.Create();

        var records = XeLayout.Records(sim.Xe("host-list"));

        Assert.Equal(2, records.Count);
        Assert.Equal(["uuid ( RO)", "name-label ( RW)", "name-description ( RW)"], records[0].Select(r => r.Label));
    }
}

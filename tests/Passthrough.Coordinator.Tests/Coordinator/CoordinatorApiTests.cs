using System.Net;
using System.Net.Http.Json;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Passthrough.Contracts.Api;
using Passthrough.Contracts.CoordinatorEvents;
using Passthrough.Contracts.HostCommands;
using Passthrough.Contracts.Messaging;
using Passthrough.Coordinator.Claims;
using Passthrough.Coordinator.Tests.Infrastructure;

namespace Passthrough.Coordinator.Tests.Coordinator;

/// <summary>The HTTP API on a real Kestrel (127.0.0.1, port 0) over the in-memory bus with fake agents.</summary>
public sealed class CoordinatorApiTests
{
    private static readonly string Host = ScriptedHost.HostId.ToString();
    private static readonly string Vm = ScriptedHost.VmId.ToString();
    private static readonly string Usb = ScriptedHost.Usb.ToString();

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    public static TheoryData<string, string, string> MalformedPassthroughs => new()
    {
        { $$$"""{"vm":"{{{Vm}}}","devices":["{{{Usb}}}"]}""", "host", "host is required" },
        { $$$"""{"host":"xcp-1","vm":"{{{Vm}}}","devices":["{{{Usb}}}"]}""", "host", "'xcp-1'" },
        { $$$"""{"host":"{{{Host}}}","devices":["{{{Usb}}}"]}""", "vm", "vm is required" },
        { $$$"""{"host":"{{{Host}}}","vm":"not-a-uuid","devices":["{{{Usb}}}"]}""", "vm", "'not-a-uuid'" },
        { $$$"""{"host":"{{{Host}}}","vm":"{{{Vm}}}","devices":[]}""", "devices", "at least one" },
        { $$$"""{"host":"{{{Host}}}","vm":"{{{Vm}}}"}""", "devices", "at least one" },
        { $$$"""{"host":"{{{Host}}}","vm":"{{{Vm}}}","devices":["{{{Usb}}}","03:00.9"]}""", "devices[1]", "'03:00.9'" },
        { $$$"""{"host":"{{{Host}}}","vm":"{{{Vm}}}","devices":["{{{Usb}}}","03:00.0"]}""", "devices[1]", "already devices[0]" },
        { $$$"""{"host":"{{{Host}}}","vm":"{{{Vm}}}","devices":["{{{Usb}}}"],"options":{"verifyTimeoutSeconds":0}}""", "options.verifyTimeoutSeconds", "between 1 and 7200" },
        { $$$"""{"host":"{{{Host}}}","vm":"{{{Vm}}}","devices":["{{{Usb}}}"],"options":{"hideMode":"Sideways"}}""", "options.hideMode", "not valid" },
        { $$$"""{"host":"{{{Host}}}","vm":"{{{Vm}}}","devices":["{{{Usb}}}"],"options":{"hideMode":"PersistWithReboot"}}""", "options.allowHostReboot", "reboots the host" },
        { $$$$"""{"host":"{{{{Host}}}}","vm":"{{{{Vm}}}}","devices":["{{{{Usb}}}}"],"options":{"guestSsh":{"address":"10.0.0.5","port":70000,"user":"root"}}}""", "options.guestSsh.port", "70000" },
        { $$$$"""{"host":"{{{{Host}}}}","vm":"{{{{Vm}}}}","devices":["{{{{Usb}}}}"],"options":{"guestSsh":{"address":"10.0.0.5","port":22,"user":"root","hostKeySha256":"MD5:aa"}}}""", "options.guestSsh.hostKeySha256", "SHA256:" },
    };

    [Theory]
    [MemberData(nameof(MalformedPassthroughs))]
    public async Task Malformed_passthroughs_are_refused_naming_the_field(string json, string field, string mentions)
    {
        using var directory = new TempDirectory();
        var agents = new AgentScript();
        await using var coordinator = await CoordinatorHarness.StartAsync(new HarnessSettings(directory.Path) { Agents = agents });

        using var response = await coordinator.Client.PostAsync(ApiRoutes.Passthroughs, new StringContent(json, Encoding.UTF8, "application/json"), Cancellation);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await response.Content.ReadFromJsonAsync<ApiError>(CoordinatorHarness.Json, Cancellation);
        Assert.Equal(field, error!.Field);
        Assert.Contains(mentions, error.Error, StringComparison.Ordinal);
        Assert.Empty(agents.Received);
        Assert.Empty(await coordinator.Services.GetRequiredService<ResourceClaimStore>().ListAsync(Cancellation));
    }

    [Fact]
    public async Task A_body_that_is_not_json_is_refused()
    {
        using var directory = new TempDirectory();
        await using var coordinator = await CoordinatorHarness.StartAsync(new HarnessSettings(directory.Path));

        using var response = await coordinator.Client.PostAsync(ApiRoutes.Releases, new StringContent("{host:", Encoding.UTF8, "application/json"), Cancellation);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("not valid", (await response.Content.ReadFromJsonAsync<ApiError>(CoordinatorHarness.Json, Cancellation))!.Error,
            StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_accepted_passthrough_answers_202_with_its_location_and_its_history_is_readable()
    {
        using var directory = new TempDirectory();
        await using var coordinator = await CoordinatorHarness.StartAsync(new HarnessSettings(directory.Path) { Agents = new AgentScript() });

        using var response = await coordinator.PostAsync(ApiRoutes.Passthroughs, new PassthroughRequestBody(Host, Vm, ["03:00.0"], RequestedBy: "alice"));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var accepted = (await response.Content.ReadFromJsonAsync<SagaAccepted>(CoordinatorHarness.Json, Cancellation))!;
        Assert.Equal(SagaKind.Passthrough, accepted.Kind);
        Assert.Equal($"/api/v1/sagas/{accepted.Id}", accepted.Location);
        Assert.Equal(accepted.Location, response.Headers.Location!.OriginalString);
        var raw = await response.Content.ReadAsStringAsync(Cancellation);
        Assert.Contains("\"kind\":\"Passthrough\"", raw, StringComparison.Ordinal);

        var view = await coordinator.WaitForOutcomeAsync(accepted.Id);
        Assert.Equal(SagaOutcome.Completed, view.Outcome);
        Assert.Equal([Usb], view.Devices);
        Assert.Equal(Host, view.Host);
        Assert.Contains(view.Steps, s => s.Step == SagaStep.Snapshot && s.Detail!.Contains("snapshot", StringComparison.Ordinal));
        using var rawView = await coordinator.Client.GetAsync(accepted.Location, Cancellation);
        Assert.Contains("\"outcome\":\"Completed\"", await rawView.Content.ReadAsStringAsync(Cancellation), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_and_malformed_saga_ids_answer_404_and_400()
    {
        using var directory = new TempDirectory();
        await using var coordinator = await CoordinatorHarness.StartAsync(new HarnessSettings(directory.Path));

        using var missing = await coordinator.Client.GetAsync($"{ApiRoutes.Sagas}/{Guid.NewGuid()}", Cancellation);
        using var malformed = await coordinator.Client.GetAsync($"{ApiRoutes.Sagas}/nope", Cancellation);

        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Contains("no saga", (await missing.Content.ReadFromJsonAsync<ApiError>(CoordinatorHarness.Json, Cancellation))!.Error, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
    }

    [Fact]
    public async Task The_list_pages_newest_first_and_validates_its_range()
    {
        using var directory = new TempDirectory();
        await using var coordinator = await CoordinatorHarness.StartAsync(new HarnessSettings(directory.Path) { Agents = new AgentScript() });
        List<Guid> ids = [];
        for (var i = 0; i < 3; i++)
        {
            // Different VMs and devices, so no claim blocks the next.
            ids.Add(await coordinator.SubmitPassthroughAsync(new PassthroughRequestBody(Host, Guid.NewGuid().ToString(), [$"0000:0{i + 4}:00.0"])));
            await Eventually.HoldsAsync(async () => await coordinator.GetSagaAsync(ids[^1]) is not null, "the saga is stored");
        }

        var first = await coordinator.Client.GetFromJsonAsync<SagaPage>($"{ApiRoutes.Sagas}?take=2", CoordinatorHarness.Json, Cancellation);
        var second = await coordinator.Client.GetFromJsonAsync<SagaPage>($"{ApiRoutes.Sagas}?skip=2&take=2", CoordinatorHarness.Json, Cancellation);

        Assert.Equal([ids[2], ids[1]], first!.Items.Select(v => v.Id));
        Assert.Equal([ids[0]], second!.Items.Select(v => v.Id));
        Assert.Equal((2, 2), (second.Skip, second.Take));
        foreach (var (query, field) in new[] { ("skip=-1", "skip"), ("take=0", "take"), ("take=1001", "take"), ("take=ten", "take") })
        {
            using var response = await coordinator.Client.GetAsync($"{ApiRoutes.Sagas}?{query}", Cancellation);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal(field, (await response.Content.ReadFromJsonAsync<ApiError>(CoordinatorHarness.Json, Cancellation))!.Field);
        }
    }

    [Fact]
    public async Task A_second_request_for_a_claimed_device_or_vm_is_refused_with_the_holder_until_the_first_ends()
    {
        using var directory = new TempDirectory();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var agents = new AgentScript { BeforeAnswer = command => command is RunPreflight ? release.Task : Task.CompletedTask };
        await using var coordinator = await CoordinatorHarness.StartAsync(new HarnessSettings(directory.Path)
        {
            Agents = agents,
            Configure = options => options.TimeScale = 1,
        });

        var first = await coordinator.SubmitPassthroughAsync(new PassthroughRequestBody(Host, Vm, [Usb]));
        using var sameDevice = await coordinator.PostAsync(ApiRoutes.Passthroughs, new PassthroughRequestBody(Host, Guid.NewGuid().ToString(), [Usb]));
        using var sameVm = await coordinator.PostAsync(ApiRoutes.Releases, new ReleaseRequestBody(Host, Vm, ["0000:09:00.0"]));

        Assert.Equal(HttpStatusCode.Conflict, sameDevice.StatusCode);
        var deviceError = (await sameDevice.Content.ReadFromJsonAsync<ApiError>(CoordinatorHarness.Json, Cancellation))!;
        Assert.Equal(first, deviceError.HeldBy);
        Assert.Equal($"device:{Host}/{Usb}", deviceError.Resource);
        Assert.Equal(HttpStatusCode.Conflict, sameVm.StatusCode);
        var vmError = (await sameVm.Content.ReadFromJsonAsync<ApiError>(CoordinatorHarness.Json, Cancellation))!;
        Assert.Equal((first, $"vm:{Vm}"), (vmError.HeldBy, vmError.Resource));

        release.SetResult();
        await coordinator.WaitForOutcomeAsync(first);
        await Eventually.HoldsAsync(async () => (await coordinator.Services.GetRequiredService<ResourceClaimStore>().ListAsync(Cancellation)).Count == 0,
            "the finished saga's claims are released");
        var second = await coordinator.SubmitPassthroughAsync(new PassthroughRequestBody(Host, Guid.NewGuid().ToString(), [Usb]));
        Assert.NotEqual(first, second);
    }

    [Fact]
    public async Task A_sibling_held_by_another_saga_fails_the_saga_naming_the_holder()
    {
        using var directory = new TempDirectory();
        var agents = new AgentScript();
        agents.Host.AddedSiblings.Add(ScriptedHost.UsbSibling);
        await using var coordinator = await CoordinatorHarness.StartAsync(new HarnessSettings(directory.Path) { Agents = agents });
        var holder = Guid.NewGuid();
        await coordinator.Services.GetRequiredService<ResourceClaimStore>().TryClaimAsync(holder, SagaKind.Passthrough,
            [ResourceClaimStore.DeviceKey(ScriptedHost.HostId, ScriptedHost.UsbSibling)], Cancellation);

        var id = await coordinator.SubmitPassthroughAsync(new PassthroughRequestBody(Host, Vm, [Usb], new PassthroughOptionsBody(IncludeSiblings: true)));
        var view = await coordinator.WaitForOutcomeAsync(id);

        Assert.Equal(SagaOutcome.RolledBack, view.Outcome);
        Assert.Equal(FailureCause.DeviceOwnedByAnotherVm, view.Cause!.Cause);
        Assert.Contains(holder.ToString(), view.Cause.Message, StringComparison.Ordinal);
        Assert.Equal([typeof(RunPreflight)], agents.Received.Select(c => c.GetType()));
    }

    [Fact]
    public async Task A_release_gives_devices_back_to_the_drivers_the_completed_passthrough_recorded()
    {
        using var directory = new TempDirectory();
        var agents = new AgentScript();
        await using var coordinator = await CoordinatorHarness.StartAsync(new HarnessSettings(directory.Path) { Agents = agents });
        var passthrough = await coordinator.SubmitPassthroughAsync(new PassthroughRequestBody(Host, Vm, [Usb]));
        Assert.Equal(SagaOutcome.Completed, (await coordinator.WaitForOutcomeAsync(passthrough)).Outcome);
        await Eventually.HoldsAsync(async () => (await coordinator.Services.GetRequiredService<ResourceClaimStore>().ListAsync(Cancellation)).Count == 0,
            "the passthrough's claims are released");

        using var response = await coordinator.PostAsync(ApiRoutes.Releases, new ReleaseRequestBody(Host, Vm, [Usb], RestartVm: true));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var accepted = (await response.Content.ReadFromJsonAsync<SagaAccepted>(CoordinatorHarness.Json, Cancellation))!;
        var view = await coordinator.WaitForOutcomeAsync(accepted.Id);

        Assert.Equal(SagaKind.Release, view.Kind);
        Assert.Equal(SagaOutcome.Completed, view.Outcome);
        var reattach = agents.Received.OfType<ReattachPciDevices>().Single();
        Assert.Equal([new DriverBinding(ScriptedHost.Usb, "xhci_hcd", true)], reattach.KnownOriginalDrivers);
    }

    [Fact]
    public async Task Health_reports_the_store()
    {
        using var directory = new TempDirectory();
        await using var coordinator = await CoordinatorHarness.StartAsync(new HarnessSettings(directory.Path));

        var health = await coordinator.Client.GetStringAsync(ApiRoutes.Health, Cancellation);

        Assert.Contains("\"status\":\"ok\"", health, StringComparison.Ordinal);
        Assert.Contains("\"store\":\"sqlite\"", health, StringComparison.Ordinal);
    }
}

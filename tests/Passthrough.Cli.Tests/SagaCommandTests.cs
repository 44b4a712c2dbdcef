using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Passthrough.Contracts.Api;
using Passthrough.Contracts.CoordinatorEvents;
using Passthrough.Contracts.Messaging;

namespace Passthrough.Cli.Tests;

// `passthrough assign / release / status / watch` against a Kestrel coordinator stand-in (FakeCoordinator).
public sealed class SagaCommandTests : IAsyncLifetime
{
    private const string HostUuid = "0c1d8b39-8b8d-4f4b-9a55-2a1f0e7c3d21";
    private const string VmUuid = "7f3e2a10-5c44-4e0e-8f0a-9b1c2d3e4f50";
    private const string GuestKey = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    private static readonly DateTimeOffset T0 = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    private readonly StringWriter _out = new();
    private readonly StringWriter _error = new();
    private readonly Dictionary<string, string> _variables = [];
    private FakeCoordinator? _coordinator;

    private FakeCoordinator Coordinator => _coordinator!;

    public async ValueTask InitializeAsync() => _coordinator = await FakeCoordinator.StartAsync();

    public async ValueTask DisposeAsync()
    {
        if (_coordinator is not null)
        {
            await _coordinator.DisposeAsync();
        }
    }

    private Task<int> RunAsync(params string[] args) =>
        CliApplication.RunAsync(
            [.. args, "--coordinator", Coordinator.Url],
            new CliEnvironment(_out, _error, _ => throw new InvalidOperationException("saga commands open no runner"), TimeProvider.System, _variables.GetValueOrDefault));

    private static string[] Assign(params string[] extra) => ["assign", "--host", HostUuid, "--vm", VmUuid, "--device", "03:00.0", .. extra];

    private static SagaStepView Step(SagaStep step, int started, int? finished, bool? ok, Failure? failure = null, string? detail = null) =>
        new(step, 1, T0.AddSeconds(started), finished is { } end ? T0.AddSeconds(end) : null, ok, failure, detail);

    private static SagaView Saga(Guid id, string state, SagaOutcome? outcome, Failure? cause, IReadOnlyList<string> left, params SagaStepView[] steps) =>
        new(id, SagaKind.Passthrough, state, HostUuid, VmUuid, ["0000:03:00.0"], outcome is null ? steps.LastOrDefault(s => s.FinishedAt is null)?.Step : null,
            outcome, cause, left, steps, T0, T0.AddSeconds(steps.Length == 0 ? 0 : 30), outcome is null ? null : T0.AddSeconds(60));

    private static readonly Failure DetachFailure = new(FailureCause.FlrTimeout, "pciback could not reset 0000:03:00.0", "pciback 0000:03:00.0: timed out waiting for pending transaction", "use a device with FLR");

    // A passthrough whose detach fails and is compensated, as four successive polls see it.
    private static SagaView[] RolledBackViews(Guid id) =>
    [
        Saga(id, "Preflighting", null, null, [], Step(SagaStep.Preflight, 0, null, null)),
        Saga(id, "Detaching", null, null, [], Step(SagaStep.Preflight, 0, 1, true), Step(SagaStep.Shutdown, 1, 5, true, detail: "was running"), Step(SagaStep.Detach, 5, null, null)),
        Saga(id, "Compensating", null, null, [], Step(SagaStep.Preflight, 0, 1, true), Step(SagaStep.Shutdown, 1, 5, true, detail: "was running"), Step(SagaStep.Detach, 5, 8, false, DetachFailure), Step(SagaStep.UndoDetach, 8, null, null)),
        Saga(id, "RolledBack", SagaOutcome.RolledBack, DetachFailure, [], Step(SagaStep.Preflight, 0, 1, true), Step(SagaStep.Shutdown, 1, 5, true, detail: "was running"), Step(SagaStep.Detach, 5, 8, false, DetachFailure), Step(SagaStep.UndoDetach, 8, 9, true), Step(SagaStep.UndoShutdown, 9, 12, true)),
    ];

    [Theory]
    [InlineData("--device", "0000:zz:00.0", "--device '0000:zz:00.0'")]
    [InlineData("--hide-mode", "sometimes", "--hide-mode 'sometimes' is not one of auto, dynamic, persist-with-reboot, dom0-access-api")]
    [InlineData("--snapshot", "never", "--snapshot 'never' is not one of delete-on-success, keep, revert-on-failure")]
    [InlineData("--verify-timeout", "5 minutes", "--verify-timeout '5 minutes' is not a duration such as 250ms, 300s, 5m or 1h")]
    [InlineData("--guest-ssh", "root@10.0.0.5", "--guest-ssh 'root@10.0.0.5' needs --guest-host-key")]
    public async Task Assign_refuses_malformed_input_locally_naming_the_value_and_sends_nothing(string option, string value, string expected)
    {
        var code = await RunAsync(Assign(option, value));

        Assert.Equal(ExitCodes.Usage, code);
        Assert.StartsWith("error: ", _error.ToString(), StringComparison.Ordinal);
        Assert.Contains(expected, _error.ToString(), StringComparison.Ordinal);
        Assert.Empty(Coordinator.Requests);
    }

    [Fact]
    public async Task A_malformed_host_uuid_is_named_with_its_option()
    {
        var code = await RunAsync("release", "--host", "xenhost-01", "--vm", VmUuid, "--device", "0000:03:00.0");

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("--host 'xenhost-01': Host id:", _error.ToString(), StringComparison.Ordinal);
        Assert.Empty(Coordinator.Requests);
    }

    [Fact]
    public async Task Assign_posts_the_request_with_normalised_values_and_prints_the_saga_id()
    {
        var id = Guid.NewGuid();
        Coordinator.SubmitAnswer = (HttpStatusCode.Accepted, new SagaAccepted(id, SagaKind.Passthrough, $"{ApiRoutes.Sagas}/{id}"));

        var code = await RunAsync(Assign(
            "--device", "0000:03:00.1", "--hide-mode", "persist-with-reboot", "--allow-host-reboot", "--snapshot", "revert-on-failure",
            "--verify-timeout", "5m", "--allow-pv-without-iommu", "--guest-ssh", "root@[fd00::5]:2222", "--guest-host-key", GuestKey));

        Assert.Equal(ExitCodes.Ok, code);
        Assert.Equal(string.Empty, _error.ToString());
        Assert.Equal(id.ToString("D") + Environment.NewLine, _out.ToString());
        var (method, path, body) = Assert.Single(Coordinator.Requests);
        Assert.Equal(("POST", ApiRoutes.Passthroughs), (method, path));
        // The wire format: camelCase names, enums as strings.
        Assert.Contains("\"verifyTimeoutSeconds\":300", body, StringComparison.Ordinal);
        Assert.Contains("\"hideMode\":\"PersistWithReboot\"", body, StringComparison.Ordinal);
        var sent = JsonSerializer.Deserialize<PassthroughRequestBody>(body, Web)!;
        Assert.Equal(HostUuid, sent.Host);
        Assert.Equal(VmUuid, sent.Vm);
        Assert.Equal(["0000:03:00.0", "0000:03:00.1"], sent.Devices!);
        Assert.Equal(
            new PassthroughOptionsBody(HideMode.PersistWithReboot, true, null, Contracts.CoordinatorCommands.SnapshotPolicy.RevertOnFailure, 300,
                Contracts.CoordinatorCommands.IommuPolicy.AllowPvWithoutIommu, null, new GuestSshTarget("fd00::5", 2222, "root", GuestKey)),
            sent.Options);
        Assert.NotNull(sent.RequestedBy);
    }

    [Fact]
    public async Task Release_posts_its_options_and_json_output_parses_back_into_the_accepted_answer()
    {
        var accepted = new SagaAccepted(Guid.NewGuid(), SagaKind.Release, "/api/v1/sagas/x");
        Coordinator.SubmitAnswer = (HttpStatusCode.Accepted, accepted);

        var code = await RunAsync("release", "--host", HostUuid, "--vm", VmUuid, "--device", "03:00.0", "--no-restart", "--allow-forced-shutdown", "--output", "json");

        Assert.Equal(ExitCodes.Ok, code);
        Assert.Equal(accepted, JsonSerializer.Deserialize<SagaAccepted>(_out.ToString(), Web));
        var sent = JsonSerializer.Deserialize<ReleaseRequestBody>(Assert.Single(Coordinator.Requests).Body, Web)!;
        Assert.Equal((true, false), (sent.AllowForcedShutdown, sent.RestartVm));
        Assert.Equal(ApiRoutes.Releases, Assert.Single(Coordinator.Requests).Path);
    }

    [Fact]
    public async Task A_400_prints_the_coordinators_error_and_field_with_the_usage_code()
    {
        Coordinator.SubmitAnswer = (HttpStatusCode.BadRequest, new ApiError("device 0000:00:17.0 backs dom0's root filesystem", "devices"));

        var code = await RunAsync(Assign());

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Equal("error: coordinator refused (400): device 0000:00:17.0 backs dom0's root filesystem [field: devices]" + Environment.NewLine, _error.ToString());
    }

    [Fact]
    public async Task A_409_names_the_saga_holding_the_device_with_its_own_code()
    {
        var holder = Guid.NewGuid();
        Coordinator.SubmitAnswer = (HttpStatusCode.Conflict, new ApiError("device 0000:03:00.0 is held by another saga", HeldBy: holder, Resource: "device 0000:03:00.0"));

        var code = await RunAsync(Assign());

        Assert.Equal(ExitCodes.Conflict, code);
        Assert.NotEqual(ExitCodes.Usage, ExitCodes.Conflict);
        var error = _error.ToString();
        Assert.Contains("coordinator refused (409): device 0000:03:00.0 is held by another saga", error, StringComparison.Ordinal);
        Assert.Contains($"held by saga {holder:D}, device 0000:03:00.0; see: passthrough status {holder:D}", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_lists_recent_sagas_in_a_table()
    {
        var running = Saga(Guid.NewGuid(), "Detaching", null, null, [], Step(SagaStep.Preflight, 0, 1, true), Step(SagaStep.Detach, 1, null, null));
        var done = RolledBackViews(Guid.NewGuid())[^1];
        Coordinator.Page = new SagaPage([running, done], 0, 20);

        var code = await RunAsync("status");

        Assert.Equal(ExitCodes.Ok, code);
        var lines = _out.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        Assert.Matches(@"^ID\s+KIND\s+HOST\s+VM\s+DEVICES\s+STATE / STEP\s+OUTCOME\s+UPDATED$", lines[0]);
        Assert.Matches($@"^{running.Id:D}\s+Passthrough\s+{HostUuid}\s+{VmUuid}\s+0000:03:00.0\s+Detaching \(Detach\)\s+-\s+2025-03-01 12:00:30Z$", lines[2]);
        Assert.Matches($@"^{done.Id:D}\s+Passthrough\s+.*\s+RolledBack\s+RolledBack\s+2025-03-01 12:00:30Z$", lines[3]);
        Assert.Equal(("GET", $"{ApiRoutes.Sagas}?skip=0&take=20"), (Coordinator.Requests.Single().Method, Coordinator.Requests.Single().Path));
    }

    [Fact]
    public async Task Status_of_one_saga_shows_its_step_history_cause_and_what_is_left_for_an_operator()
    {
        var id = Guid.NewGuid();
        var undoFailure = new Failure(FailureCause.HostUnreachable, "host did not answer");
        Coordinator.Serve(Saga(id, "RollbackFailed", SagaOutcome.RollbackFailed, DetachFailure, ["restore the hide list of host X by hand"],
            Step(SagaStep.Preflight, 0, 1, true, detail: "vm running"), Step(SagaStep.Detach, 1, 4, false, DetachFailure), Step(SagaStep.UndoDetach, 4, 94, false, undoFailure)));

        var code = await RunAsync("status", id.ToString());

        Assert.Equal(ExitCodes.Ok, code);
        var text = _out.ToString();
        Assert.Contains($"Saga        {id:D} (Passthrough)", text, StringComparison.Ordinal);
        Assert.Contains("Outcome     RollbackFailed", text, StringComparison.Ordinal);
        Assert.Contains("Cause       FlrTimeout: pciback could not reset 0000:03:00.0 (toolstack: pciback 0000:03:00.0: timed out waiting for pending transaction) (fix: use a device with FLR)", text, StringComparison.Ordinal);
        Assert.Matches(@"STEP\s+ATTEMPT\s+STARTED\s+DURATION\s+RESULT\s+FAILURE / DETAIL", text);
        Assert.Matches(@"Preflight\s+1\s+2025-03-01 12:00:00Z\s+1\.000 s\s+ok\s+vm running", text);
        Assert.Matches(@"Detach\s+1\s+2025-03-01 12:00:01Z\s+3\.000 s\s+failed\s+FlrTimeout: pciback could not reset", text);
        Assert.Matches(@"UndoDetach\s+1\s+2025-03-01 12:00:04Z\s+1 min 30 s\s+failed\s+HostUnreachable: host did not answer", text);
        Assert.Contains("left for operator: restore the hide list of host X by hand", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_json_parses_back_into_the_api_objects()
    {
        var view = RolledBackViews(Guid.NewGuid())[^1];
        Coordinator.Serve(view);
        Coordinator.Page = new SagaPage([view], 0, 20);

        Assert.Equal(ExitCodes.Ok, await RunAsync("status", view.Id.ToString(), "--output", "json"));
        var one = JsonSerializer.Deserialize<SagaView>(_out.ToString(), Web)!;
        _out.GetStringBuilder().Clear();
        Assert.Equal(ExitCodes.Ok, await RunAsync("status", "--output", "json"));
        var page = JsonSerializer.Deserialize<SagaPage>(_out.ToString(), Web)!;

        Assert.Equal(JsonSerializer.Serialize(view, Web), JsonSerializer.Serialize(one, Web));
        Assert.Equal(JsonSerializer.Serialize(view, Web), JsonSerializer.Serialize(Assert.Single(page.Items), Web));
        Assert.Equal(SagaOutcome.RolledBack, one.Outcome);
        Assert.Equal(SagaStep.UndoShutdown, one.Steps[^1].Step);
    }

    [Fact]
    public async Task Status_of_an_unknown_saga_exits_with_the_not_found_code()
    {
        var code = await RunAsync("status", Guid.NewGuid().ToString());

        Assert.Equal(ExitCodes.NotFound, code);
        Assert.Contains("coordinator refused (404): no saga", _error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Watch_prints_each_step_start_and_finish_in_order_and_exits_with_the_rolled_back_code()
    {
        var id = Guid.NewGuid();
        Coordinator.Serve(RolledBackViews(id));

        var code = await RunAsync("watch", id.ToString(), "--interval", "10ms");

        Assert.Equal(ExitCodes.RolledBack, code);
        Assert.Equal(20, ExitCodes.RolledBack);
        var lines = _out.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(
            [
                $"Passthrough {id:D}: host {HostUuid}, VM {VmUuid}, devices 0000:03:00.0",
                "12:00:00.000  start   Preflight",
                "12:00:01.000  done    Preflight in 1.000 s",
                "12:00:01.000  start   Shutdown",
                "12:00:05.000  done    Shutdown in 4.000 s: was running",
                "12:00:05.000  start   Detach",
                "12:00:08.000  FAILED  Detach in 3.000 s: FlrTimeout: pciback could not reset 0000:03:00.0 (toolstack: pciback 0000:03:00.0: timed out waiting for pending transaction) (fix: use a device with FLR)",
                "12:00:08.000  start   UndoDetach",
                "12:00:09.000  done    UndoDetach in 1.000 s",
                "12:00:09.000  start   UndoShutdown",
                "12:00:12.000  done    UndoShutdown in 3.000 s",
                "outcome: RolledBack: every change was undone",
                "cause: FlrTimeout: pciback could not reset 0000:03:00.0 (toolstack: pciback 0000:03:00.0: timed out waiting for pending transaction) (fix: use a device with FLR)",
            ],
            lines);
        Assert.Equal(4, Coordinator.Requests.Count);
    }

    [Theory]
    [InlineData(SagaOutcome.Completed, ExitCodes.Ok)]
    [InlineData(SagaOutcome.RollbackFailed, ExitCodes.RollbackFailed)]
    public async Task Watch_exits_with_the_outcomes_code(SagaOutcome outcome, int expected)
    {
        var id = Guid.NewGuid();
        Coordinator.Serve(
            Saga(id, "Verifying", null, null, [], Step(SagaStep.Verify, 0, null, null)),
            Saga(id, outcome.ToString(), outcome, null, outcome == SagaOutcome.RollbackFailed ? ["VM left halted"] : [], Step(SagaStep.Verify, 0, 2, outcome == SagaOutcome.Completed)));

        var code = await RunAsync("watch", id.ToString(), "--interval", "10ms");

        Assert.Equal(expected, code);
        Assert.Contains($"outcome: {outcome}", _out.ToString(), StringComparison.Ordinal);
        Assert.Equal(outcome == SagaOutcome.RollbackFailed, _out.ToString().Contains("left for operator: VM left halted", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Assign_with_wait_follows_the_saga_and_json_prints_the_final_saga_only()
    {
        var id = Guid.NewGuid();
        Coordinator.SubmitAnswer = (HttpStatusCode.Accepted, new SagaAccepted(id, SagaKind.Passthrough, $"{ApiRoutes.Sagas}/{id}"));
        var views = RolledBackViews(id);
        Coordinator.Serve(views);

        var code = await RunAsync(Assign("--wait", "--interval", "10ms", "--output", "json"));

        Assert.Equal(ExitCodes.RolledBack, code);
        var final = JsonSerializer.Deserialize<SagaView>(_out.ToString(), Web)!;
        Assert.Equal(JsonSerializer.Serialize(views[^1], Web), JsonSerializer.Serialize(final, Web));
    }

    [Fact]
    public async Task Assign_with_wait_prints_the_id_then_the_steps()
    {
        var id = Guid.NewGuid();
        Coordinator.SubmitAnswer = (HttpStatusCode.Accepted, new SagaAccepted(id, SagaKind.Passthrough, $"{ApiRoutes.Sagas}/{id}"));
        Coordinator.Serve(RolledBackViews(id));

        var code = await RunAsync(Assign("--wait", "--interval", "10ms"));

        Assert.Equal(ExitCodes.RolledBack, code);
        var text = _out.ToString();
        Assert.StartsWith($"Passthrough saga {id:D} accepted", text, StringComparison.Ordinal);
        Assert.True(text.IndexOf("start   Preflight", StringComparison.Ordinal) < text.IndexOf("outcome: RolledBack", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_unreachable_coordinator_is_named_with_the_unreachable_code()
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        var code = await CliApplication.RunAsync(
            ["status", "--coordinator", $"http://127.0.0.1:{port}"],
            new CliEnvironment(_out, _error, _ => throw new InvalidOperationException(), TimeProvider.System));

        Assert.Equal(ExitCodes.Unreachable, code);
        Assert.StartsWith($"error: the coordinator at http://127.0.0.1:{port}/ is unreachable: ", _error.ToString(), StringComparison.Ordinal);
        Assert.Contains("refused", _error.ToString(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task The_coordinator_url_comes_from_the_environment_when_not_given_and_a_bad_one_is_named()
    {
        _variables["PASSTHROUGH_COORDINATOR"] = Coordinator.Url;
        var environment = new CliEnvironment(_out, _error, _ => throw new InvalidOperationException(), TimeProvider.System, _variables.GetValueOrDefault);

        Assert.Equal(ExitCodes.Ok, await CliApplication.RunAsync(["status"], environment));
        Assert.Single(Coordinator.Requests);

        _variables["PASSTHROUGH_COORDINATOR"] = "ftp://coordinator";
        Assert.Equal(ExitCodes.Usage, await CliApplication.RunAsync(["status"], environment));
        Assert.Contains("Coordinator URL 'ftp://coordinator' (from PASSTHROUGH_COORDINATOR) is not an http:// or https:// base URL", _error.ToString(), StringComparison.Ordinal);
    }
}

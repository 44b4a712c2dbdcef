using System.CommandLine;
using System.Text.Json;
using Passthrough.Cli.Coordinator;
using Passthrough.Cli.Output;
using Passthrough.Contracts.Api;
using Passthrough.Contracts.CoordinatorCommands;

namespace Passthrough.Cli.Commands;

/// <summary>
/// The saga commands, all through the coordinator's HTTP API: <c>assign</c> and <c>release</c> submit a saga and print
/// its id (with <c>--wait</c>, follow it like <c>watch</c>), <c>status</c> lists sagas or shows one, <c>watch</c> follows
/// one to its end. Exit codes: <see cref="ExitCodes.Ok"/> (completed, or submitted without --wait),
/// <see cref="ExitCodes.RolledBack"/>, <see cref="ExitCodes.RollbackFailed"/>, <see cref="ExitCodes.Usage"/> (malformed
/// input here or a 400), <see cref="ExitCodes.Conflict"/> (409), <see cref="ExitCodes.NotFound"/> (404),
/// <see cref="ExitCodes.Unreachable"/>.
/// </summary>
internal static class SagaCommands
{
    public static Command Assign(CliEnvironment environment)
    {
        var coordinator = new CoordinatorOptions();
        var output = OutputOptions.Create();
        var (host, vm, devices) = Target();
        var hideMode = new Option<string?>("--hide-mode") { Description = "auto (default), dynamic, persist-with-reboot or dom0-access-api" };
        var allowReboot = new Option<bool>("--allow-host-reboot") { Description = "the saga may reboot the host (the reboot hide modes need it)" };
        var allowForce = new Option<bool>("--allow-forced-shutdown") { Description = "force the VM off when a clean shutdown misses its deadline" };
        var snapshot = new Option<string?>("--snapshot") { Description = "delete-on-success (default), keep or revert-on-failure" };
        var verifyTimeout = new Option<string?>("--verify-timeout") { Description = "how long the guest has to show the devices, e.g. 5m or 300s (default 5m)" };
        var allowPv = new Option<bool>("--allow-pv-without-iommu") { Description = "allow a PV guest without an IOMMU on Xen < 4.13 (the device can DMA anywhere)" };
        var siblings = new Option<bool>("--include-siblings") { Description = "add the other functions of each device instead of refusing" };
        var guestSsh = new Option<string?>("--guest-ssh") { Description = "verify over SSH instead of a guest agent: user@address[:port]" };
        var guestHostKey = new Option<string?>("--guest-host-key") { Description = "the guest's pinned host key, SHA256:… (with --guest-ssh)" };
        var (wait, interval) = WaitOptions();
        var command = new Command("assign", "Pass PCI devices through to a VM, as a saga that completes or rolls back (prints the saga id).");
        foreach (var option in new Option[] { host, vm, devices, hideMode, allowReboot, allowForce, snapshot, verifyTimeout, allowPv, siblings, guestSsh, guestHostKey, wait, interval, output })
        {
            command.Options.Add(option);
        }

        coordinator.AddTo(command);
        command.SetAction((parse, cancellationToken) => RunAsync(environment, async () =>
        {
            var body = new PassthroughRequestBody(
                SagaInput.Host(parse.GetValue(host)).ToString(),
                SagaInput.Vm(parse.GetValue(vm)).ToString(),
                [.. SagaInput.Devices(parse.GetValue(devices)).Select(d => d.ToString())],
                new PassthroughOptionsBody(
                    SagaInput.HideMode(parse.GetValue(hideMode)),
                    parse.GetValue(allowReboot) ? true : null,
                    parse.GetValue(allowForce) ? true : null,
                    SagaInput.Snapshot(parse.GetValue(snapshot)),
                    parse.GetValue(verifyTimeout) is { } timeout ? SagaInput.Duration("--verify-timeout", timeout).TotalSeconds : null,
                    parse.GetValue(allowPv) ? IommuPolicy.AllowPvWithoutIommu : null,
                    parse.GetValue(siblings) ? true : null,
                    SagaInput.GuestSsh(parse.GetValue(guestSsh), parse.GetValue(guestHostKey))),
                SagaInput.RequestedBy());
            var follow = FollowInterval(parse, wait, interval);
            using var client = coordinator.CreateClient(parse, environment);
            var accepted = await client.SubmitPassthroughAsync(body, cancellationToken);
            return await AfterSubmitAsync(environment, client, accepted, follow, parse.GetValue(output), cancellationToken);
        }));
        return command;
    }

    public static Command Release(CliEnvironment environment)
    {
        var coordinator = new CoordinatorOptions();
        var output = OutputOptions.Create();
        var (host, vm, devices) = Target();
        var allowForce = new Option<bool>("--allow-forced-shutdown") { Description = "force the VM off when a clean shutdown misses its deadline" };
        var noRestart = new Option<bool>("--no-restart") { Description = "leave the VM halted afterwards (default: start it again if it ran)" };
        var (wait, interval) = WaitOptions();
        var command = new Command("release", "Take PCI devices back from a VM and give them to dom0 again, as a saga (prints the saga id).");
        foreach (var option in new Option[] { host, vm, devices, allowForce, noRestart, wait, interval, output })
        {
            command.Options.Add(option);
        }

        coordinator.AddTo(command);
        command.SetAction((parse, cancellationToken) => RunAsync(environment, async () =>
        {
            var body = new ReleaseRequestBody(
                SagaInput.Host(parse.GetValue(host)).ToString(),
                SagaInput.Vm(parse.GetValue(vm)).ToString(),
                [.. SagaInput.Devices(parse.GetValue(devices)).Select(d => d.ToString())],
                parse.GetValue(allowForce) ? true : null,
                parse.GetValue(noRestart) ? false : null,
                SagaInput.RequestedBy());
            var follow = FollowInterval(parse, wait, interval);
            using var client = coordinator.CreateClient(parse, environment);
            var accepted = await client.SubmitReleaseAsync(body, cancellationToken);
            return await AfterSubmitAsync(environment, client, accepted, follow, parse.GetValue(output), cancellationToken);
        }));
        return command;
    }

    public static Command Status(CliEnvironment environment)
    {
        var coordinator = new CoordinatorOptions();
        var output = OutputOptions.Create();
        var id = new Argument<string?>("ID") { Description = "a saga id: show its details and step history (default: list recent sagas)", Arity = ArgumentArity.ZeroOrOne };
        var take = new Option<int>("--take") { Description = "how many recent sagas to list (1-500, default 20)", DefaultValueFactory = _ => 20 };
        var skip = new Option<int>("--skip") { Description = "how many of the newest sagas to skip (default 0)" };
        var command = new Command("status", "List recent sagas, or show one saga's steps, cause and what is left for an operator.");
        command.Arguments.Add(id);
        command.Options.Add(take);
        command.Options.Add(skip);
        command.Options.Add(output);
        coordinator.AddTo(command);
        command.SetAction((parse, cancellationToken) => RunAsync(environment, async () =>
        {
            var sagaId = parse.GetValue(id) is { } text ? SagaId(text) : (Guid?)null;
            var (takeValue, skipValue) = (parse.GetValue(take), parse.GetValue(skip));
            if (takeValue is < 1 or > 500)
            {
                throw new FormatException($"--take {takeValue} is outside 1-500.");
            }

            if (skipValue < 0)
            {
                throw new FormatException($"--skip {skipValue} is negative.");
            }

            using var client = coordinator.CreateClient(parse, environment);
            var json = parse.GetValue(output) == OutputFormat.Json;
            if (sagaId is { } one)
            {
                var saga = await client.GetSagaAsync(one, cancellationToken);
                WriteJsonOr(environment, json, saga, () => SagaText.WriteDetail(saga, environment.Out));
            }
            else
            {
                var page = await client.ListSagasAsync(skipValue, takeValue, cancellationToken);
                WriteJsonOr(environment, json, page, () => SagaText.WriteList(page, environment.Out));
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    public static Command Watch(CliEnvironment environment)
    {
        var coordinator = new CoordinatorOptions();
        var output = OutputOptions.Create();
        var id = new Argument<string>("ID") { Description = "the saga id (assign and release print it)" };
        var interval = IntervalOption();
        var command = new Command("watch", "Follow a saga live: each step as it starts and finishes, then the outcome (exit code 0, 20 rolled back, 21 rollback failed).");
        command.Arguments.Add(id);
        command.Options.Add(interval);
        command.Options.Add(output);
        coordinator.AddTo(command);
        command.SetAction((parse, cancellationToken) => RunAsync(environment, async () =>
        {
            var sagaId = SagaId(parse.GetValue(id));
            var every = SagaInput.Duration("--interval", parse.GetValue(interval)!);
            using var client = coordinator.CreateClient(parse, environment);
            return await FollowAsync(environment, client, sagaId, every, parse.GetValue(output) == OutputFormat.Json, cancellationToken);
        }));
        return command;
    }

    private static (Option<string> Host, Option<string> Vm, Option<string[]> Devices) Target() =>
        (new Option<string>("--host") { Description = "the host's uuid", Required = true },
         new Option<string>("--vm") { Description = "the VM's uuid", Required = true },
         new Option<string[]>("--device", "-d") { Description = "a PCI function, 0000:03:00.0 or 03:00.0 (repeatable)", Required = true, AllowMultipleArgumentsPerToken = true });

    private static (Option<bool> Wait, Option<string> Interval) WaitOptions() =>
        (new Option<bool>("--wait", "-w") { Description = "follow the saga like 'watch' and exit with its outcome's code" }, IntervalOption());

    private static Option<string> IntervalOption() => new("--interval")
    {
        Description = "how often to ask the coordinator, e.g. 250ms or 1s (default 250ms)",
        DefaultValueFactory = _ => "250ms",
    };

    private static TimeSpan? FollowInterval(ParseResult parse, Option<bool> wait, Option<string> interval) =>
        parse.GetValue(wait) ? SagaInput.Duration("--interval", parse.GetValue(interval)!) : null;

    private static Guid SagaId(string? text) =>
        Guid.TryParse(text, out var id) ? id : throw new FormatException($"Saga id '{text}' is not a GUID (assign and release print it).");

    private static async Task<int> AfterSubmitAsync(
        CliEnvironment environment, CoordinatorClient client, SagaAccepted accepted, TimeSpan? follow, OutputFormat output, CancellationToken cancellationToken)
    {
        var json = output == OutputFormat.Json;
        if (follow is not { } every)
        {
            WriteJsonOr(environment, json, accepted, () => environment.Out.WriteLine(accepted.Id.ToString("D")));
            return ExitCodes.Ok;
        }

        if (!json)
        {
            await environment.Out.WriteLineAsync($"{accepted.Kind} saga {accepted.Id:D} accepted; following it (Ctrl+C stops following, not the saga)");
        }

        return await FollowAsync(environment, client, accepted.Id, every, json, cancellationToken);
    }

    private static async Task<int> FollowAsync(CliEnvironment environment, CoordinatorClient client, Guid id, TimeSpan every, bool json, CancellationToken cancellationToken)
    {
        var follower = new SagaFollower(client, environment.Time, every);
        // JSON prints one document, the finished saga, so that the output parses; progress lines are for people.
        var saga = await follower.FollowAsync(id, json ? null : environment.Out, cancellationToken);
        if (json)
        {
            await environment.Out.WriteLineAsync(JsonSerializer.Serialize(saga, OutputOptions.Json));
        }

        return SagaFollower.ExitCode(saga);
    }

    private static void WriteJsonOr<T>(CliEnvironment environment, bool json, T value, Action text)
    {
        if (json)
        {
            environment.Out.WriteLine(JsonSerializer.Serialize(value, OutputOptions.Json));
        }
        else
        {
            text();
        }
    }

    private static async Task<int> RunAsync(CliEnvironment environment, Func<Task<int>> action)
    {
        try
        {
            return await action();
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            return await Failures.ReportAsync(exception, environment.Error);
        }
    }
}

using System.CommandLine;
using System.Text.Json;
using Passthrough.Cli.Output;
using Passthrough.Guest;
using Passthrough.Shell;

namespace Passthrough.Cli.Commands;

/// <summary>
/// <c>passthrough guest probe</c>: what a guest sees (Xen, guest type, kernel, pcifront, PCI devices, advisories) and,
/// with <c>--expect</c>, whether each expected device is present and bound. Exit codes: 0 probed (and verified when
/// expectations were given), <see cref="ExitCodes.NotVerified"/>, <see cref="ExitCodes.CouldNotProbe"/>,
/// <see cref="ExitCodes.Usage"/>.
/// </summary>
internal static class GuestProbeCommand
{
    public static Command Build(CliEnvironment environment)
    {
        var target = new TargetOptions();
        var output = OutputOptions.Create();
        var root = new Option<string?>("--root")
        {
            Description = "for a local Linux target: read this directory as the guest's / (default /)",
        };
        var expect = new Option<string[]>("--expect", "-e")
        {
            Description = "an expected device, VENDOR:DEVICE[/SUBVENDOR:SUBDEVICE][=DRIVER] (repeatable); matched by ids, never by BDF",
            AllowMultipleArgumentsPerToken = true,
        };
        var command = new Command("probe", "Probe a guest (this machine, or a Linux guest over SSH without an agent) and verify expected devices.");
        target.AddTo(command);
        command.Options.Add(root);
        command.Options.Add(expect);
        command.Options.Add(output);
        command.SetAction(async (parse, cancellationToken) =>
        {
            try
            {
                var parsed = target.Parse(parse);
                var expected = (parse.GetValue(expect) ?? []).Select(ExpectedDeviceText.Parse).ToList();
                var rootPath = parse.GetValue(root);
                if (rootPath is not null && (parsed is not LocalTarget || OperatingSystem.IsWindows()))
                {
                    throw new FormatException("--root applies only to a local Linux target.");
                }

                await using var runner = environment.Runners(parsed);
                var probe = parsed switch
                {
                    LocalTarget when OperatingSystem.IsWindows() => (IGuestProbe)new WindowsGuestProbe(runner),
                    LocalTarget => new LinuxGuestProbe(new LocalGuestFileSystem(Path.GetFullPath(rootPath ?? "/"), runner)),
                    _ => new LinuxGuestProbe(new RemoteGuestFileSystem(runner)),
                };
                var report = await probe.ProbeAsync(cancellationToken);
                var verdict = expected.Count > 0 ? GuestVerification.Build(report, expected) : null;
                var view = GuestProbeView.From(parsed.ToString(), parsed is LocalTarget && !OperatingSystem.IsWindows() ? Path.GetFullPath(rootPath ?? "/") : null, report, verdict);
                if (parse.GetValue(output) == OutputFormat.Json)
                {
                    await environment.Out.WriteLineAsync(JsonSerializer.Serialize(view, OutputOptions.Json));
                }
                else
                {
                    WriteText(view, environment.Out);
                }

                return verdict is { Verified: false } ? ExitCodes.NotVerified : ExitCodes.Ok;
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                return await Failures.ReportAsync(exception, environment.Error);
            }
        });
        return command;
    }

    private static void WriteText(GuestProbeView view, TextWriter writer)
    {
        writer.WriteLine($"Target      {view.Target}{(view.Root is { } root ? $" (root {root})" : string.Empty)}");
        writer.WriteLine($"OS          {view.Os}, kernel {view.KernelRelease}, boot id {view.BootId ?? "unknown"}");
        writer.WriteLine($"Xen         {(view.IsXen ? "yes" : "no")}, guest type {view.GuestType}{(view.GuestTypeSource is { } source ? $" ({source})" : string.Empty)}");
        var pcifront = view.Pcifront;
        writer.WriteLine($"pcifront    {pcifront.State} (module {pcifront.Module}, driver {(pcifront.DriverRegistered ? "registered" : "not registered")}, pci-0 {(pcifront.FrontendDevice ? "present" : "absent")})");
        writer.WriteLine();
        var table = new TextTable("BDF", "VENDOR:DEVICE", "SUBSYSTEM", "CLASS", "DRIVER");
        foreach (var device in view.Devices)
        {
            table.AddRow(device.Bdf, device.VendorDevice, device.Subsystem ?? "-", $"{device.ClassCode} {device.ClassName}", device.Driver ?? "-");
        }

        table.WriteTo(writer);
        if (view.KernelLog.Count > 0)
        {
            writer.WriteLine();
            writer.WriteLine("Kernel log (pcifront)");
            foreach (var line in view.KernelLog)
            {
                writer.WriteLine($"  {line}");
            }
        }

        foreach (var advisory in view.Advisories)
        {
            writer.WriteLine($"advisory: {advisory}");
        }

        if (view.Verification is not { } verification)
        {
            return;
        }

        writer.WriteLine();
        var expected = new TextTable("EXPECTED", "PRESENT", "AT", "BOUND", "DRIVER OK");
        foreach (var device in verification.Devices)
        {
            expected.AddRow(device.Expected, YesNo(device.Present), device.Bdf ?? "-", device.BoundDriver ?? (device.Present ? "no" : "-"), YesNo(device.DriverOk));
        }

        expected.WriteTo(writer);
        writer.WriteLine();
        writer.WriteLine($"Verdict     {(verification.Verified ? "verified" : "NOT verified")}");
        foreach (var problem in verification.Problems)
        {
            writer.WriteLine($"problem: {problem.Cause}: {problem.Message}{(problem.FixHint is { } hint ? $" (fix: {hint})" : string.Empty)}");
        }
    }

    private static string YesNo(bool value) => value ? "yes" : "no";
}

/// <summary>The probe as printed: the same fields in the text output and in JSON.</summary>
internal sealed record GuestProbeView(
    string Target,
    string? Root,
    string Os,
    bool IsXen,
    string GuestType,
    string? GuestTypeSource,
    string KernelRelease,
    string? BootId,
    PcifrontView Pcifront,
    IReadOnlyList<GuestDeviceView> Devices,
    IReadOnlyList<string> KernelLog,
    IReadOnlyList<string> Advisories,
    VerificationView? Verification)
{
    public static GuestProbeView From(string target, string? root, GuestReport report, GuestVerdict? verdict)
    {
        ArgumentNullException.ThrowIfNull(report);
        return new GuestProbeView(
            target,
            root,
            report.Os.ToString(),
            report.IsXen,
            report.GuestType.ToString(),
            report.GuestTypeSource,
            report.KernelRelease,
            report.BootId,
            new PcifrontView(report.Pcifront.State.ToString(), report.Pcifront.Module.ToString(), report.Pcifront.DriverRegistered, report.Pcifront.FrontendDevice),
            [.. report.Devices.Select(d => new GuestDeviceView(d.Address.ToString(), d.Id.ToString(), d.Subsystem?.ToString(), d.Class.ToString(), d.Class.Describe(), d.Driver))],
            report.KernelLog,
            report.Advisories,
            verdict is null
                ? null
                : new VerificationView(
                    verdict.Verified,
                    [.. verdict.Devices.Select(m => new ExpectedDeviceView(
                        ExpectedDeviceText.Format(m.Expected),
                        m.Present,
                        m.Device?.Address.ToString(),
                        m.Bound,
                        m.Device?.Driver,
                        m.DriverOk))],
                    [.. verdict.Problems.Select(p => new ProblemView(p.Cause.ToString(), p.Message, p.OriginalText, p.FixHint))]));
    }
}

internal sealed record PcifrontView(string State, string Module, bool DriverRegistered, bool FrontendDevice);

internal sealed record GuestDeviceView(string Bdf, string VendorDevice, string? Subsystem, string ClassCode, string ClassName, string? Driver);

internal sealed record VerificationView(bool Verified, IReadOnlyList<ExpectedDeviceView> Devices, IReadOnlyList<ProblemView> Problems);

internal sealed record ExpectedDeviceView(string Expected, bool Present, string? Bdf, bool Bound, string? BoundDriver, bool DriverOk);

internal sealed record ProblemView(string Cause, string Message, string? OriginalText, string? FixHint);

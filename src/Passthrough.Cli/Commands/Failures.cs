using System.Net;
using Passthrough.Cli.Coordinator;
using Passthrough.Contracts.Messaging;
using Passthrough.Guest;
using Passthrough.Shell;
using Passthrough.Xen;

namespace Passthrough.Cli.Commands;

/// <summary>Turns a failure into one clear line on stderr and a distinct exit code.</summary>
internal static class Failures
{
    public static async Task<int> ReportAsync(Exception exception, TextWriter error)
    {
        var (code, line, hint) = exception switch
        {
            CoordinatorApiException api => (Classify(api.Status), Describe(api), null),
            CoordinatorUnreachableException => (ExitCodes.Unreachable, exception.Message, null),
            GuestProbeException probe => (ExitCodes.CouldNotProbe, $"could not probe the guest{(probe.Cause == FailureCause.Unknown ? string.Empty : $" ({probe.Cause})")}: {probe.Message}", null),
            FormatException or ArgumentException => (ExitCodes.Usage, exception.Message, null),
            Dom0Exception dom0 => (Classify(dom0.Cause), dom0.Failure.Message, dom0.Failure.FixHint),
            HostKeyMismatchException => (ExitCodes.HostKeyMismatch, exception.Message, null),
            AuthenticationFailedException => (ExitCodes.AuthenticationFailed, exception.Message, null),
            CommandTimeoutException => (ExitCodes.Timeout, exception.Message, null),
            ConnectionRefusedException or ConnectionLostException => (ExitCodes.Unreachable, exception.Message, null),
            CommandException => (ExitCodes.Toolstack, exception.Message, null),
            _ => (ExitCodes.Failure, $"{exception.GetType().Name}: {exception.Message}", (string?)null),
        };
        await error.WriteLineAsync($"error: {OneLine(line)}");
        // Reaching the host is one line (the issue's rule for unreachable hosts, bad keys, malformed targets); a
        // toolstack error also gets its fix hint, since the original text alone rarely says what to do.
        if (hint is not null && code == ExitCodes.Toolstack)
        {
            await error.WriteLineAsync($"hint: {OneLine(hint)}");
        }

        return code;
    }

    private static int Classify(HttpStatusCode status) => status switch
    {
        HttpStatusCode.BadRequest => ExitCodes.Usage,
        HttpStatusCode.Conflict => ExitCodes.Conflict,
        HttpStatusCode.NotFound => ExitCodes.NotFound,
        _ => ExitCodes.Failure,
    };

    // The coordinator's own words, then what it points at: the field it refused, or the saga that holds the resource
    // (with the command that shows it), so the operator knows what to fix or what to wait for.
    private static string Describe(CoordinatorApiException api)
    {
        var error = api.Error;
        var text = $"coordinator refused ({(int)api.Status}): {error.Error}";
        if (error.Field is { } field)
        {
            text += $" [field: {field}]";
        }

        if (error.HeldBy is { } holder)
        {
            text += $" [held by saga {holder:D}{(error.Resource is { } resource ? $", {resource}" : string.Empty)}; see: passthrough status {holder:D}]";
        }

        return text;
    }

    private static int Classify(FailureCause cause) => cause switch
    {
        FailureCause.HostUnreachable => ExitCodes.Unreachable,
        FailureCause.HostKeyMismatch => ExitCodes.HostKeyMismatch,
        FailureCause.AuthenticationFailed => ExitCodes.AuthenticationFailed,
        FailureCause.Timeout => ExitCodes.Timeout,
        FailureCause.InvalidInput => ExitCodes.Usage,
        _ => ExitCodes.Toolstack,
    };

    private static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();
}

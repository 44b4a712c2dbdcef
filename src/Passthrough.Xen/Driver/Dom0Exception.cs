using Passthrough.Contracts.Messaging;
using Passthrough.Shell;
using Passthrough.Xen.Parsing;

namespace Passthrough.Xen;

/// <summary>
/// A dom0 operation failed. <see cref="Failure"/> carries the classified cause, the toolstack's original text and a fix
/// hint. The driver throws it only after undoing whatever the failed operation itself had changed.
/// </summary>
public sealed class Dom0Exception : Exception
{
    public Dom0Exception(Failure failure, Exception? inner = null)
        : base(failure?.Message, inner)
    {
        Failure = failure ?? throw new ArgumentNullException(nameof(failure));
    }

    /// <summary>What failed, why, and what to do.</summary>
    public Failure Failure { get; }

    /// <summary>The classified cause.</summary>
    public FailureCause Cause => Failure.Cause;

    /// <summary>Builds the failure for a command that ran and exited non-zero: its text classified by <see cref="ToolstackError"/>.</summary>
    public static Dom0Exception FromCommand(string what, CommandFailedException failed)
    {
        ArgumentNullException.ThrowIfNull(failed);
        var text = (failed.StandardError.Trim().Length > 0 ? failed.StandardError : failed.Result.StandardOutput).Trim();
        var classified = ToolstackError.Classify(text);
        var cause = Map(classified.Cause);
        return new Dom0Exception(
            new Failure(cause == FailureCause.Unknown ? FailureCause.CommandFailed : cause, $"{what} failed on {failed.Target}: {FirstLine(text)}", text,
                classified.Cause == ToolstackErrorCause.Unknown ? null : classified.FixHint),
            failed);
    }

    /// <summary>Builds the failure for a command that could not run at all (host unreachable, timeout, key mismatch…).</summary>
    public static Dom0Exception FromTransport(string what, CommandException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        if (exception is CommandFailedException failed)
        {
            return FromCommand(what, failed);
        }

        var (cause, hint) = exception switch
        {
            CommandTimeoutException => (FailureCause.Timeout, "The host did not answer in time; check it is responsive (`uptime`, `xe host-list`) and retry."),
            HostKeyMismatchException => (FailureCause.HostKeyMismatch, "Verify the host's key out of band (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on the host) and pin the new fingerprint."),
            AuthenticationFailedException => (FailureCause.AuthenticationFailed, "Check the identity file and that its public key is in the host's authorized_keys."),
            ProgramNotFoundException => (FailureCause.CommandFailed, "The program is missing on the host: is this a XenServer / XCP-ng dom0?"),
            _ => (FailureCause.HostUnreachable, "Check the host is up and sshd listens on the configured port."),
        };

        // The transport's own words (timeout, reset, refused) are the original text: there is no toolstack text.
        return new Dom0Exception(new Failure(cause, $"{what}: {exception.Message}", exception.Message, hint), exception);
    }

    /// <summary>Builds the failure for a command that ran but printed something the driver cannot read.</summary>
    public static Dom0Exception FromUnreadableOutput(string what, CommandTarget target, XenParseException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return new Dom0Exception(
            new Failure(FailureCause.CommandFailed, $"{what} on {target}: unexpected output: {exception.Message}", exception.Message,
                "The host answered in a format this driver does not know; report it with the original text."),
            exception);
    }

    internal static FailureCause Map(ToolstackErrorCause cause) => cause switch
    {
        ToolstackErrorCause.IommuOff => FailureCause.IommuOff,
        ToolstackErrorCause.Rmrr => FailureCause.Rmrr,
        ToolstackErrorCause.DeviceCannotBeAdded => FailureCause.DeviceCannotBeAdded,
        ToolstackErrorCause.PcibackNotLoaded => FailureCause.PcibackNotLoaded,
        ToolstackErrorCause.HostNotDisabled => FailureCause.HostNotDisabled,
        ToolstackErrorCause.VmHasPciAttached => FailureCause.VmHasPciAttached,
        ToolstackErrorCause.BootDevice => FailureCause.BootDevice,
        ToolstackErrorCause.MalformedHideList => FailureCause.MalformedHideList,
        ToolstackErrorCause.ToolstackInitialising => FailureCause.ToolstackInitialising,
        ToolstackErrorCause.ConnectionRefused => FailureCause.HostUnreachable,
        ToolstackErrorCause.HostInUse => FailureCause.HostInUse,
        ToolstackErrorCause.VmPciBusFull => FailureCause.VmPciBusFull,
        ToolstackErrorCause.FlrTimeout => FailureCause.FlrTimeout,
        ToolstackErrorCause.NoFlr => FailureCause.DeviceBindFailed,
        _ => FailureCause.Unknown,
    };

    private static string FirstLine(string text)
    {
        var line = text.Split('\n', 2)[0].Trim();
        return line.Length == 0 ? "(no output)" : line;
    }
}

using System.Globalization;
using System.Text.RegularExpressions;
using Passthrough.Contracts.CoordinatorCommands;
using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Messaging;
using Passthrough.Contracts.Pci;
using Passthrough.Shell;

namespace Passthrough.Cli.Commands;

/// <summary>
/// Checks the inputs of <c>assign</c> / <c>release</c> before anything is sent, with the same value types the coordinator
/// uses, so a typo costs no round trip and the message names the option and the value. Every parser throws
/// <see cref="FormatException"/> (exit code <see cref="ExitCodes.Usage"/>).
/// </summary>
internal static partial class SagaInput
{
    public static HostId Host(string? text) =>
        HostId.TryParse(text, out var id, out var error) ? id : throw new FormatException($"--host '{Show(text)}': {error}");

    public static VmId Vm(string? text) =>
        VmId.TryParse(text, out var id, out var error) ? id : throw new FormatException($"--vm '{Show(text)}': {error}");

    public static IReadOnlyList<PciAddress> Devices(IReadOnlyList<string>? texts)
    {
        if (texts is null || texts.Count == 0)
        {
            throw new FormatException("--device is required: give each PCI function as a BDF, e.g. --device 0000:03:00.0.");
        }

        var devices = new List<PciAddress>();
        foreach (var text in texts)
        {
            if (!PciAddress.TryParse(text, out var address, out var error))
            {
                throw new FormatException($"--device '{Show(text)}': {error}");
            }

            if (devices.Contains(address))
            {
                throw new FormatException($"--device {address} is given twice.");
            }

            devices.Add(address);
        }

        return devices;
    }

    public static HideMode? HideMode(string? text) => text switch
    {
        null => null,
        "auto" => Contracts.Messaging.HideMode.Auto,
        "dynamic" => Contracts.Messaging.HideMode.Dynamic,
        "persist-with-reboot" => Contracts.Messaging.HideMode.PersistWithReboot,
        "dom0-access-api" => Contracts.Messaging.HideMode.Dom0AccessApi,
        _ => throw new FormatException($"--hide-mode '{Show(text)}' is not one of auto, dynamic, persist-with-reboot, dom0-access-api."),
    };

    public static SnapshotPolicy? Snapshot(string? text) => text switch
    {
        null => null,
        "delete-on-success" => SnapshotPolicy.DeleteOnSuccess,
        "keep" => SnapshotPolicy.Keep,
        "revert-on-failure" => SnapshotPolicy.RevertOnFailure,
        _ => throw new FormatException($"--snapshot '{Show(text)}' is not one of delete-on-success, keep, revert-on-failure."),
    };

    /// <summary>A duration written <c>250ms</c>, <c>300s</c>, <c>5m</c> or <c>1h</c> (a number and a unit), positive.</summary>
    public static TimeSpan Duration(string option, string text)
    {
        var match = DurationPattern().Match(text.Trim());
        if (!match.Success || !double.TryParse(match.Groups["n"].Value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value))
        {
            throw new FormatException($"{option} '{Show(text)}' is not a duration such as 250ms, 300s, 5m or 1h.");
        }

        var duration = match.Groups["unit"].Value switch
        {
            "ms" => TimeSpan.FromMilliseconds(value),
            "s" => TimeSpan.FromSeconds(value),
            "m" => TimeSpan.FromMinutes(value),
            _ => TimeSpan.FromHours(value),
        };
        if (duration <= TimeSpan.Zero || duration > TimeSpan.FromDays(1))
        {
            throw new FormatException($"{option} '{Show(text)}' must be more than zero and at most a day.");
        }

        return duration;
    }

    /// <summary>
    /// <c>user@address[:port]</c> (IPv6 in brackets) and its pinned host key, for agentless verification: the host agent
    /// connects with its own guest identity, so only the address, user, port and key are checked here, by the same rules
    /// the SSH runner applies.
    /// </summary>
    public static GuestSshTarget? GuestSsh(string? target, string? hostKey)
    {
        if (target is null)
        {
            return hostKey is null ? null : throw new FormatException("--guest-host-key needs --guest-ssh user@address[:port].");
        }

        if (hostKey is null)
        {
            throw new FormatException($"--guest-ssh '{Show(target)}' needs --guest-host-key SHA256:… (the guest's pinned host key); unpinned host keys are refused.");
        }

        try
        {
            // The identity placeholder only satisfies the parser: the CLI never connects, the host agent does with its own key.
            var parsed = SshTarget.Parse("ssh://" + target, identityFile: "(host agent's guest identity)", hostKey);
            return new GuestSshTarget(parsed.Host, parsed.Port, parsed.User, parsed.HostKeyFingerprint);
        }
        catch (FormatException exception)
        {
            throw new FormatException($"--guest-ssh '{Show(target)}': {exception.Message}", exception);
        }
    }

    /// <summary>Who asks, for the saga's record: the login and machine.</summary>
    public static string RequestedBy() => $"{Environment.UserName}@{Environment.MachineName} (passthrough CLI)";

    private static string Show(string? value) => value is null ? string.Empty : value.Length > 80 ? value[..80] + "…" : value;

    [GeneratedRegex(@"^(?<n>[0-9]+(?:\.[0-9]+)?)(?<unit>ms|s|m|h)$")]
    private static partial Regex DurationPattern();
}

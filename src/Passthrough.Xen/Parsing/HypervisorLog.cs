using System.Globalization;
using System.Text.RegularExpressions;
using Passthrough.Contracts.Pci;

namespace Passthrough.Xen.Parsing;

/// <summary>
/// Xen refused to assign a function because it shares a Reserved Memory Region (RMRR) with another device:
/// <c>[VT-D] It's disallowed to assign 0000:08:00.0 with shared RMRR at 7ba77000 for Dom32753.</c>
/// </summary>
/// <param name="Device">The function Xen refused.</param>
/// <param name="RmrrAddress">The base address of the shared RMRR.</param>
/// <param name="Domain">The target domain as Xen printed it (<c>Dom32753</c>, <c>d32753</c>, <c>d[IO]</c>; 32753 is DOMID_IO, i.e. pciback's quarantine).</param>
/// <param name="Line">The log line, as read.</param>
public sealed record RmrrConflict(PciAddress Device, ulong RmrrAddress, string Domain, string Line);

/// <summary>Xen reported a failed assignment: <c>d[IO]: assign (0000:08:00.0) failed (-1)</c>.</summary>
/// <param name="Device">The function.</param>
/// <param name="ErrorCode">The (negative errno) code Xen printed.</param>
/// <param name="Line">The log line, as read.</param>
public sealed record AssignFailure(PciAddress Device, int ErrorCode, string Line);

/// <summary>
/// Finds passthrough refusals in <c>/var/log/xen/hypervisor.log</c> or <c>xl dmesg</c>. Lines may carry prefixes
/// (<c>[2020-08-22 10:09:03] (XEN) [  297.542134] </c>); matching ignores them. Lines that do not match are not errors:
/// the log is mostly about other things.
/// </summary>
public static partial class HypervisorLog
{
    /// <summary>Every RMRR refusal in <paramref name="text"/>, in log order.</summary>
    public static IReadOnlyList<RmrrConflict> FindRmrrConflicts(string text)
    {
        var conflicts = new List<RmrrConflict>();
        foreach (var line in OutputText.Lines(text))
        {
            var match = RmrrLine().Match(line);
            if (match.Success && PciAddress.TryParse(match.Groups["bdf"].Value, out var device, out _))
            {
                conflicts.Add(new RmrrConflict(
                    device,
                    ulong.Parse(match.Groups["rmrr"].Value, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture),
                    match.Groups["domain"].Value,
                    line));
            }
        }

        return conflicts.AsReadOnly();
    }

    /// <summary>Every failed assignment in <paramref name="text"/>, in log order.</summary>
    public static IReadOnlyList<AssignFailure> FindAssignFailures(string text)
    {
        var failures = new List<AssignFailure>();
        foreach (var line in OutputText.Lines(text))
        {
            var match = AssignFailedLine().Match(line);
            if (match.Success && PciAddress.TryParse(match.Groups["bdf"].Value, out var device, out _) &&
                int.TryParse(match.Groups["code"].Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var code))
            {
                failures.Add(new AssignFailure(device, code, line));
            }
        }

        return failures.AsReadOnly();
    }

    // Xen prints the address as "%04x:%02x:%02x.%u", the RMRR base as PRIx64 and the domain as "Dom%d" (older) or "%pd".
    [GeneratedRegex(
        @"It's disallowed to assign (?<bdf>[0-9A-Fa-f]{4}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-7]) with shared RMRR at (?:0x)?(?<rmrr>[0-9A-Fa-f]{1,16}) for (?<domain>[^\s.]+)",
        RegexOptions.CultureInvariant)]
    private static partial Regex RmrrLine();

    // "d[IO]: assign (0000:08:00.0) failed (-1)" (Xen ≥ 4.x with %pd/%pp) or "assign 0000:08:00.0 to dom1 failed (-1)".
    [GeneratedRegex(
        @"assign \(?(?<bdf>[0-9A-Fa-f]{4}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-7])\)?(?: to \S+)? failed \((?<code>-?\d+)\)",
        RegexOptions.CultureInvariant)]
    private static partial Regex AssignFailedLine();
}

using System.Text.RegularExpressions;
using Passthrough.Contracts.Pci;

namespace Passthrough.Guest;

/// <summary>What a PV guest's kernel log says about the PCI frontend.</summary>
/// <param name="FrontendInstalled">True when <c>pcifront pci-N: Installing PCI frontend</c> appears.</param>
/// <param name="FrontendBuses">Buses the frontend created (<c>Creating PCI Frontend Bus 0000:00</c> → <c>0000:00</c>), in order.</param>
/// <param name="EnabledDevices">Functions the guest kernel enabled (<c>PCI: Enabling device 0000:00:00.2</c>), in order, without duplicates.</param>
public sealed record PcifrontEvidence(bool FrontendInstalled, IReadOnlyList<string> FrontendBuses, IReadOnlyList<PciAddress> EnabledDevices);

/// <summary>
/// Reads a PV guest's <c>dmesg</c> for proof that <c>xen-pcifront</c> is working. In vpci mode the guest sees the
/// passed-through function at its own address (<c>0000:00:00.0</c>), never the host BDF: match devices by vendor:device
/// id, not by these addresses. Timestamps (<c>[    0.199048] </c>) are ignored; unrelated lines are not errors.
/// </summary>
/// <remarks>Moved here from Passthrough.Xen: the guest side is its only user, and this assembly must stay AOT-safe on its own.</remarks>
public static partial class PcifrontDmesg
{
    /// <summary>Collects the evidence in <paramref name="text"/>.</summary>
    public static PcifrontEvidence Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var installed = false;
        var buses = new List<string>();
        var enabled = new List<PciAddress>();
        foreach (var line in TextLines.Split(text))
        {
            if (line.Contains("pcifront", StringComparison.Ordinal) && line.Contains("Installing PCI frontend", StringComparison.Ordinal))
            {
                installed = true;
            }

            var bus = FrontendBus().Match(line);
            if (bus.Success && !buses.Contains(bus.Groups["bus"].Value, StringComparer.Ordinal))
            {
                buses.Add(bus.Groups["bus"].Value);
            }

            var enabling = EnablingDevice().Match(line);
            if (enabling.Success && PciAddress.TryParse(enabling.Groups["bdf"].Value, out var address, out _) && !enabled.Contains(address))
            {
                enabled.Add(address);
            }
        }

        return new PcifrontEvidence(installed, buses.AsReadOnly(), enabled.AsReadOnly());
    }

    /// <summary>
    /// The lines of a kernel log that concern the PCI frontend: those naming <c>pcifront</c> or the <c>PCI frontend</c>
    /// (any case; the stub and "System does not support PCI" lines included, as they explain an empty bus) and
    /// <c>PCI: Enabling device</c> lines. In log order, line terminators removed.
    /// </summary>
    public static IReadOnlyList<string> SelectLines(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return [.. TextLines.Split(text).Where(IsRelevant)];
    }

    private static bool IsRelevant(string line) =>
        line.Contains("pcifront", StringComparison.OrdinalIgnoreCase) ||
        line.Contains("PCI frontend", StringComparison.OrdinalIgnoreCase) ||
        line.Contains("PCI: System does not support PCI", StringComparison.Ordinal) ||
        EnablingDevice().IsMatch(line);

    [GeneratedRegex(@"Creating PCI Frontend Bus (?<bus>[0-9A-Fa-f]{4}:[0-9A-Fa-f]{2})\b", RegexOptions.CultureInvariant)]
    private static partial Regex FrontendBus();

    [GeneratedRegex(@"PCI: Enabling device (?<bdf>[0-9A-Fa-f]{4}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-7])\b", RegexOptions.CultureInvariant)]
    private static partial Regex EnablingDevice();
}

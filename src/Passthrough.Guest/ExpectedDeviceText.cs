using System.Text.RegularExpressions;
using Passthrough.Contracts;
using Passthrough.Contracts.Messaging;
using Passthrough.Contracts.Pci;

namespace Passthrough.Guest;

/// <summary>
/// The text form of an <see cref="ExpectedDevice"/>, for the CLI's <c>--expect</c> and configuration files:
/// <c>VENDOR:DEVICE[/SUBVENDOR:SUBDEVICE][=DRIVER]</c>, e.g. <c>8086:1e31</c>, <c>10de:1b81/10de:11bf=nvidia</c>,
/// <c>1033:0194=xhci_hcd</c>.
/// </summary>
public static partial class ExpectedDeviceText
{
    /// <summary>Parses the text form.</summary>
    /// <exception cref="FormatException">Malformed; the message quotes the input and shows the form.</exception>
    public static ExpectedDevice Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var match = Pattern().Match(text.Trim());
        if (!match.Success)
        {
            throw new FormatException(
                $"{InputText.Quote(text)} is not an expected device: use VENDOR:DEVICE[/SUBVENDOR:SUBDEVICE][=DRIVER], e.g. 10de:1b81 or 8086:1e31=xhci_hcd.");
        }

        var id = PciDeviceId.Parse(match.Groups["id"].Value);
        PciDeviceId? subsystem = match.Groups["sub"].Success ? PciDeviceId.Parse(match.Groups["sub"].Value) : null;
        var driver = match.Groups["driver"].Success ? match.Groups["driver"].Value : null;
        return new ExpectedDevice(id, subsystem, driver);
    }

    /// <summary>The text form of <paramref name="device"/>.</summary>
    public static string Format(ExpectedDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return device.Id +
               (device.Subsystem is { } subsystem ? "/" + subsystem : string.Empty) +
               (device.Driver is { } driver ? "=" + driver : string.Empty);
    }

    [GeneratedRegex(@"\A(?<id>[0-9A-Fa-f]{4}:[0-9A-Fa-f]{4})(?:/(?<sub>[0-9A-Fa-f]{4}:[0-9A-Fa-f]{4}))?(?:=(?<driver>[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}))?\z", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}

using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Passthrough.Contracts.Messaging;
using Passthrough.Contracts.Pci;

namespace Passthrough.Guest;

/// <summary>A PnP device status as <c>Get-PnpDevice</c> prints it.</summary>
public enum PnpStatus
{
    /// <summary><c>Unknown</c>, empty, or a value this parser does not know.</summary>
    Unknown = 0,

    /// <summary><c>OK</c>: started with its driver.</summary>
    Ok,

    /// <summary><c>Error</c>: a problem code (no driver, failed to start, resources…).</summary>
    Error,

    /// <summary><c>Degraded</c>.</summary>
    Degraded,
}

/// <summary>One PCI function as Windows PnP describes it.</summary>
/// <param name="InstanceId">The PnP instance id, <c>PCI\VEN_10DE&amp;DEV_1B81&amp;SUBSYS_…&amp;REV_A1\4&amp;…</c>.</param>
/// <param name="Id">Vendor:device from <c>VEN_</c>/<c>DEV_</c>.</param>
/// <param name="Subsystem">From <c>SUBSYS_ddddvvvv</c> (subsystem device first, then subsystem vendor), when present.</param>
/// <param name="Revision">From <c>REV_xx</c>, when present.</param>
/// <param name="Status">The PnP status.</param>
/// <param name="PnpClass">The setup class name (<c>USB</c>, <c>Display</c>, <c>Net</c>), when given.</param>
/// <param name="FriendlyName">The display name, when given.</param>
/// <param name="ClassCode">The PCI class code from a <c>CC_xxxxxx</c> compatible id, else guessed from the setup class, else null.</param>
/// <param name="Service">The function driver's service name (<c>USBXHCI</c>, <c>nvlddmkm</c>), when given.</param>
/// <param name="Location">The address from <c>PCI bus B, device D, function F</c>, when given.</param>
public sealed record WindowsPnpDevice(
    string InstanceId,
    PciDeviceId Id,
    PciDeviceId? Subsystem,
    byte? Revision,
    PnpStatus Status,
    string? PnpClass,
    string? FriendlyName,
    PciClass? ClassCode,
    string? Service,
    PciAddress? Location)
{
    /// <summary>What a started device shows as its driver when the capture has no Service column.</summary>
    public const string StartedWithoutServiceName = "(started)";

    /// <summary>
    /// The device as the matcher sees it: the address from <see cref="Location"/> (else <c>0000:00:00.0</c>; Windows
    /// devices are matched by id anyway), class <c>ff0000</c> when unknown, and as driver the service name while the
    /// status is OK (<see cref="StartedWithoutServiceName"/> when the capture lacks it), none otherwise.
    /// </summary>
    public GuestPciDevice ToGuestDevice() => new(
        Location ?? default,
        Id,
        Subsystem,
        ClassCode ?? PciClass.Create(0xff, 0x00),
        Status == PnpStatus.Ok ? (string.IsNullOrWhiteSpace(Service) ? StartedWithoutServiceName : Service) : null);
}

/// <summary>
/// Parses the CSV that <c>Get-PnpDevice -PresentOnly | Where-Object InstanceId -like 'PCI\*' | Select-Object
/// InstanceId,Status,Class,FriendlyName[,CompatibleIds,Service,Location] | ConvertTo-Csv -NoTypeInformation</c> prints
/// (Windows PowerShell 5.1 and PowerShell 7 alike). CSV rather than <c>ConvertTo-Json</c>: JSON turns a single device
/// into an object instead of an array on 5.1, and CSV is one flat, stable row per device. Columns are found by header
/// name (any order, any case); extra columns are ignored; a <c>#TYPE</c> line (without -NoTypeInformation) is skipped.
/// Rows that are not PCI instance ids are skipped, and so are Xen's own devices (vendor 5853) unless asked for.
/// </summary>
public static partial class WindowsPnpParser
{
    /// <summary>Parses the CSV; throws only when it has no InstanceId/Status header.</summary>
    /// <param name="csv">The captured output.</param>
    /// <param name="includeXenPlatform">Keep vendor 5853 devices (used to tell that Windows runs on Xen); default false.</param>
    /// <exception cref="FormatException">No header with InstanceId and Status columns.</exception>
    public static IReadOnlyList<WindowsPnpDevice> Parse(string csv, bool includeXenPlatform = false)
    {
        ArgumentNullException.ThrowIfNull(csv);
        var rows = ReadCsv(csv).Where(r => !(r.Count == 1 && r[0].StartsWith("#TYPE", StringComparison.Ordinal)) && !(r.Count == 1 && r[0].Length == 0)).ToList();
        if (rows.Count == 0)
        {
            return [];
        }

        var header = rows[0];
        int Column(string name) => header.FindIndex(h => string.Equals(h.Trim(), name, StringComparison.OrdinalIgnoreCase));
        var instance = Column("InstanceId");
        var status = Column("Status");
        if (instance < 0 || status < 0)
        {
            throw new FormatException("The PnP capture has no header row with InstanceId and Status columns (expected ConvertTo-Csv -NoTypeInformation output).");
        }

        var pnpClass = Column("Class");
        var name = Column("FriendlyName");
        var compatible = Column("CompatibleIds");
        var service = Column("Service");
        var location = Column("Location");
        var devices = new List<WindowsPnpDevice>();
        foreach (var row in rows.Skip(1))
        {
            string? Cell(int index) => index >= 0 && index < row.Count && row[index].Length > 0 ? row[index] : null;

            var id = Cell(instance);
            if (id is null || !TryParseInstanceId(id, out var deviceId, out var subsystem, out var revision))
            {
                continue;
            }

            if (deviceId.IsXenPlatform && !includeXenPlatform)
            {
                continue;
            }

            var setupClass = Cell(pnpClass);
            devices.Add(new WindowsPnpDevice(
                id,
                deviceId,
                subsystem,
                revision,
                ParseStatus(Cell(status)),
                setupClass,
                Cell(name),
                ClassFromCompatibleIds(Cell(compatible)) ?? ClassFromSetupClass(setupClass),
                Cell(service),
                ParseLocation(Cell(location))));
        }

        return devices.AsReadOnly();
    }

    /// <summary>
    /// Reads <c>PCI\VEN_vvvv&amp;DEV_dddd[&amp;SUBSYS_ssssssss][&amp;REV_rr]\…</c>. <c>SUBSYS_</c> holds the subsystem
    /// device id in its high four digits and the subsystem vendor in the low four (<c>SUBSYS_11BF10DE</c> → 10de:11bf).
    /// </summary>
    public static bool TryParseInstanceId(string instanceId, out PciDeviceId id, out PciDeviceId? subsystem, out byte? revision)
    {
        ArgumentNullException.ThrowIfNull(instanceId);
        id = default;
        subsystem = null;
        revision = null;
        var match = InstanceIdPattern().Match(instanceId);
        if (!match.Success)
        {
            return false;
        }

        id = PciDeviceId.Create(Hex16(match.Groups["ven"].Value), Hex16(match.Groups["dev"].Value));
        if (match.Groups["subsys"].Success)
        {
            var text = match.Groups["subsys"].Value;
            subsystem = PciDeviceId.Create(Hex16(text[4..]), Hex16(text[..4]));
        }

        if (match.Groups["rev"].Success)
        {
            revision = byte.Parse(match.Groups["rev"].Value, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        }

        return true;
    }

    /// <summary><c>OK</c>, <c>Error</c>, <c>Degraded</c> (any case); anything else is Unknown.</summary>
    public static PnpStatus ParseStatus(string? text) => text?.Trim().ToUpperInvariant() switch
    {
        "OK" => PnpStatus.Ok,
        "ERROR" => PnpStatus.Error,
        "DEGRADED" => PnpStatus.Degraded,
        _ => PnpStatus.Unknown,
    };

    private static PciClass? ClassFromCompatibleIds(string? ids)
    {
        if (ids is null)
        {
            return null;
        }

        var best = ClassCodePattern().Matches(ids).Select(m => m.Groups["cc"].Value).OrderByDescending(cc => cc.Length).FirstOrDefault();
        return best is not null && PciClass.TryParse(best, out var value, out _) ? value : null;
    }

    // Setup classes of PCI functions without a CC_ compatible id in the capture; programming interface unknown (00).
    private static PciClass? ClassFromSetupClass(string? setupClass) => setupClass?.ToUpperInvariant() switch
    {
        "USB" => PciClass.Create(0x0c, 0x03),
        "DISPLAY" => PciClass.Create(0x03, 0x00),
        "NET" => PciClass.Create(0x02, 0x00),
        "HDC" => PciClass.Create(0x01, 0x06),
        "SCSIADAPTER" => PciClass.Create(0x01, 0x00),
        "MEDIA" => PciClass.Create(0x04, 0x03),
        _ => null,
    };

    private static PciAddress? ParseLocation(string? text)
    {
        var match = text is null ? Match.Empty : LocationPattern().Match(text);
        if (!match.Success)
        {
            return null;
        }

        var bus = int.Parse(match.Groups["bus"].Value, CultureInfo.InvariantCulture);
        var device = int.Parse(match.Groups["dev"].Value, CultureInfo.InvariantCulture);
        var function = int.Parse(match.Groups["fn"].Value, CultureInfo.InvariantCulture);
        return bus <= 0xff && device <= PciAddress.MaxDevice && function <= PciAddress.MaxFunction ? PciAddress.Create(0, bus, device, function) : null;
    }

    private static ushort Hex16(string text) => ushort.Parse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);

    // RFC 4180 as ConvertTo-Csv writes it: fields in double quotes, "" for a quote, CRLF or LF between records.
    internal static IEnumerable<List<string>> ReadCsv(string text)
    {
        var row = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        var any = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                if (c == '"')
                {
                    if (i + 1 < text.Length && text[i + 1] == '"')
                    {
                        field.Append('"');
                        i++;
                    }
                    else
                    {
                        quoted = false;
                    }
                }
                else
                {
                    field.Append(c);
                }

                continue;
            }

            switch (c)
            {
                case '"':
                    quoted = true;
                    any = true;
                    break;
                case ',':
                    row.Add(field.ToString());
                    field.Clear();
                    any = true;
                    break;
                case '\r':
                    break;
                case '\n':
                    row.Add(field.ToString());
                    yield return row;
                    row = [];
                    field.Clear();
                    any = false;
                    break;
                default:
                    field.Append(c);
                    any = true;
                    break;
            }
        }

        if (any || field.Length > 0 || row.Count > 0)
        {
            row.Add(field.ToString());
            yield return row;
        }
    }

    [GeneratedRegex(@"\APCI\\VEN_(?<ven>[0-9A-F]{4})&DEV_(?<dev>[0-9A-F]{4})(?:&SUBSYS_(?<subsys>[0-9A-F]{8}))?(?:&REV_(?<rev>[0-9A-F]{2}))?(?:\\|\z)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex InstanceIdPattern();

    [GeneratedRegex(@"(?<![0-9A-Z_])CC_(?<cc>[0-9A-F]{6}|[0-9A-F]{4})(?![0-9A-F])", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ClassCodePattern();

    [GeneratedRegex(@"PCI bus (?<bus>\d{1,3}), device (?<dev>\d{1,2}), function (?<fn>\d)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex LocationPattern();
}

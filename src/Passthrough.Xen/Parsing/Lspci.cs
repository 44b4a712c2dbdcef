using System.Globalization;
using System.Text.RegularExpressions;
using Passthrough.Contracts.Pci;

namespace Passthrough.Xen.Parsing;

/// <summary>One function as <c>lspci -nn</c> / <c>-Dnn</c> prints it.</summary>
/// <param name="Address">The function (domain 0000 when lspci printed none).</param>
/// <param name="ClassName">The class text, e.g. <c>SATA controller</c> (<c>Class</c> when pci.ids does not know it).</param>
/// <param name="Class">The class code from the first <c>[xxxx]</c> after the class text; the programming interface from <c>(prog-if xx)</c> when printed (<c>-v</c>), else 0.</param>
/// <param name="VendorDeviceName">Vendor and device text, e.g. <c>NVIDIA Corporation GK104 [GeForce GTX 690]</c>.</param>
/// <param name="Id">Vendor:device from the last <c>[xxxx:xxxx]</c>.</param>
/// <param name="Revision">From <c>(rev xx)</c>; null when not printed (lspci omits revision 0).</param>
/// <param name="ProgrammingInterfaceName">The text of <c>(prog-if 30 [XHCI])</c>, e.g. <c>XHCI</c>; null when not printed.</param>
public sealed record LspciDevice(
    PciAddress Address,
    string ClassName,
    PciClass Class,
    string VendorDeviceName,
    PciDeviceId Id,
    byte? Revision,
    string? ProgrammingInterfaceName);

/// <summary>A line lspci printed that names a function this model cannot address (a VMD domain above ffff).</summary>
/// <param name="Line">The line as printed.</param>
/// <param name="Reason">Why it was set aside.</param>
public sealed record LspciSkippedLine(string Line, string Reason);

/// <summary>The functions of an lspci listing, plus the lines set aside (never silently dropped).</summary>
public sealed record LspciListing(IReadOnlyList<LspciDevice> Devices, IReadOnlyList<LspciSkippedLine> Skipped);

/// <summary>
/// Reads <c>lspci -Dnn</c> and <c>lspci -nn</c> (optionally with <c>-v</c>: the indented detail lines are ignored). Format:
/// <c>0000:05:00.0 SATA controller [0106]: JMicron Technology Corp. JMB363 SATA/IDE Controller [197b:2363] (rev 03)</c>.
/// Names may contain brackets themselves (<c>GK104 [GeForce GTX 690]</c>): the class code is the first <c>[xxxx]</c>
/// that ends the class text (followed by <c>": "</c>), the ids the last <c>[xxxx:xxxx]</c> before the optional
/// <c>(rev xx)</c> and <c>(prog-if xx [name])</c>.
/// </summary>
public static partial class LspciParser
{
    private const string Subject = "lspci -nn output";

    /// <summary>Parses a whole listing. Blank and indented lines are skipped; functions in domains above ffff (Intel VMD) are set aside in <see cref="LspciListing.Skipped"/>.</summary>
    /// <exception cref="XenParseException">A function line is malformed; the message quotes it with its line number.</exception>
    public static LspciListing Parse(string text)
    {
        var devices = new List<LspciDevice>();
        var skipped = new List<LspciSkippedLine>();
        var lines = OutputText.Lines(text);
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            if (line.Trim().Length == 0 || char.IsWhiteSpace(line[0]))
            {
                continue;
            }

            var wide = WideDomainAddress().Match(line);
            if (wide.Success)
            {
                skipped.Add(new LspciSkippedLine(line, $"domain {wide.Groups["domain"].Value} is above ffff (an Intel VMD domain); such functions sit behind the VMD controller and cannot be passed through on their own"));
                continue;
            }

            devices.Add(ParseLine(line, i + 1));
        }

        return new LspciListing(devices.AsReadOnly(), skipped.AsReadOnly());
    }

    /// <summary>Parses one function line.</summary>
    /// <exception cref="XenParseException">The line is not an lspci -nn function line.</exception>
    public static LspciDevice ParseLine(string line) => ParseLine(line, null);

    private static LspciDevice ParseLine(string line, int? lineNumber)
    {
        ArgumentNullException.ThrowIfNull(line);
        var match = DeviceLine().Match(line);
        if (!match.Success)
        {
            throw new XenParseException(Subject, "expected 'BDF class [cccc]: name [vvvv:dddd]' with optional '(rev xx)'", line, lineNumber);
        }

        var addressText = match.Groups["address"].Value;
        if (!PciAddress.TryParse(addressText, out var address, out var addressError))
        {
            throw new XenParseException(Subject, addressError, line, lineNumber);
        }

        var classCode = PciClass.Parse(match.Groups["class"].Value);
        string? progIfName = null;
        if (match.Groups["progif"].Success)
        {
            var progIf = byte.Parse(match.Groups["progif"].Value, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
            classCode = PciClass.Create(classCode.BaseClass, classCode.SubClass, progIf);
            progIfName = match.Groups["progifname"].Success ? match.Groups["progifname"].Value : null;
        }

        byte? revision = match.Groups["rev"].Success
            ? byte.Parse(match.Groups["rev"].Value, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture)
            : null;

        return new LspciDevice(
            address,
            match.Groups["classname"].Value,
            classCode,
            match.Groups["name"].Value,
            PciDeviceId.Parse(match.Groups["id"].Value),
            revision,
            progIfName);
    }

    // The class text is lazy (it ends at the first "[cccc]: "); the name is greedy (the ids are the last [vvvv:dddd]).
    [GeneratedRegex(
        @"^(?<address>\S+) (?<classname>.*?) ?\[(?<class>[0-9A-Fa-f]{4})\]: (?<name>.*) \[(?<id>[0-9A-Fa-f]{4}:[0-9A-Fa-f]{4})\](?: \(rev (?<rev>[0-9A-Fa-f]{2})\))?(?: \(prog-if (?<progif>[0-9A-Fa-f]{2})(?: \[(?<progifname>[^\]]*)\])?\))?\s*$",
        RegexOptions.CultureInvariant)]
    private static partial Regex DeviceLine();

    [GeneratedRegex(@"^(?<domain>[0-9A-Fa-f]{5,}):[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-7] ", RegexOptions.CultureInvariant)]
    private static partial Regex WideDomainAddress();
}

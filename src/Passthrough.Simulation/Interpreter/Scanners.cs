using System.Globalization;
using Passthrough.Contracts.Pci;

namespace Passthrough.Simulation.Interpreter;

/// <summary>
/// OCaml <c>Scanf.sscanf</c> for the formats xapi uses on PCI addresses (<c>(%04x:%02x:%02x.%01x)</c>,
/// <c>%d/%04x:%02x:%02x.%01x</c>): literal characters must match, <c>%Nx</c> reads 1..N hex digits, <c>%d</c> an
/// optionally signed decimal. Whitespace is never skipped. Failures carry OCaml's messages.
/// </summary>
internal static class OcamlScanf
{
    /// <summary>Scans <paramref name="input"/>; on success returns the numbers and how many characters were read.</summary>
    public static bool TryScan(string input, string format, out long[] values, out int consumed, out string failure)
    {
        var results = new List<long>();
        var pos = 0;
        values = [];
        consumed = 0;
        failure = string.Empty;
        for (var f = 0; f < format.Length; f++)
        {
            var c = format[f];
            if (c != '%')
            {
                if (pos >= input.Length)
                {
                    failure = "End_of_file";
                    return false;
                }

                if (input[pos] != c)
                {
                    failure = Bad(pos, $"looking for {Show(c)}, found {Show(input[pos])}");
                    return false;
                }

                pos++;
                continue;
            }

            f++;
            var width = 0;
            while (char.IsAsciiDigit(format[f]))
            {
                width = (width * 10) + (format[f] - '0');
                f++;
            }

            var conversion = format[f];
            var hex = conversion == 'x';
            var max = width == 0 ? int.MaxValue : width;
            var start = pos;
            var negative = false;
            if (!hex && pos < input.Length && input[pos] is '-' or '+')
            {
                negative = input[pos] == '-';
                pos++;
            }

            var digitsStart = pos;
            while (pos < input.Length && pos - start < max && (hex ? char.IsAsciiHexDigit(input[pos]) : char.IsAsciiDigit(input[pos])))
            {
                pos++;
            }

            if (pos == digitsStart)
            {
                if (pos >= input.Length)
                {
                    failure = "End_of_file";
                    return false;
                }

                failure = Bad(pos, $"character {Show(input[pos])} is not a valid {(hex ? "hexadecimal" : "decimal")} digit");
                return false;
            }

            var digits = input.AsSpan(digitsStart, pos - digitsStart);
            if (!long.TryParse(digits, hex ? NumberStyles.AllowHexSpecifier : NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            {
                failure = Bad(pos, "integer overflow");
                return false;
            }

            results.Add(negative ? -value : value);
        }

        values = [.. results];
        consumed = pos;
        return true;
    }

    /// <summary>How OCaml prints the exception as xapi logs and reports it, e.g. <c>Scanf.Scan_failure("…")</c>.</summary>
    public static string AsException(string failure) =>
        failure == "End_of_file" || failure.StartsWith("Invalid_argument", StringComparison.Ordinal)
            ? failure
            : $"Scanf.Scan_failure(\"{failure}\")";

    private static string Bad(int pos, string what) => string.Create(CultureInfo.InvariantCulture, $"scanf: bad input at char number {pos}: {what}");

    private static string Show(char c) => $"'{c}'";
}

/// <summary>How xapi (pciops.ml) reads the hide list and the VM <c>other-config:pci</c> key.</summary>
internal static class XapiPciParsing
{
    private const int EntryLength = 14; // "(0000:00:00.0)"

    /// <summary>
    /// <c>Pciops.get_hidden_pcidevs</c>: scans <c>(%04x:%02x:%02x.%01x)</c> then skips 14 characters, repeatedly.
    /// A short form such as <c>(04:01.0)</c> fails with <c>scanf: bad input at char number 6</c>. The list comes back
    /// reversed, as xapi builds it.
    /// </summary>
    public static bool TryScanHidden(string raw, out List<PciAddress> devices, out string failure)
    {
        devices = [];
        failure = string.Empty;
        var rest = raw.TrimEnd();
        while (rest.Length > 0)
        {
            if (!OcamlScanf.TryScan(rest, "(%4x:%2x:%2x.%1x)", out var v, out _, out var why))
            {
                failure = OcamlScanf.AsException(why);
                return false;
            }

            if (!TryAddress(v[0], v[1], v[2], v[3], out var address))
            {
                failure = "Invalid_argument(\"index out of bounds\")";
                return false;
            }

            devices.Insert(0, address);
            if (rest.Length < EntryLength)
            {
                failure = "Invalid_argument(\"String.sub / Bytes.sub\")";
                return false;
            }

            rest = rest[EntryLength..];
        }

        return true;
    }

    /// <summary>
    /// <c>Pciops.other_pcidevs_of_vm</c> then <c>sort_pcidevs</c>: each comma-separated entry scanned as
    /// <c>%d/%04x:%02x:%02x.%01x</c>; entries that do not scan are dropped silently; grouped by plug order.
    /// </summary>
    public static List<PciAddress> DevicesOfOtherConfig(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return [];
        }

        var parsed = new List<(long Order, PciAddress Address)>();
        foreach (var entry in value.Split(','))
        {
            if (OcamlScanf.TryScan(entry, "%d/%4x:%2x:%2x.%1x", out var v, out _, out _) &&
                TryAddress(v[1], v[2], v[3], v[4], out var address))
            {
                parsed.Insert(0, (v[0], address));
            }
        }

        return [.. parsed.Select(p => p.Order).Distinct().Order().SelectMany(order => parsed.Where(p => p.Order == order).Select(p => p.Address)).Distinct()];
    }

    private static bool TryAddress(long domain, long bus, long device, long function, out PciAddress address)
    {
        address = default;
        if (domain is < 0 or > 0xffff || bus is < 0 or > 0xff || device is < 0 or > PciAddress.MaxDevice || function is < 0 or > PciAddress.MaxFunction)
        {
            return false;
        }

        address = PciAddress.Create((int)domain, (int)bus, (int)device, (int)function);
        return true;
    }
}

/// <summary>
/// The dom0 kernel's side: C <c>sscanf</c> as xen-pciback uses it to read <c>xen-pciback.hide=</c> (pcistub_init) and
/// the <c>new_slot</c> / <c>remove_slot</c> files (str_to_slot). Short forms and wildcards (<c>(04:00.*)</c>) are legal
/// here; garbage stops pciback from loading.
/// </summary>
internal static class KernelPciParsing
{
    /// <summary>
    /// Parses a hide-list value as pcistub_init does. Returns false with the text from the failing position (as the
    /// kernel logs <c>Error parsing pci_devs_to_hide at "…"</c>) or the reason an id was refused.
    /// </summary>
    public static bool TryParseHideList(string value, out List<PciAddress> addresses, out string error)
    {
        addresses = [];
        error = string.Empty;
        if (value.Length == 0)
        {
            return true;
        }

        var pos = 0;
        do
        {
            var rest = value[pos..];
            if (!TryParseSlot(rest, "(", ")", out var domain, out var bus, out var slot, out var func, out var parsed))
            {
                error = $"Error parsing pci_devs_to_hide at \"{rest}\"";
                return false;
            }

            if (!TryExpand(domain, bus, slot, func, addresses))
            {
                error = $"invalid device id ({rest[..parsed].Trim()})";
                return false;
            }

            pos += parsed;
        }
        while (pos < value.Length);

        return true;
    }

    /// <summary>str_to_slot: the whole buffer must be one slot (<c>DDDD:BB:DD.F</c>, <c>BB:DD.F</c>, wildcards allowed).</summary>
    public static bool TryParseSlotFile(string text, out List<PciAddress> addresses)
    {
        addresses = [];
        return TryParseSlot(text, string.Empty, string.Empty, out var domain, out var bus, out var slot, out var func, out var parsed) &&
               parsed == text.Length &&
               TryExpand(domain, bus, slot, func, addresses);
    }

    // One entry with the domain (" P%x:%x:%x.%xS %n" and its wildcard forms), else without it, as the kernel tries them.
    private static bool TryParseSlot(string text, string open, string close, out long domain, out long bus, out long slot, out long func, out int parsed)
    {
        domain = bus = slot = func = -1;
        parsed = 0;
        var n = CScanf.Scan(text, $" {open}%x:%x:%x.%x{close} %n", out var v, out var count);
        switch (n)
        {
            case 4 when count > 0:
                (domain, bus, slot, func, parsed) = (v[0], v[1], v[2], v[3], count);
                return true;
            case 3:
                if (CScanf.Scan(text, $" {open}%x:%x:%x.*{close} %n", out v, out count) == 3 && count > 0)
                {
                    (domain, bus, slot, func, parsed) = (v[0], v[1], v[2], -1, count);
                    return true;
                }

                break;
            case 2:
                if (CScanf.Scan(text, $" {open}%x:%x:*.*{close} %n", out v, out count) == 2 && count > 0)
                {
                    (domain, bus, slot, func, parsed) = (v[0], v[1], -1, -1, count);
                    return true;
                }

                break;
            default:
                break;
        }

        domain = 0;
        n = CScanf.Scan(text, $" {open}%x:%x.%x{close} %n", out v, out count);
        switch (n)
        {
            case 3 when count > 0:
                (bus, slot, func, parsed) = (v[0], v[1], v[2], count);
                return true;
            case 2:
                if (CScanf.Scan(text, $" {open}%x:%x.*{close} %n", out v, out count) == 2 && count > 0)
                {
                    (bus, slot, func, parsed) = (v[0], v[1], -1, count);
                    return true;
                }

                break;
            case 1:
                if (CScanf.Scan(text, $" {open}%x:*.*{close} %n", out v, out count) == 1 && count > 0)
                {
                    (bus, slot, func, parsed) = (v[0], -1, -1, count);
                    return true;
                }

                break;
            default:
                break;
        }

        return false;
    }

    // pcistub_device_id_add: range checks, wildcards expanded.
    private static bool TryExpand(long domain, long bus, long slot, long func, List<PciAddress> into)
    {
        if (domain is < 0 or > 0xffff || bus is < 0 or > 0xff || slot > PciAddress.MaxDevice || func > PciAddress.MaxFunction)
        {
            return false;
        }

        var slots = slot < 0 ? Enumerable.Range(0, PciAddress.MaxDevice + 1) : [(int)slot];
        var funcs = func < 0 ? Enumerable.Range(0, PciAddress.MaxFunction + 1) : [(int)func];
        foreach (var s in slots)
        {
            foreach (var f in funcs)
            {
                var address = PciAddress.Create((int)domain, (int)bus, s, f);
                if (!into.Contains(address))
                {
                    into.Add(address);
                }
            }
        }

        return true;
    }
}

/// <summary>
/// A small C <c>sscanf</c>: a space matches any run of whitespace, <c>%x</c> skips whitespace and reads a hex number
/// (optional sign and <c>0x</c>), <c>%n</c> stores the characters read so far, anything else must match literally.
/// Returns the number of assigned conversions; <c>%n</c>'s value is -1 when not reached.
/// </summary>
internal static class CScanf
{
    public static int Scan(string input, string format, out long[] values, out int n)
    {
        var results = new List<long>();
        n = -1;
        var pos = 0;
        for (var f = 0; f < format.Length; f++)
        {
            var c = format[f];
            if (c == ' ')
            {
                while (pos < input.Length && char.IsWhiteSpace(input[pos]))
                {
                    pos++;
                }

                continue;
            }

            if (c == '%')
            {
                var conversion = format[++f];
                if (conversion == 'n')
                {
                    n = pos;
                    continue;
                }

                while (pos < input.Length && char.IsWhiteSpace(input[pos]))
                {
                    pos++;
                }

                var negative = false;
                if (pos < input.Length && input[pos] is '-' or '+')
                {
                    negative = input[pos] == '-';
                    pos++;
                }

                if (pos + 2 < input.Length && input[pos] == '0' && input[pos + 1] is 'x' or 'X' && char.IsAsciiHexDigit(input[pos + 2]))
                {
                    pos += 2;
                }

                var start = pos;
                while (pos < input.Length && char.IsAsciiHexDigit(input[pos]))
                {
                    pos++;
                }

                if (pos == start || pos - start > 15)
                {
                    break;
                }

                var value = long.Parse(input.AsSpan(start, pos - start), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
                results.Add(negative ? -value : value);
                continue;
            }

            if (pos >= input.Length || input[pos] != c)
            {
                break;
            }

            pos++;
        }

        values = [.. results];
        return results.Count;
    }
}

using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json.Serialization;

namespace Passthrough.Contracts.Pci;

/// <summary>
/// A PCI function address (BDF): domain ≤ ffff, bus ≤ ff, device ≤ 1f, function ≤ 7. Canonical text is the full
/// lower-case form <c>0000:02:03.0</c>; parsing also reads the short form <c>02:03.0</c> (domain 0) and upper case.
/// A value that exists is valid: the only ways to make one are <see cref="Parse(string)"/>, <see cref="TryParse(string?, out PciAddress, out string?)"/>
/// and <see cref="Create"/>, all of which check every field (the default value is <c>0000:00:00.0</c>, itself valid).
/// </summary>
[JsonConverter(typeof(TextValueJsonConverter<PciAddress>))]
public readonly record struct PciAddress : IComparable<PciAddress>, ISpanParsable<PciAddress>, ITextValue<PciAddress>
{
    /// <summary>Highest device number on a bus.</summary>
    public const int MaxDevice = 0x1f;

    /// <summary>Highest function number of a device.</summary>
    public const int MaxFunction = 7;

    private PciAddress(ushort domain, byte bus, byte device, byte function)
    {
        Domain = domain;
        Bus = bus;
        Device = device;
        Function = function;
    }

    /// <summary>PCI segment (domain), 0–ffff.</summary>
    public ushort Domain { get; }

    /// <summary>Bus, 0–ff.</summary>
    public byte Bus { get; }

    /// <summary>Device (slot), 0–1f.</summary>
    public byte Device { get; }

    /// <summary>Function, 0–7.</summary>
    public byte Function { get; }

    /// <summary>The address of function <paramref name="function"/> of the same device (a sibling).</summary>
    public PciAddress WithFunction(int function) => Create(Domain, Bus, Device, function);

    /// <summary>True when <paramref name="other"/> is another function of the same physical device.</summary>
    public bool IsSiblingOf(PciAddress other) => Domain == other.Domain && Bus == other.Bus && Device == other.Device && Function != other.Function;

    /// <summary>Builds an address from numbers, refusing any out of range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A field is out of range; the message names it.</exception>
    public static PciAddress Create(int domain, int bus, int device, int function)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(domain);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(domain, 0xffff);
        ArgumentOutOfRangeException.ThrowIfNegative(bus);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bus, 0xff);
        ArgumentOutOfRangeException.ThrowIfNegative(device);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(device, MaxDevice);
        ArgumentOutOfRangeException.ThrowIfNegative(function);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(function, MaxFunction);
        return new PciAddress((ushort)domain, (byte)bus, (byte)device, (byte)function);
    }

    /// <summary>Parses <c>DDDD:BB:DD.F</c> or <c>BB:DD.F</c>, any hex case, nothing around it (no spaces).</summary>
    /// <exception cref="FormatException">The text is not a PCI address; the message quotes it and says what is wrong.</exception>
    public static PciAddress Parse(string text) =>
        TryParse(text, out var address, out var error) ? address : throw new FormatException(error);

    /// <inheritdoc cref="Parse(string)"/>
    public static PciAddress Parse(string s, IFormatProvider? provider) => Parse(s);

    /// <inheritdoc cref="Parse(string)"/>
    public static PciAddress Parse(ReadOnlySpan<char> s, IFormatProvider? provider) => Parse(s.ToString());

    /// <summary>Tries to parse; on failure <paramref name="error"/> quotes the input and says what is wrong.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out PciAddress address, [NotNullWhen(false)] out string? error)
    {
        address = default;
        if (text is null)
        {
            error = "A PCI address is required (DDDD:BB:DD.F, e.g. 0000:02:03.0); got nothing.";
            return false;
        }

        error = Check(text.AsSpan(), out address);
        if (error is null)
        {
            return true;
        }

        error = $"{InputText.Quote(text)} is not a PCI address (DDDD:BB:DD.F, e.g. 0000:02:03.0): {error}.";
        return false;
    }

    /// <inheritdoc />
    public static bool TryParse([NotNullWhen(true)] string? s, IFormatProvider? provider, out PciAddress result) =>
        TryParse(s, out result, out _);

    /// <inheritdoc />
    public static bool TryParse(ReadOnlySpan<char> s, IFormatProvider? provider, out PciAddress result) =>
        Check(s, out result) is null;

    /// <summary>True when <paramref name="text"/> is a PCI address in the full form <c>DDDD:BB:DD.F</c> (any case).</summary>
    public static bool IsFullForm(ReadOnlySpan<char> text) => text.Length == 12 && Check(text, out _) is null;

    // Returns null when valid, else the reason (without the input, which the caller quotes).
    private static string? Check(ReadOnlySpan<char> text, out PciAddress address)
    {
        address = default;
        if (text.IsEmpty)
        {
            return "it is empty";
        }

        foreach (var c in text)
        {
            if (!(char.IsAsciiHexDigit(c) || c is ':' or '.'))
            {
                return c switch
                {
                    ' ' or '\t' => "it contains whitespace",
                    '\n' or '\r' => "it contains a line break",
                    _ => $"character '{(char.IsControl(c) ? $"\\x{(int)c:x2}" : c.ToString())}' is not allowed (only hex digits, ':' and '.')",
                };
            }
        }

        if (text.Length > 12)
        {
            return $"it is {text.Length} characters long; the full form has 12";
        }

        var dot = text.LastIndexOf('.');
        if (dot < 0 || text.IndexOf('.') != dot)
        {
            return "it needs exactly one '.' between device and function";
        }

        var head = text[..dot];
        var functionText = text[(dot + 1)..];
        var colons = head.Count(':');
        if (colons is < 1 or > 2)
        {
            return "it needs 'bus:device' or 'domain:bus:device' before the '.'";
        }

        var domainText = ReadOnlySpan<char>.Empty;
        if (colons == 2)
        {
            var first = head.IndexOf(':');
            domainText = head[..first];
            head = head[(first + 1)..];
            if (domainText.Length != 4)
            {
                return $"the domain must have 4 hex digits, not {domainText.Length}";
            }
        }

        var colon = head.IndexOf(':');
        var busText = head[..colon];
        var deviceText = head[(colon + 1)..];
        if (busText.Length != 2)
        {
            return $"the bus must have 2 hex digits, not {busText.Length}";
        }

        if (deviceText.Length != 2)
        {
            return $"the device must have 2 hex digits, not {deviceText.Length}";
        }

        if (functionText.Length != 1)
        {
            return $"the function must be 1 digit (0-7), not {functionText.Length} characters";
        }

        var domain = domainText.IsEmpty ? 0 : int.Parse(domainText, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        var bus = int.Parse(busText, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        var device = int.Parse(deviceText, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        var function = int.Parse(functionText, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        if (device > MaxDevice)
        {
            return $"device {device:x2} is above 1f";
        }

        if (function > MaxFunction)
        {
            return $"function {function:x} is above 7";
        }

        address = new PciAddress((ushort)domain, (byte)bus, (byte)device, (byte)function);
        return null;
    }

    /// <summary>The canonical full form, e.g. <c>0000:02:03.0</c>.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Domain:x4}:{Bus:x2}:{Device:x2}.{Function:x1}");

    /// <summary>The short form without the domain, as plain <c>lspci</c> prints it: <c>02:03.0</c>.</summary>
    public string ToShortString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Bus:x2}:{Device:x2}.{Function:x1}");

    /// <inheritdoc />
    public int CompareTo(PciAddress other) => ToOrdinal().CompareTo(other.ToOrdinal());

    private long ToOrdinal() => ((long)Domain << 16) | ((long)Bus << 8) | ((long)Device << 3) | Function;

    public static bool operator <(PciAddress left, PciAddress right) => left.CompareTo(right) < 0;

    public static bool operator >(PciAddress left, PciAddress right) => left.CompareTo(right) > 0;

    public static bool operator <=(PciAddress left, PciAddress right) => left.CompareTo(right) <= 0;

    public static bool operator >=(PciAddress left, PciAddress right) => left.CompareTo(right) >= 0;
}

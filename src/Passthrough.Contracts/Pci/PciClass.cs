using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json.Serialization;

namespace Passthrough.Contracts.Pci;

/// <summary>
/// A PCI class code: base class, subclass and programming interface, as sysfs prints it (<c>0x0c0330</c>); lspci's
/// <c>[0c03]</c> carries base and subclass only (programming interface 0). Canonical text: six hex digits, <c>0c0330</c>.
/// </summary>
[JsonConverter(typeof(TextValueJsonConverter<PciClass>))]
public readonly record struct PciClass : ITextValue<PciClass>
{
    private PciClass(byte baseClass, byte subClass, byte programmingInterface)
    {
        BaseClass = baseClass;
        SubClass = subClass;
        ProgrammingInterface = programmingInterface;
    }

    /// <summary>Base class (e.g. 03 display, 0c serial bus).</summary>
    public byte BaseClass { get; }

    /// <summary>Subclass (e.g. 03 USB under 0c).</summary>
    public byte SubClass { get; }

    /// <summary>Programming interface (e.g. 30 xHCI under 0c03).</summary>
    public byte ProgrammingInterface { get; }

    /// <summary>Base class and subclass as one 16-bit number, as lspci shows it (0x0c03).</summary>
    public ushort Code16 => (ushort)((BaseClass << 8) | SubClass);

    /// <summary>Display controllers (03xx): on XenServer these go through GPU passthrough, not the plain PCI path.</summary>
    public bool IsDisplay => BaseClass == 0x03;

    /// <summary>USB controllers (0c03): no XAPI PCI object models them.</summary>
    public bool IsUsbController => BaseClass == 0x0c && SubClass == 0x03;

    /// <summary>Mass storage controllers (01xx): SATA, NVMe, RAID, SAS HBAs.</summary>
    public bool IsStorage => BaseClass == 0x01;

    /// <summary>Network controllers (02xx).</summary>
    public bool IsNetwork => BaseClass == 0x02;

    /// <summary>Multimedia (04xx), e.g. the HDMI audio function of a GPU.</summary>
    public bool IsMultimedia => BaseClass == 0x04;

    /// <summary>Bridges (06xx): host, ISA and PCI bridges are never passed through.</summary>
    public bool IsBridge => BaseClass == 0x06;

    /// <summary>Builds a class from its three bytes.</summary>
    public static PciClass Create(byte baseClass, byte subClass, byte programmingInterface = 0) => new(baseClass, subClass, programmingInterface);

    /// <summary>
    /// Parses the sysfs form <c>0x0c0330</c>, six digits without prefix (<c>0c0330</c>), or lspci's four digits <c>0c03</c>.
    /// </summary>
    /// <exception cref="FormatException">The text is not a class code; the message quotes it.</exception>
    public static PciClass Parse(string text) =>
        TryParse(text, out var value, out var error) ? value : throw new FormatException(error);

    /// <summary>Tries to parse; see <see cref="Parse"/>.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out PciClass value, [NotNullWhen(false)] out string? error)
    {
        value = default;
        var span = (text ?? string.Empty).AsSpan().Trim();
        if (span.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            span = span[2..];
        }

        if ((span.Length == 6 || span.Length == 4) &&
            uint.TryParse(span, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code))
        {
            value = span.Length == 6
                ? new PciClass((byte)(code >> 16), (byte)(code >> 8), (byte)code)
                : new PciClass((byte)(code >> 8), (byte)code, 0);
            error = null;
            return true;
        }

        error = $"{InputText.Quote(text)} is not a PCI class code (0x0c0330, 0c0330 or 0c03).";
        return false;
    }

    /// <summary>A short English name of the class, e.g. "USB controller".</summary>
    public string Describe() => (BaseClass, SubClass) switch
    {
        (0x01, 0x00) => "SCSI storage controller",
        (0x01, 0x01) => "IDE interface",
        (0x01, 0x04) => "RAID bus controller",
        (0x01, 0x06) => "SATA controller",
        (0x01, 0x07) => "Serial Attached SCSI controller",
        (0x01, 0x08) => "Non-Volatile memory controller",
        (0x01, _) => "Mass storage controller",
        (0x02, 0x00) => "Ethernet controller",
        (0x02, _) => "Network controller",
        (0x03, 0x00) => "VGA compatible controller",
        (0x03, 0x02) => "3D controller",
        (0x03, _) => "Display controller",
        (0x04, 0x03) => "Audio device",
        (0x04, _) => "Multimedia controller",
        (0x06, 0x00) => "Host bridge",
        (0x06, 0x01) => "ISA bridge",
        (0x06, 0x04) => "PCI bridge",
        (0x06, _) => "Bridge",
        (0x0c, 0x03) => "USB controller",
        (0x0c, 0x05) => "SMBus",
        (0x0c, _) => "Serial bus controller",
        _ => string.Create(CultureInfo.InvariantCulture, $"Class {Code16:x4}"),
    };

    /// <summary>The six-digit form, e.g. <c>0c0330</c>.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{BaseClass:x2}{SubClass:x2}{ProgrammingInterface:x2}");
}

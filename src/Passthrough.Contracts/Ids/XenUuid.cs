using System.Diagnostics.CodeAnalysis;
using System.Text.Json.Serialization;

namespace Passthrough.Contracts.Ids;

/// <summary>
/// A XAPI object uuid: 8-4-4-4-12 hex digits with dashes, as <c>xe</c> prints it (<c>740e9485-8e1a-da89-2561-d75bcede3fc9</c>).
/// XAPI uuids are not always RFC 4122 (version/variant bits vary), so only the shape is checked. Canonical: lower case.
/// </summary>
[JsonConverter(typeof(TextValueJsonConverter<XenUuid>))]
public readonly record struct XenUuid : ITextValue<XenUuid>
{
    private readonly Guid _value;

    private XenUuid(Guid value) => _value = value;

    /// <summary>The uuid as a <see cref="Guid"/> (same 128 bits).</summary>
    public Guid Value => _value;

    /// <summary>Wraps a <see cref="Guid"/>.</summary>
    public static XenUuid FromGuid(Guid value) => new(value);

    /// <summary>A new random uuid (for simulated objects).</summary>
    public static XenUuid NewUuid() => new(Guid.NewGuid());

    /// <summary>Parses the 36-character dashed form (any hex case, nothing around it).</summary>
    /// <exception cref="FormatException">The text is not a XAPI uuid; the message quotes it.</exception>
    public static XenUuid Parse(string text) =>
        TryParse(text, out var uuid, out var error) ? uuid : throw new FormatException(error);

    /// <summary>Tries to parse; <paramref name="error"/> quotes the input.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out XenUuid uuid, [NotNullWhen(false)] out string? error)
    {
        uuid = default;
        if (text is { Length: 36 } && IsShape(text) && Guid.TryParseExact(text, "D", out var guid))
        {
            uuid = new XenUuid(guid);
            error = null;
            return true;
        }

        error = $"{InputText.Quote(text)} is not a XAPI uuid (8-4-4-4-12 hex digits, e.g. 740e9485-8e1a-da89-2561-d75bcede3fc9).";
        return false;
    }

    private static bool IsShape(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var dash = i is 8 or 13 or 18 or 23;
            if (dash ? text[i] != '-' : !char.IsAsciiHexDigit(text[i]))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The lower-case dashed form.</summary>
    public override string ToString() => _value.ToString("D");
}

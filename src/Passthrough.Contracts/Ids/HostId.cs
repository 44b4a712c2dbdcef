using System.Diagnostics.CodeAnalysis;
using System.Text.Json.Serialization;

namespace Passthrough.Contracts.Ids;

/// <summary>A XenServer host, identified by its XAPI host uuid.</summary>
[JsonConverter(typeof(TextValueJsonConverter<HostId>))]
public readonly record struct HostId(XenUuid Uuid) : ITextValue<HostId>
{
    /// <summary>Parses a host uuid.</summary>
    /// <exception cref="FormatException">Not a XAPI uuid; the message says it was meant as a host.</exception>
    public static HostId Parse(string text) =>
        TryParse(text, out var id, out var error) ? id : throw new FormatException(error);

    /// <summary>Tries to parse a host uuid.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out HostId id, [NotNullWhen(false)] out string? error)
    {
        var ok = XenUuid.TryParse(text, out var uuid, out error);
        id = new HostId(uuid);
        error = ok ? null : "Host id: " + error;
        return ok;
    }

    /// <inheritdoc />
    public override string ToString() => Uuid.ToString();
}

/// <summary>A virtual machine, identified by its XAPI VM uuid.</summary>
[JsonConverter(typeof(TextValueJsonConverter<VmId>))]
public readonly record struct VmId(XenUuid Uuid) : ITextValue<VmId>
{
    /// <summary>Parses a VM uuid.</summary>
    /// <exception cref="FormatException">Not a XAPI uuid; the message says it was meant as a VM.</exception>
    public static VmId Parse(string text) =>
        TryParse(text, out var id, out var error) ? id : throw new FormatException(error);

    /// <summary>Tries to parse a VM uuid.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out VmId id, [NotNullWhen(false)] out string? error)
    {
        var ok = XenUuid.TryParse(text, out var uuid, out error);
        id = new VmId(uuid);
        error = ok ? null : "VM id: " + error;
        return ok;
    }

    /// <inheritdoc />
    public override string ToString() => Uuid.ToString();
}

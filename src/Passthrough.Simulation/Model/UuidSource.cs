using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Passthrough.Contracts.Ids;

namespace Passthrough.Simulation.Model;

/// <summary>
/// Deterministic uuids: the n-th uuid of a seed is always the same, so a seed reproduces a host and everything it
/// later creates (boot ids, snapshots). The state is two numbers, so it survives a JSON round trip.
/// </summary>
public sealed class UuidSource
{
    /// <summary>The seed.</summary>
    public long Seed { get; init; }

    /// <summary>How many uuids were handed out.</summary>
    public long Counter { get; set; }

    /// <summary>The next uuid.</summary>
    public XenUuid Next() => XenUuid.FromGuid(new Guid(NextBytes(16)));

    /// <summary>The next MAC address (locally administered, unicast), e.g. <c>8a:3c:…</c>.</summary>
    public string NextMac()
    {
        var bytes = NextBytes(6);
        bytes[0] = (byte)((bytes[0] & 0xfc) | 0x02);
        return string.Join(':', bytes.Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));
    }

    /// <summary>A number in [0, <paramref name="maxExclusive"/>).</summary>
    public int NextInt(int maxExclusive)
    {
        var bytes = NextBytes(4);
        return (int)(BitConverter.ToUInt32(bytes) % (uint)maxExclusive);
    }

    private byte[] NextBytes(int count)
    {
        var input = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{Seed}:{Counter}"));
        Counter++;
        return SHA256.HashData(input)[..count];
    }
}

using Passthrough.Contracts.Messaging;

namespace Passthrough.Guest;

/// <summary>
/// Looks inside one guest: Xen or not, guest type, kernel, the PV PCI frontend and the PCI devices. Implementations read
/// a Linux tree (a real root, a test tree, or a guest over SSH) or Windows PnP. Never throws for what it cannot see: a
/// missing file is a fact in the report; it throws <see cref="GuestProbeException"/> only when it cannot probe at all.
/// </summary>
public interface IGuestProbe
{
    /// <summary>Probes the guest now.</summary>
    Task<GuestReport> ProbeAsync(CancellationToken cancellationToken = default);
}

/// <summary>The probe could not look at the guest at all (unreachable, not a supported OS, unreadable root).</summary>
public sealed class GuestProbeException(string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>The classified cause, when known.</summary>
    public FailureCause Cause { get; init; } = FailureCause.Unknown;
}

using Passthrough.Contracts.Messaging;
using Passthrough.Contracts.Pci;
using Passthrough.Guest;

namespace Passthrough.GuestAgent.Tests.Infrastructure;

/// <summary>A probe answering a report the test sets (or failing <see cref="FailuresLeft"/> times first).</summary>
internal sealed class FakeProbe : IGuestProbe
{
    public static GuestPciDevice Usb { get; } = new(PciAddress.Parse("0000:00:00.0"), PciDeviceId.Parse("8086:1e2d"), PciDeviceId.Parse("1043:84ca"), PciClass.Parse("0c0320"), "ehci-pci");

    public GuestReport Report { get; set; } = Pv("boot-1", Usb);

    public int FailuresLeft { get; set; }

    public int Calls;

    public static GuestReport Pv(string bootId, params GuestPciDevice[] devices) => new(
        GuestOs.Linux, true, GuestType.PV, "6.1.0-18-amd64", bootId,
        new PcifrontReport(PcifrontState.Active, PcifrontModule.BuiltIn, true, true), devices, [], []);

    public Task<GuestReport> ProbeAsync(CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref Calls);
        if (FailuresLeft > 0)
        {
            FailuresLeft--;
            throw new GuestProbeException("the guest root is unreadable (test)") { Cause = FailureCause.CommandFailed };
        }

        return Task.FromResult(Report);
    }
}

/// <summary>A watch answering the snapshot the test sets.</summary>
internal sealed class FakeWatch : IGuestWatch
{
    public GuestSnapshot? Snapshot { get; set; }

    public Task<GuestSnapshot> SnapshotAsync(CancellationToken cancellationToken) =>
        Snapshot is { } snapshot ? Task.FromResult(snapshot) : throw new IOException("cannot look (test)");
}

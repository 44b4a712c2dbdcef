using Passthrough.Contracts.Messaging;
using Passthrough.Contracts.Pci;

namespace Passthrough.Guest;

/// <summary>The verdict on a guest: verified or not, each expectation's match, and the problems as saga failures.</summary>
/// <param name="Verified">True when nothing is wrong (see <see cref="GuestVerification.Build"/>).</param>
/// <param name="Devices">One match per expectation, in order.</param>
/// <param name="Problems">Why it is not verified; empty when verified.</param>
public sealed record GuestVerdict(bool Verified, IReadOnlyList<DeviceMatch> Devices, IReadOnlyList<Failure> Problems);

/// <summary>Builds the verdict the guest agent answers a verification request with, and the CLI prints.</summary>
public static class GuestVerification
{
    /// <summary>The message of a PV guest whose kernel has no pcifront at all.</summary>
    public const string LacksPcifrontMessage = "guest kernel lacks xen-pcifront";

    /// <summary>
    /// Verified iff the guest is not PV or its pcifront is <see cref="PcifrontState.Active"/>, and every expected device is
    /// present and, when the expectation names a driver, bound to it. Problems carry
    /// <see cref="FailureCause.GuestLacksPcifront"/>, <see cref="FailureCause.GuestDeviceMissing"/> or
    /// <see cref="FailureCause.GuestDriverNotBound"/>, a message naming what failed and a fix hint.
    /// </summary>
    public static GuestVerdict Build(GuestReport report, IReadOnlyList<ExpectedDevice> expected)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(expected);
        var problems = new List<Failure>();
        var pv = report.GuestType is GuestType.PV or GuestType.PVInPVH;
        if (pv && report.Pcifront.State != PcifrontState.Active)
        {
            problems.Add(PcifrontProblem(report));
        }

        var matches = DeviceMatcher.Match(report, expected);
        foreach (var match in matches)
        {
            var problem = DeviceProblem(match, pv);
            if (problem is not null)
            {
                problems.Add(problem);
            }
        }

        return new GuestVerdict(problems.Count == 0, matches, problems.AsReadOnly());
    }

    /// <summary>
    /// The verdict on a verification request (the guest agent's and the host agent's agentless one alike): everything
    /// <see cref="Build"/> checks, plus that the guest booted again since <paramref name="previousBootId"/> (only a new
    /// domain gets the assigned devices) and, when <paramref name="requirePcifront"/>, that pcifront is active whatever
    /// guest type the probe saw. Problems come in that order: boot, required pcifront, then <see cref="Build"/>'s.
    /// </summary>
    /// <param name="report">What the probe saw.</param>
    /// <param name="expected">The devices the guest must see.</param>
    /// <param name="previousBootId">The boot id before the VM was restarted; null skips the check.</param>
    /// <param name="requirePcifront">The host says the VM is PV, so pcifront must be active.</param>
    /// <param name="knownBootId">The boot id to use when the report has none (the agent's own).</param>
    public static GuestVerdict Evaluate(
        GuestReport report, IReadOnlyList<ExpectedDevice> expected, string? previousBootId, bool requirePcifront, string? knownBootId = null)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(expected);
        var verdict = Build(report, expected);
        var problems = new List<Failure>();
        var bootId = report.BootId ?? knownBootId;
        if (previousBootId is { } previous && bootId is not null && string.Equals(previous.Trim(), bootId, StringComparison.OrdinalIgnoreCase))
        {
            problems.Add(new Failure(
                FailureCause.Unknown,
                $"the guest has not booted again: its boot id is still {bootId}",
                null,
                "Shut the VM down and start it again: only a new domain gets the assigned PCI devices."));
        }

        if (requirePcifront && report.Pcifront.State != PcifrontState.Active &&
            !verdict.Problems.Any(p => p.Cause == FailureCause.GuestLacksPcifront))
        {
            problems.Add(new Failure(
                FailureCause.GuestLacksPcifront,
                $"the VM needs xen-pcifront but the guest reports it {report.Pcifront.State} ({report.GuestType} guest)",
                $"pcifront {report.Pcifront.State}, module {report.Pcifront.Module}, kernel {report.KernelRelease}",
                "Check the VM's domain type on the host and that the guest kernel has xen-pcifront."));
        }

        problems.AddRange(verdict.Problems);
        return new GuestVerdict(problems.Count == 0, verdict.Devices, problems.AsReadOnly());
    }

    private static Failure PcifrontProblem(GuestReport report)
    {
        var state = $"pcifront {report.Pcifront.State}, module {report.Pcifront.Module}, kernel {report.KernelRelease}";
        return report.Pcifront.State switch
        {
            PcifrontState.Absent => new Failure(
                FailureCause.GuestLacksPcifront,
                LacksPcifrontMessage,
                state,
                "Boot the guest with a kernel built with CONFIG_XEN_PCIDEV_FRONTEND=y or =m (the tutorial builds 3.4.9 with it), or install the distribution kernel that ships xen-pcifront."),
            PcifrontState.AvailableNotLoaded => new Failure(
                FailureCause.GuestLacksPcifront,
                "xen-pcifront is available but not loaded in the guest",
                state,
                "Run 'modprobe xen-pcifront' in the guest and add xen-pcifront to /etc/modules, or allow the pcifront remedy."),
            PcifrontState.LoadedNoDevice => new Failure(
                FailureCause.GuestLacksPcifront,
                "xen-pcifront is loaded but the guest has no PCI frontend device (pci-0)",
                state,
                "The domain was built without its PCI devices: check other-config:pci, then shut the VM down and start it (a reboot does not rebuild the domain)."),
            _ => new Failure(
                FailureCause.GuestLacksPcifront,
                "could not tell whether the guest kernel has xen-pcifront",
                state,
                "Check /sys/bus/xen/drivers/pcifront and 'lsmod | grep pcifront' in the guest."),
        };
    }

    private static Failure? DeviceProblem(DeviceMatch match, bool pv)
    {
        var expected = Describe(match.Expected.Id, match.Expected.Subsystem);
        if (!match.Present)
        {
            return new Failure(
                FailureCause.GuestDeviceMissing,
                $"expected device {expected} is not visible in the guest",
                null,
                pv
                    ? "A PV guest sees passed-through devices only through xen-pcifront; check pcifront and the VM's other-config:pci, then cold-start the VM."
                    : "Check the VM's other-config:pci on the host and cold-start the VM; devices are matched by vendor:device, not by BDF.");
        }

        if (match.Expected.Driver is { } driver && !match.DriverOk)
        {
            var device = match.Device!;
            return device.Driver is null
                ? new Failure(
                    FailureCause.GuestDriverNotBound,
                    $"device {expected} at {device.Address} has no driver bound (expected {driver})",
                    null,
                    $"Load the driver in the guest ('modprobe {driver}') and check the kernel log for probe errors.")
                : new Failure(
                    FailureCause.GuestDriverNotBound,
                    $"device {expected} at {device.Address} is bound to {device.Driver}, not {driver}",
                    null,
                    $"Unbind {device.Driver} and bind {driver}, or blacklist {device.Driver} in the guest.");
        }

        return null;
    }

    private static string Describe(PciDeviceId id, PciDeviceId? subsystem) =>
        subsystem is { } s ? $"{id} (subsystem {s})" : id.ToString();
}

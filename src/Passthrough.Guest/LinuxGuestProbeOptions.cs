using Passthrough.Contracts.Pci;

namespace Passthrough.Guest;

/// <summary>Settings of a <see cref="LinuxGuestProbe"/>.</summary>
public sealed record LinuxGuestProbeOptions
{
    /// <summary>The settings used when none are given.</summary>
    public static LinuxGuestProbeOptions Default { get; } = new();

    /// <summary>Kernel advisories to check; default <see cref="KernelAdvisories.Default"/> (3.5.x and USB controllers).</summary>
    public IReadOnlyList<KernelAdvisory> Advisories { get; init; } = KernelAdvisories.Default;

    /// <summary>
    /// PCI classes of the devices the guest is expected to receive (the host side knows them), so a class-specific
    /// advisory applies before the device is visible in the guest; default none (only the classes present count).
    /// </summary>
    public IReadOnlyList<PciClass> ExpectedClasses { get; init; } = [];

    /// <summary>Whether to read the kernel log for pcifront lines on Xen guests; default true.</summary>
    public bool ReadKernelLog { get; init; } = true;
}

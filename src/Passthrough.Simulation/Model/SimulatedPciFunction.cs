using System.Text.Json.Serialization;
using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Pci;

namespace Passthrough.Simulation.Model;

/// <summary>How binding a function to a driver goes wrong (an injected device fault).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<PciBindFailure>))]
public enum PciBindFailure
{
    /// <summary>Binds normally.</summary>
    None = 0,

    /// <summary>
    /// Binding to pciback times out in the function level reset: the kernel logs
    /// <c>pciback BDF: timed out waiting for pending transaction: performing function level reset anyway</c> and the bind fails.
    /// </summary>
    FlrTimeout,

    /// <summary>Every driver's probe fails for this function (the bind is refused with "No such device").</summary>
    ProbeFails,
}

/// <summary>One PCI function of the simulated host: its sysfs identity, names as lspci prints them, and its driver binding.</summary>
public sealed class SimulatedPciFunction
{
    /// <summary>The function's address.</summary>
    public required PciAddress Address { get; init; }

    /// <summary>sysfs <c>vendor</c>.</summary>
    public required ushort VendorId { get; init; }

    /// <summary>sysfs <c>device</c>.</summary>
    public required ushort DeviceId { get; init; }

    /// <summary>sysfs <c>subsystem_vendor</c>.</summary>
    public ushort SubsystemVendorId { get; init; }

    /// <summary>sysfs <c>subsystem_device</c>.</summary>
    public ushort SubsystemDeviceId { get; init; }

    /// <summary>sysfs <c>class</c> (with programming interface).</summary>
    public required PciClass Class { get; init; }

    /// <summary>sysfs <c>revision</c>; lspci omits <c>(rev 00)</c>.</summary>
    public byte Revision { get; init; }

    /// <summary>The vendor as lspci names it, e.g. <c>NVIDIA Corporation</c>.</summary>
    public required string VendorName { get; init; }

    /// <summary>The device as lspci names it, e.g. <c>GK104 [GeForce GTX 690]</c>.</summary>
    public required string DeviceName { get; init; }

    /// <summary>The class text lspci prints; null means the standard name of <see cref="Class"/>.</summary>
    public string? ClassName { get; init; }

    /// <summary>The dom0 driver that claims the function at boot when it is not hidden (null: none, it stays unbound).</summary>
    public string? DefaultDriver { get; init; }

    /// <summary>The driver bound now (<c>pciback</c> once detached), or null when unbound.</summary>
    public string? BoundDriver { get; set; }

    /// <summary>The XAPI PCI object's uuid; null for functions XAPI does not model (USB controllers, bridges…).</summary>
    public XenUuid? XapiUuid { get; init; }

    /// <summary>The PCI bridge (root port) the function sits behind, for its sysfs path; null when on the root bus.</summary>
    public PciAddress? UpstreamBridge { get; init; }

    /// <summary>An injected bind fault; default none.</summary>
    public PciBindFailure BindFailure { get; set; }

    /// <summary>The name lspci gives the class.</summary>
    [JsonIgnore]
    public string ClassDisplayName => ClassName ?? Class.Describe();

    /// <summary>The canonical sysfs directory, <c>/sys/devices/pci0000:00/0000:00:1c.0/0000:03:00.0</c>.</summary>
    [JsonIgnore]
    public string SysfsDevicePath
    {
        get
        {
            var root = $"/sys/devices/pci{Address.Domain:x4}:00";
            return UpstreamBridge is { } bridge ? $"{root}/{bridge}/{Address}" : $"{root}/{Address}";
        }
    }
}

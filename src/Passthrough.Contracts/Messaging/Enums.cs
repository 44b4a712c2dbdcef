using System.Text.Json.Serialization;

namespace Passthrough.Contracts.Messaging;

/// <summary>How a device is taken from dom0.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<HideMode>))]
public enum HideMode
{
    /// <summary>Dynamic bind now plus a persisted hide; the dom0-access API where the host has it; a reboot only if the bind fails.</summary>
    Auto = 0,

    /// <summary>Bind to pciback through sysfs now and persist the hide for the next boot; no reboot.</summary>
    Dynamic,

    /// <summary>Write the hide list with <c>xen-cmdline</c> and reboot the host (the tutorial's way).</summary>
    PersistWithReboot,

    /// <summary><c>xe pci-disable-dom0-access</c> (xapi ≥ 24.14) and a host reboot.</summary>
    Dom0AccessApi,
}

/// <summary>A VM's power state as XAPI reports it.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<VmPowerState>))]
public enum VmPowerState
{
    Halted = 0,
    Running,
    Paused,
    Suspended,
}

/// <summary>The virtualisation mode of a VM or of a guest kernel.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<GuestType>))]
public enum GuestType
{
    Unknown = 0,
    PV,
    HVM,
    PVH,

    /// <summary>PV guest inside a PVH shim (<c>pv_in_pvh</c>).</summary>
    PVInPVH,
}

/// <summary>Whether dom0 may use a device (XCP-ng 8.3 dom0-access states, or computed from the kernel command lines).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<Dom0Access>))]
public enum Dom0Access
{
    Enabled = 0,
    DisableOnReboot,
    Disabled,
    EnableOnReboot,
}

/// <summary>State of the PV PCI frontend (<c>xen-pcifront</c>) in a Linux guest.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<PcifrontState>))]
public enum PcifrontState
{
    /// <summary>Not a PV guest: HVM/PVH guests see devices on the emulated bus and need no frontend.</summary>
    NotApplicable = 0,

    /// <summary>The driver is registered and the frontend device <c>pci-0</c> exists.</summary>
    Active,

    /// <summary>The driver is registered (loaded or built in) but no frontend device exists yet.</summary>
    LoadedNoDevice,

    /// <summary>The module exists for the running kernel but is not loaded.</summary>
    AvailableNotLoaded,

    /// <summary>The kernel has no pcifront at all: passthrough cannot work in this PV guest.</summary>
    Absent,

    /// <summary>The probe could not tell.</summary>
    Unknown,
}

/// <summary>Why a step failed: the classified cause an operator acts on (the original text travels beside it).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<FailureCause>))]
public enum FailureCause
{
    Unknown = 0,
    InvalidInput,
    HostUnreachable,
    HostKeyMismatch,
    AuthenticationFailed,
    Timeout,
    IommuOff,
    Rmrr,
    DeviceCannotBeAdded,
    PcibackNotLoaded,
    HostNotDisabled,
    HostInUse,
    VmHasPciAttached,
    VmPciBusFull,
    BootDevice,
    ManagementNic,
    MalformedHideList,
    ToolstackInitialising,
    DisplayDeviceOnXenServer,
    DeviceOwnedByAnotherVm,
    SiblingFunctionsMissing,
    VmNotOnHost,
    VmNotFound,
    DeviceNotFound,
    DeviceBindFailed,
    FlrTimeout,
    GuestLacksPcifront,
    GuestDeviceMissing,
    GuestDriverNotBound,
    GuestNeverReported,
    HostDidNotReturn,
    CommandFailed,
}

using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Pci;
using Passthrough.Simulation.Model;

namespace Passthrough.Simulation;

/// <summary>
/// Real device models, as their ids, class codes, names and dom0 drivers read on real hosts, placed at any address: the
/// default host and the lab's larger layouts build their functions from these, so one model is described once.
/// </summary>
public static class SimulatedPciCatalog
{
    /// <summary>Samsung SM981/PM981/PM983 NVMe SSD (144d:a808, class 0108, driver nvme).</summary>
    public static SimulatedPciFunction SamsungNvme(PciAddress address, PciAddress upstreamBridge, XenUuid? xapiUuid) => new()
    {
        Address = address,
        VendorId = 0x144d,
        DeviceId = 0xa808,
        SubsystemVendorId = 0x144d,
        SubsystemDeviceId = 0xa801,
        Class = PciClass.Create(0x01, 0x08, 0x02),
        VendorName = "Samsung Electronics Co Ltd",
        DeviceName = "NVMe SSD Controller SM981/PM981/PM983",
        DefaultDriver = "nvme",
        XapiUuid = xapiUuid,
        UpstreamBridge = upstreamBridge,
    };

    /// <summary>Intel I210 Gigabit NIC (8086:1533, class 0200, driver igb).</summary>
    public static SimulatedPciFunction IntelI210(PciAddress address, PciAddress upstreamBridge, XenUuid? xapiUuid) => new()
    {
        Address = address,
        VendorId = 0x8086,
        DeviceId = 0x1533,
        SubsystemVendorId = 0x8086,
        SubsystemDeviceId = 0x0001,
        Class = PciClass.Create(0x02, 0x00),
        Revision = 0x03,
        VendorName = "Intel Corporation",
        DeviceName = "I210 Gigabit Network Connection",
        DefaultDriver = "igb",
        XapiUuid = xapiUuid,
        UpstreamBridge = upstreamBridge,
    };

    /// <summary>ASMedia ASM1142 USB 3.1 xHCI controller (1b21:1242, class 0c0330, driver xhci_hcd; XAPI models no USB controller).</summary>
    public static SimulatedPciFunction AsmediaUsb(PciAddress address, PciAddress upstreamBridge) => new()
    {
        Address = address,
        VendorId = 0x1b21,
        DeviceId = 0x1242,
        SubsystemVendorId = 0x1b21,
        SubsystemDeviceId = 0x1242,
        Class = PciClass.Create(0x0c, 0x03, 0x30),
        VendorName = "ASMedia Technology Inc.",
        DeviceName = "ASM1142 USB 3.1 Host Controller",
        DefaultDriver = "xhci_hcd",
        UpstreamBridge = upstreamBridge,
    };

    /// <summary>An Intel Cannon Lake PCH PCI Express root port (8086:<paramref name="deviceId"/>, class 0604, driver pcieport).</summary>
    public static SimulatedPciFunction CannonLakeRootPort(PciAddress address, ushort deviceId, string deviceName = "Cannon Lake PCH PCI Express Root Port") => new()
    {
        Address = address,
        VendorId = 0x8086,
        DeviceId = deviceId,
        Class = PciClass.Create(0x06, 0x04),
        Revision = 0xf0,
        VendorName = "Intel Corporation",
        DeviceName = deviceName,
        DefaultDriver = "pcieport",
    };
}

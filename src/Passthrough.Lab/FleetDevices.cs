using System.Globalization;
using Passthrough.Contracts.Pci;
using Passthrough.Simulation;
using Passthrough.Simulation.Model;

namespace Passthrough.Lab;

/// <summary>The kinds of passthrough candidate a simulated host carries.</summary>
public enum FleetDeviceKind
{
    /// <summary>A USB 3 xHCI controller (class 0c03); XAPI has no object for it.</summary>
    UsbController,

    /// <summary>A NIC that is not the management interface (class 0200).</summary>
    Nic,

    /// <summary>An NVMe drive (class 0108).</summary>
    Nvme,

    /// <summary>The GPU (class 0300); its audio function is its sibling.</summary>
    Gpu,

    /// <summary>The GPU's HDMI audio function (class 0403).</summary>
    GpuAudio,
}

/// <summary>A passthrough candidate of a simulated host.</summary>
/// <param name="Address">Its BDF on the host.</param>
/// <param name="Kind">What it is.</param>
/// <param name="Id">vendor:device, how a guest finds it.</param>
/// <param name="Driver">The dom0 driver that claims it at boot (and the driver a guest binds).</param>
/// <param name="Siblings">Other functions of the same device that must travel with it (the GPU and its audio).</param>
public sealed record FleetDevice(PciAddress Address, FleetDeviceKind Kind, PciDeviceId Id, string? Driver, IReadOnlyList<PciAddress> Siblings);

/// <summary>Realises a <see cref="HostDeviceLayout"/> on a <see cref="SimulatedHostBuilder"/>.</summary>
internal static class FleetDevices
{
    // Device numbers on bus 0 that the default host leaves free (it uses 00, 01, 14, 17, 1b, 1c, 1f): each extra function
    // gets a root port at one of them and a bus of its own, as add-in cards on a real board do.
    private const int FirstFreeSlot = 0x02;
    private const int FirstExtraBus = 0x10;

    // Uuids of extra XAPI PCI objects come from their own stream of the host's seed, far past anything the builder draws,
    // so adding devices does not shift the uuids of the host, its VMs or its default devices.
    private const long DeviceUuidCounterBase = 1_000_000;

    public static IReadOnlyList<FleetDevice> Apply(SimulatedHostBuilder builder, HostDeviceLayout layout, long hostSeed)
    {
        var uuids = new UuidSource { Seed = hostSeed, Counter = DeviceUuidCounterBase };
        var devices = new List<FleetDevice>
        {
            new(DefaultDevices.UsbController, FleetDeviceKind.UsbController, PciDeviceId.Create(0x8086, 0xa36d), "xhci_hcd", []),
            new(DefaultDevices.PassthroughNic, FleetDeviceKind.Nic, PciDeviceId.Create(0x8086, 0x1533), "igb", []),
            new(DefaultDevices.Nvme, FleetDeviceKind.Nvme, PciDeviceId.Create(0x144d, 0xa808), "nvme", []),
            new(DefaultDevices.Gpu, FleetDeviceKind.Gpu, PciDeviceId.Create(0x10de, 0x1188), null, [DefaultDevices.GpuAudio]),
            new(DefaultDevices.GpuAudio, FleetDeviceKind.GpuAudio, PciDeviceId.Create(0x10de, 0x0e0a), "snd_hda_intel", [DefaultDevices.Gpu]),
        };
        var slot = 0;
        for (var i = 1; i < layout.UsbControllers; i++)
        {
            var (port, address) = NextSlot(ref slot);
            builder.WithFunction(RootPort(port, address));
            builder.WithFunction(SimulatedPciCatalog.AsmediaUsb(address, port));
            devices.Add(new(address, FleetDeviceKind.UsbController, PciDeviceId.Create(0x1b21, 0x1242), "xhci_hcd", []));
        }

        for (var i = 1; i < layout.Nics; i++)
        {
            var (port, address) = NextSlot(ref slot);
            builder.WithFunction(RootPort(port, address));
            builder.WithNic(
                SimulatedPciCatalog.IntelI210(address, port, uuids.Next()),
                // eth0 is the management NIC and eth1 the default passthrough NIC.
                string.Create(CultureInfo.InvariantCulture, $"eth{i + 1}"));
            devices.Add(new(address, FleetDeviceKind.Nic, PciDeviceId.Create(0x8086, 0x1533), "igb", []));
        }

        for (var i = 1; i < layout.NvmeDrives; i++)
        {
            var (port, address) = NextSlot(ref slot);
            builder.WithFunction(RootPort(port, address));
            builder.WithFunction(SimulatedPciCatalog.SamsungNvme(address, port, uuids.Next()));
            devices.Add(new(address, FleetDeviceKind.Nvme, PciDeviceId.Create(0x144d, 0xa808), "nvme", []));
        }

        return [.. devices.OrderBy(d => d.Address)];
    }

    private static (PciAddress Port, PciAddress Function) NextSlot(ref int slot)
    {
        var port = PciAddress.Create(0, 0, FirstFreeSlot + slot, 0);
        var function = PciAddress.Create(0, FirstExtraBus + slot, 0, 0);
        slot++;
        return (port, function);
    }

    private static SimulatedPciFunction RootPort(PciAddress port, PciAddress below) =>
        SimulatedPciCatalog.CannonLakeRootPort(port, (ushort)(0xa330 + below.Bus - FirstExtraBus));
}

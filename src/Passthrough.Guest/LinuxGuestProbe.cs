using Passthrough.Contracts;
using Passthrough.Contracts.Messaging;
using Passthrough.Contracts.Pci;
using Passthrough.Shell;

namespace Passthrough.Guest;

/// <summary>
/// Probes a Linux guest through an <see cref="IGuestFileSystem"/>: this machine (<see cref="LocalGuestFileSystem"/> at
/// <c>/</c>), a test or simulated tree, or a guest over SSH (<see cref="RemoteGuestFileSystem"/>). Reads in two batched
/// rounds (identity and listings, then every device attribute, link and the modules files) so a remote probe costs a
/// handful of round trips whatever the number of devices.
/// </summary>
/// <remarks>
/// What it cannot see is a fact in the report (null, Unknown, an advisory). It throws <see cref="GuestProbeException"/>
/// only when it cannot probe at all: <c>/proc/sys/kernel/osrelease</c> unreadable (not a Linux root), or the transport
/// failed (the cause classified: HostUnreachable, HostKeyMismatch, AuthenticationFailed, Timeout).
/// </remarks>
public sealed class LinuxGuestProbe : IGuestProbe
{
    private readonly IGuestFileSystem _fileSystem;
    private readonly LinuxGuestProbeOptions _options;

    /// <summary>Creates a probe reading through <paramref name="fileSystem"/>.</summary>
    /// <param name="fileSystem">Where to read.</param>
    /// <param name="options">Advisories and expectations; default <see cref="LinuxGuestProbeOptions.Default"/>.</param>
    public LinuxGuestProbe(IGuestFileSystem fileSystem, LinuxGuestProbeOptions? options = null)
    {
        _fileSystem = fileSystem ?? throw new ArgumentNullException(nameof(fileSystem));
        _options = options ?? LinuxGuestProbeOptions.Default;
    }

    /// <inheritdoc />
    public async Task<GuestReport> ProbeAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await ProbeCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (CommandException ex)
        {
            throw new GuestProbeException(ex.Message, ex) { Cause = Classify(ex) };
        }
    }

    private async Task<GuestReport> ProbeCoreAsync(CancellationToken cancellationToken)
    {
        var fs = _fileSystem;
        var advisories = new List<string>();

        // Round 1: identity files, pcifront presence, the two listings. Nothing here depends on guest-supplied text.
        var identityTask = fs.ReadTextsAsync(
            [GuestPaths.HypervisorType, GuestPaths.GuestType, GuestPaths.HypervisorFeatures, GuestPaths.XenCapabilities, GuestPaths.KernelRelease, GuestPaths.BootId],
            cancellationToken);
        var existingTask = fs.ExistingAsync([GuestPaths.PcifrontDriver, GuestPaths.PcifrontDevice, GuestPaths.PcifrontModuleInitState], cancellationToken);
        var pciTask = fs.ListDirectoryAsync(GuestPaths.PciDevices, cancellationToken);
        var xenBusTask = fs.ListDirectoryAsync(GuestPaths.XenBusDevices, cancellationToken);
        await Task.WhenAll(identityTask, existingTask, pciTask, xenBusTask).ConfigureAwait(false);
        var identity = await identityTask.ConfigureAwait(false);
        var existing = await existingTask.ConfigureAwait(false);
        var pciNames = await pciTask.ConfigureAwait(false);
        var xenBus = await xenBusTask.ConfigureAwait(false);

        var release = identity.GetValueOrDefault(GuestPaths.KernelRelease)?.Trim();
        if (string.IsNullOrEmpty(release))
        {
            throw new GuestProbeException(
                $"Cannot probe {fs.Description}: {GuestPaths.KernelRelease} is unreadable, so this is not a Linux system root (wrong --root, or not Linux).");
        }

        var isXen = string.Equals(identity.GetValueOrDefault(GuestPaths.HypervisorType)?.Trim(), "xen", StringComparison.Ordinal) ||
                    identity.GetValueOrDefault(GuestPaths.XenCapabilities) is not null ||
                    xenBus is { Count: > 0 };

        var addresses = new List<PciAddress>();
        foreach (var name in pciNames ?? [])
        {
            if (PciAddress.IsFullForm(name) && PciAddress.TryParse(name, out var address, out _) && address.ToString() == name)
            {
                addresses.Add(address);
            }
            else
            {
                advisories.Add($"Ignored {InputText.Quote(name)} in {GuestPaths.PciDevices}: not a PCI address.");
            }
        }

        addresses.Sort();

        // Round 2: every device attribute, the driver links, the modules files of the running release, the kernel log.
        var files = new List<string>();
        foreach (var address in addresses)
        {
            files.AddRange(GuestPaths.PciAttributes.Select(attribute => GuestPaths.PciAttribute(address, attribute)));
        }

        var releaseUsable = GuestPaths.IsValidKernelRelease(release);
        if (isXen && releaseUsable)
        {
            files.Add(GuestPaths.ModulesBuiltin(release));
            files.Add(GuestPaths.ModulesDep(release));
        }
        else if (isXen)
        {
            advisories.Add($"The kernel release {InputText.Quote(release)} is not usable in a path; /lib/modules was not read, so the pcifront module state may be Unknown.");
        }

        var textsTask = files.Count == 0
            ? Task.FromResult<IReadOnlyDictionary<string, string?>>(new Dictionary<string, string?>(StringComparer.Ordinal))
            : fs.ReadTextsAsync(files, cancellationToken);
        var linksTask = addresses.Count == 0
            ? Task.FromResult<IReadOnlyDictionary<string, string?>>(new Dictionary<string, string?>(StringComparer.Ordinal))
            : fs.ReadLinksAsync([.. addresses.Select(GuestPaths.PciDriverLink)], cancellationToken);
        var logTask = isXen && _options.ReadKernelLog ? fs.ReadKernelLogAsync(cancellationToken) : Task.FromResult<string?>(null);
        await Task.WhenAll(textsTask, linksTask, logTask).ConfigureAwait(false);
        var texts = await textsTask.ConfigureAwait(false);
        var links = await linksTask.ConfigureAwait(false);
        var log = await logTask.ConfigureAwait(false);

        var devices = new List<GuestPciDevice>();
        foreach (var address in addresses)
        {
            var device = ReadDevice(address, texts, links, advisories);
            if (device is not null)
            {
                devices.Add(device);
            }
        }

        // Guest type and pcifront.
        var (guestType, source, typeAdvisory) = isXen
            ? XenGuestType.Decide(
                identity.GetValueOrDefault(GuestPaths.GuestType),
                identity.GetValueOrDefault(GuestPaths.XenCapabilities),
                identity.GetValueOrDefault(GuestPaths.HypervisorFeatures),
                pciNames is null ? null : devices,
                xenBus)
            : (GuestType.Unknown, $"not a Xen guest: {GuestPaths.HypervisorType} is not 'xen'", null);
        if (typeAdvisory is not null)
        {
            advisories.Add(typeAdvisory);
        }

        var pcifront = DescribePcifront(isXen, guestType, release, releaseUsable, existing, texts);
        switch (pcifront.State)
        {
            case PcifrontState.Absent:
                advisories.Add($"The guest kernel lacks xen-pcifront ({release} neither loads nor lists it): a PV guest cannot see passed-through devices without it.");
                break;
            case PcifrontState.AvailableNotLoaded:
                advisories.Add("xen-pcifront is available but not loaded: run 'modprobe xen-pcifront' in the guest (and list it in /etc/modules), or let the pcifront remedy do it.");
                break;
            case PcifrontState.LoadedNoDevice:
                advisories.Add("xen-pcifront is loaded but there is no PCI frontend device (pci-0): the domain was built without PCI devices; cold-start the VM after assigning them.");
                break;
        }

        // The kernel log is optional evidence.
        IReadOnlyList<string> kernelLog = [];
        if (log is not null)
        {
            kernelLog = PcifrontDmesg.SelectLines(log);
        }
        else if (isXen && _options.ReadKernelLog)
        {
            advisories.Add("The kernel log is unreadable (dmesg refused: kernel.dmesg_restrict needs root; no /var/log/kern.log), so pcifront log lines were not checked.");
        }

        advisories.AddRange(KernelAdvisories.Evaluate(_options.Advisories, release, devices.Select(d => d.Class).Concat(_options.ExpectedClasses)));

        return new GuestReport(
            GuestOs.Linux,
            isXen,
            guestType,
            release,
            NonEmpty(identity.GetValueOrDefault(GuestPaths.BootId)),
            pcifront,
            devices.AsReadOnly(),
            kernelLog,
            advisories.AsReadOnly())
        {
            GuestTypeSource = source,
        };
    }

    private static PcifrontReport DescribePcifront(
        bool isXen,
        GuestType guestType,
        string release,
        bool releaseUsable,
        IReadOnlySet<string> existing,
        IReadOnlyDictionary<string, string?> texts)
    {
        var driverRegistered = existing.Contains(GuestPaths.PcifrontDriver);
        var frontendDevice = existing.Contains(GuestPaths.PcifrontDevice);
        if (!isXen)
        {
            return new PcifrontReport(PcifrontState.NotApplicable, PcifrontModule.Unknown, driverRegistered, frontendDevice);
        }

        var module = PcifrontDetection.Module(
            existing.Contains(GuestPaths.PcifrontModuleInitState),
            driverRegistered,
            releaseUsable ? texts.GetValueOrDefault(GuestPaths.ModulesBuiltin(release)) : null,
            releaseUsable ? texts.GetValueOrDefault(GuestPaths.ModulesDep(release)) : null);
        var state = PcifrontDetection.State(isXen, guestType, module, driverRegistered, frontendDevice);
        return new PcifrontReport(state, module, driverRegistered, frontendDevice);
    }

    private static GuestPciDevice? ReadDevice(
        PciAddress address,
        IReadOnlyDictionary<string, string?> texts,
        IReadOnlyDictionary<string, string?> links,
        List<string> advisories)
    {
        string? Read(string attribute) => texts.GetValueOrDefault(GuestPaths.PciAttribute(address, attribute));

        var vendor = Hex16(Read("vendor"));
        var device = Hex16(Read("device"));
        var classText = Read("class");
        if (vendor is null || device is null || !PciClass.TryParse(classText, out var pciClass, out _))
        {
            advisories.Add($"PCI function {address}: vendor, device or class unreadable or malformed; it is left out of the report.");
            return null;
        }

        var subsystemVendor = Hex16(Read("subsystem_vendor"));
        var subsystemDevice = Hex16(Read("subsystem_device"));
        PciDeviceId? subsystem = subsystemVendor is { } sv && subsystemDevice is { } sd ? PciDeviceId.Create(sv, sd) : null;
        return new GuestPciDevice(address, PciDeviceId.Create(vendor.Value, device.Value), subsystem, pciClass, DriverName(links.GetValueOrDefault(GuestPaths.PciDriverLink(address))));
    }

    private static ushort? Hex16(string? text)
    {
        if (text is null)
        {
            return null;
        }

        try
        {
            return PciDeviceId.ParseSysfsHex16(text);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    // "../../../bus/pci/drivers/ehci-pci" → "ehci-pci"; anything that does not end in drivers/NAME is no driver.
    internal static string? DriverName(string? linkTarget)
    {
        var path = linkTarget?.Trim().TrimEnd('/');
        if (string.IsNullOrEmpty(path))
        {
            return null;
        }

        var slash = path.LastIndexOf('/');
        var name = path[(slash + 1)..];
        var parent = slash < 0 ? string.Empty : path[..slash];
        return name.Length > 0 && name is not ("." or "..") && (parent.EndsWith("/drivers", StringComparison.Ordinal) || parent == "drivers")
            ? name
            : null;
    }

    private static string? NonEmpty(string? text)
    {
        var trimmed = text?.Trim();
        return string.IsNullOrEmpty(trimmed) ? null : trimmed;
    }

    internal static FailureCause Classify(CommandException exception) => exception switch
    {
        HostKeyMismatchException => FailureCause.HostKeyMismatch,
        AuthenticationFailedException => FailureCause.AuthenticationFailed,
        CommandTimeoutException => FailureCause.Timeout,
        ConnectionRefusedException or ConnectionLostException => FailureCause.HostUnreachable,
        _ => FailureCause.CommandFailed,
    };
}

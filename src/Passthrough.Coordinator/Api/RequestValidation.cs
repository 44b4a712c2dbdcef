using System.Diagnostics.CodeAnalysis;
using Passthrough.Contracts;
using Passthrough.Contracts.Api;
using Passthrough.Contracts.CoordinatorCommands;
using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Messaging;
using Passthrough.Contracts.Pci;

namespace Passthrough.Coordinator.Api;

/// <summary>A request that passed validation: typed values only.</summary>
internal sealed record ValidTarget(HostId Host, VmId Vm, IReadOnlyList<PciAddress> Devices, string RequestedBy);

/// <summary>
/// Turns API bodies into typed requests, or into the first error, naming the field (JSON path style, e.g.
/// <c>devices[1]</c>, <c>options.verifyTimeoutSeconds</c>) and the offending value.
/// </summary>
internal static class RequestValidation
{
    public const int MaxDevices = 64;
    public const int MaxRequestedByLength = 200;
    public static readonly TimeSpan MaxVerifyTimeout = TimeSpan.FromHours(2);

    public static bool TryPassthrough(PassthroughRequestBody? body, [NotNullWhen(true)] out ValidTarget? target,
        [NotNullWhen(true)] out PassthroughOptions? options, [NotNullWhen(false)] out ApiError? error)
    {
        options = null;
        if (!TryTarget(body?.Host, body?.Vm, body?.Devices, body?.RequestedBy, body is null, out target, out error))
        {
            return false;
        }

        return TryOptions(body!.Options, out options, out error);
    }

    public static bool TryRelease(ReleaseRequestBody? body, [NotNullWhen(true)] out ValidTarget? target,
        [NotNullWhen(true)] out ReleaseOptions? options, [NotNullWhen(false)] out ApiError? error)
    {
        options = null;
        if (!TryTarget(body?.Host, body?.Vm, body?.Devices, body?.RequestedBy, body is null, out target, out error))
        {
            return false;
        }

        var defaults = ReleaseOptions.Default;
        options = new ReleaseOptions(body!.AllowForcedShutdown ?? defaults.AllowForcedShutdown, body.RestartVm ?? defaults.RestartVm);
        return true;
    }

    private static bool TryTarget(string? hostText, string? vmText, IReadOnlyList<string>? deviceTexts, string? requestedBy, bool noBody,
        [NotNullWhen(true)] out ValidTarget? target, [NotNullWhen(false)] out ApiError? error)
    {
        target = null;
        if (noBody)
        {
            error = new ApiError("the request body is missing; send a JSON object with host, vm and devices");
            return false;
        }

        if (string.IsNullOrWhiteSpace(hostText))
        {
            error = new ApiError("host is required: the host's uuid", "host");
            return false;
        }

        if (!HostId.TryParse(hostText, out var host, out var hostError))
        {
            error = new ApiError($"host {InputText.Quote(hostText)} is not a host uuid: {hostError}", "host");
            return false;
        }

        if (string.IsNullOrWhiteSpace(vmText))
        {
            error = new ApiError("vm is required: the VM's uuid", "vm");
            return false;
        }

        if (!VmId.TryParse(vmText, out var vm, out var vmError))
        {
            error = new ApiError($"vm {InputText.Quote(vmText)} is not a VM uuid: {vmError}", "vm");
            return false;
        }

        if (deviceTexts is null || deviceTexts.Count == 0)
        {
            error = new ApiError("devices must name at least one PCI address (e.g. 0000:03:00.0)", "devices");
            return false;
        }

        if (deviceTexts.Count > MaxDevices)
        {
            error = new ApiError($"devices names {deviceTexts.Count} addresses; at most {MaxDevices} are accepted", "devices");
            return false;
        }

        List<PciAddress> devices = [];
        for (var i = 0; i < deviceTexts.Count; i++)
        {
            var field = $"devices[{i}]";
            if (!PciAddress.TryParse(deviceTexts[i], out var device, out var deviceError))
            {
                error = new ApiError($"{field} {InputText.Quote(deviceTexts[i])} is not a PCI address: {deviceError}", field);
                return false;
            }

            var first = devices.IndexOf(device);
            if (first >= 0)
            {
                error = new ApiError($"{field} {InputText.Quote(deviceTexts[i])} names {device} again (already devices[{first}])", field);
                return false;
            }

            devices.Add(device);
        }

        if (requestedBy is { Length: > MaxRequestedByLength })
        {
            error = new ApiError($"requestedBy is {requestedBy.Length} characters long; at most {MaxRequestedByLength} are accepted", "requestedBy");
            return false;
        }

        target = new ValidTarget(host, vm, devices, string.IsNullOrWhiteSpace(requestedBy) ? "api" : requestedBy.Trim());
        error = null;
        return true;
    }

    private static bool TryOptions(PassthroughOptionsBody? body, [NotNullWhen(true)] out PassthroughOptions? options,
        [NotNullWhen(false)] out ApiError? error)
    {
        options = null;
        var defaults = PassthroughOptions.Default;
        if (body is null)
        {
            options = defaults;
            error = null;
            return true;
        }

        if (body.HideMode is { } hideMode && !Enum.IsDefined(hideMode))
        {
            error = new ApiError($"options.hideMode {(int)hideMode} is not one of {string.Join(", ", Enum.GetNames<HideMode>())}", "options.hideMode");
            return false;
        }

        if (body.Snapshot is { } snapshot && !Enum.IsDefined(snapshot))
        {
            error = new ApiError($"options.snapshot {(int)snapshot} is not one of {string.Join(", ", Enum.GetNames<SnapshotPolicy>())}", "options.snapshot");
            return false;
        }

        if (body.Iommu is { } iommu && !Enum.IsDefined(iommu))
        {
            error = new ApiError($"options.iommu {(int)iommu} is not one of {string.Join(", ", Enum.GetNames<IommuPolicy>())}", "options.iommu");
            return false;
        }

        TimeSpan? verifyTimeout = null;
        if (body.VerifyTimeoutSeconds is { } seconds)
        {
            if (!double.IsFinite(seconds) || seconds < 1 || seconds > MaxVerifyTimeout.TotalSeconds)
            {
                error = new ApiError($"options.verifyTimeoutSeconds {seconds} must be between 1 and {MaxVerifyTimeout.TotalSeconds:0}", "options.verifyTimeoutSeconds");
                return false;
            }

            verifyTimeout = TimeSpan.FromSeconds(seconds);
        }

        var mode = body.HideMode ?? defaults.HideMode;
        var allowReboot = body.AllowHostReboot ?? defaults.AllowHostReboot;
        if (mode is HideMode.PersistWithReboot or HideMode.Dom0AccessApi && !allowReboot)
        {
            error = new ApiError($"options.hideMode {mode} reboots the host; set options.allowHostReboot to true to allow it", "options.allowHostReboot");
            return false;
        }

        if (body.GuestSsh is { } ssh && !TrySsh(ssh, out error))
        {
            return false;
        }

        options = new PassthroughOptions(mode, allowReboot, body.AllowForcedShutdown ?? defaults.AllowForcedShutdown, body.Snapshot ?? defaults.Snapshot,
            verifyTimeout, body.Iommu ?? defaults.Iommu, body.IncludeSiblings ?? defaults.IncludeSiblings, body.GuestSsh);
        error = null;
        return true;
    }

    private static bool TrySsh(GuestSshTarget ssh, [NotNullWhen(false)] out ApiError? error)
    {
        if (string.IsNullOrWhiteSpace(ssh.Address) || Uri.CheckHostName(ssh.Address) == UriHostNameType.Unknown)
        {
            error = new ApiError($"options.guestSsh.address {InputText.Quote(ssh.Address)} is not a host name or IP address", "options.guestSsh.address");
            return false;
        }

        if (ssh.Port is < 1 or > 65535)
        {
            error = new ApiError($"options.guestSsh.port {ssh.Port} must be between 1 and 65535", "options.guestSsh.port");
            return false;
        }

        if (string.IsNullOrWhiteSpace(ssh.User) || ssh.User.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            error = new ApiError($"options.guestSsh.user {InputText.Quote(ssh.User)} must be a login name without spaces", "options.guestSsh.user");
            return false;
        }

        if (ssh.HostKeySha256 is { } key && (!key.StartsWith("SHA256:", StringComparison.Ordinal) || key.Length < 8))
        {
            error = new ApiError($"options.guestSsh.hostKeySha256 {InputText.Quote(key)} must be a fingerprint like SHA256:…", "options.guestSsh.hostKeySha256");
            return false;
        }

        error = null;
        return true;
    }
}

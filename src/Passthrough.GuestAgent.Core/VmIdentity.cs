using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Passthrough.Contracts;
using Passthrough.Contracts.Ids;
using Passthrough.Guest;
using Passthrough.Shell;

namespace Passthrough.GuestAgent;

/// <summary>Where the agent learnt its VM uuid.</summary>
public enum VmIdSource
{
    /// <summary>The agent's configuration (<c>GuestAgent:VmUuid</c>).</summary>
    Configuration = 1,

    /// <summary>The SMBIOS system uuid (<c>/sys/class/dmi/id/product_uuid</c>): XenServer sets it to the VM uuid in HVM guests.</summary>
    Dmi,

    /// <summary>The domain's xenstore key <c>vm</c> (<c>/vm/&lt;uuid&gt;</c>), read with <c>xenstore-read vm</c>: PV guests have no SMBIOS.</summary>
    Xenstore,
}

/// <summary>The VM uuid and where it came from.</summary>
public sealed record VmIdentity(VmId Vm, VmIdSource Source);

/// <summary>The agent could not learn its VM uuid; the message says what was tried and how to configure it.</summary>
public sealed class VmIdentityException(string message) : Exception(message);

/// <summary>
/// Finds the VM uuid: the configured one, else the platform's. On Xen, HVM guests carry it as the SMBIOS uuid and every
/// guest with the Xen tools can read it from xenstore; a machine that is not a Xen guest has no VM uuid to find (its DMI
/// uuid is the hardware's), so there only configuration counts.
/// </summary>
public sealed class VmIdentityResolver
{
    /// <summary>The SMBIOS uuid file.</summary>
    public const string DmiProductUuid = "/sys/class/dmi/id/product_uuid";

    /// <summary>How long <c>xenstore-read</c> may take.</summary>
    public static readonly TimeSpan XenstoreTimeout = TimeSpan.FromSeconds(10);

    private readonly IGuestFileSystem? _fileSystem;
    private readonly ICommandRunner? _runner;
    private readonly string _xenstoreRead;
    private readonly ILogger _logger;

    /// <summary>Creates a resolver.</summary>
    /// <param name="fileSystem">Reads the DMI uuid (the Linux guest root); null where there is none (Windows).</param>
    /// <param name="runner">Runs <c>xenstore-read</c>; null to skip xenstore.</param>
    /// <param name="xenstoreRead">The program; default <c>xenstore-read</c> (on PATH).</param>
    /// <param name="logger">Logs why a source was passed over.</param>
    public VmIdentityResolver(IGuestFileSystem? fileSystem, ICommandRunner? runner, string xenstoreRead = "xenstore-read", ILogger? logger = null)
    {
        _fileSystem = fileSystem;
        ArgumentException.ThrowIfNullOrWhiteSpace(xenstoreRead);
        _runner = runner;
        _xenstoreRead = xenstoreRead;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>Resolves the VM uuid.</summary>
    /// <param name="configured">The configured uuid text, or null/empty to look at the platform.</param>
    /// <param name="isXen">Whether the probe found Xen; the platform is only asked on Xen.</param>
    /// <param name="cancellationToken">Cancels the look-up.</param>
    /// <exception cref="VmIdentityException">Configured text malformed, or no source answered.</exception>
    public async Task<VmIdentity> ResolveAsync(string? configured, bool isXen, CancellationToken cancellationToken)
    {
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return VmId.TryParse(configured.Trim(), out var id, out var error)
                ? new VmIdentity(id, VmIdSource.Configuration)
                : throw new VmIdentityException($"GuestAgent:VmUuid: {error}");
        }

        if (!isXen)
        {
            throw new VmIdentityException(
                "The probe found no Xen (no /sys/hypervisor/type = xen, no Xen platform device), so there is no VM uuid to discover: set GuestAgent:VmUuid.");
        }

        var dmi = _fileSystem is null ? null : (await _fileSystem.ReadTextAsync(DmiProductUuid, cancellationToken).ConfigureAwait(false))?.Trim();
        if (VmId.TryParse(dmi, out var fromDmi, out _) && fromDmi.Uuid.Value != Guid.Empty)
        {
            return new VmIdentity(fromDmi, VmIdSource.Dmi);
        }

        if (dmi is not null)
        {
            LogUnusable(DmiProductUuid, dmi);
        }

        var fromXenstore = await ReadXenstoreAsync(cancellationToken).ConfigureAwait(false);
        if (fromXenstore is { } vm)
        {
            return new VmIdentity(vm, VmIdSource.Xenstore);
        }

        throw new VmIdentityException(
            $"Cannot find this VM's uuid: {DmiProductUuid} is {(dmi is null ? "unreadable" : "not a uuid")} and '{_xenstoreRead} vm' did not answer /vm/<uuid> (install the Xen guest tools, or set GuestAgent:VmUuid).");
    }

    private async Task<VmId?> ReadXenstoreAsync(CancellationToken cancellationToken)
    {
        if (_runner is null)
        {
            return null;
        }

        try
        {
            var result = await _runner.RunAsync(new CommandRequest(_xenstoreRead, "vm") { Timeout = XenstoreTimeout }, cancellationToken).ConfigureAwait(false);
            var text = result.StandardOutput.Trim();
            if (result.Succeeded && TryParseVmPath(text, out var vm))
            {
                return vm;
            }

            LogUnusable("xenstore-read vm", result.Succeeded ? text : result.StandardError.Trim());
        }
        catch (CommandException ex)
        {
            LogUnusable("xenstore-read vm", ex.Message);
        }

        return null;
    }

    // Guest-supplied text is quoted (control characters escaped, cut) before it reaches a log line.
    private void LogUnusable(string source, string detail)
    {
        if (_logger.IsEnabled(LogLevel.Debug))
        {
            var quoted = InputText.Quote(detail);
            GuestAgentLog.VmIdSourceUnusable(_logger, source, quoted);
        }
    }

    /// <summary>Parses xenstore's <c>vm</c> value, <c>/vm/&lt;uuid&gt;</c>.</summary>
    public static bool TryParseVmPath(string? text, out VmId vm)
    {
        vm = default;
        const string prefix = "/vm/";
        return text is not null && text.StartsWith(prefix, StringComparison.Ordinal) && VmId.TryParse(text[prefix.Length..], out vm, out _);
    }
}

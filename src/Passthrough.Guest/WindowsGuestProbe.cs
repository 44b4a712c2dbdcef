using System.Text;
using Passthrough.Contracts.Messaging;
using Passthrough.Shell;

namespace Passthrough.Guest;

/// <summary>
/// Probes a Windows guest (always HVM on Xen) by running one fixed PowerShell script through an
/// <see cref="ICommandRunner"/> (the local runner for the agent) and parsing its CSV with <see cref="WindowsPnpParser"/>.
/// Xen is recognised by its platform PCI device (vendor 5853), which is then left out of the device list. There is no
/// pcifront on Windows: the state is NotApplicable.
/// </summary>
/// <remarks>
/// The script is passed as <c>-EncodedCommand</c> (base64 of UTF-16LE), so no quoting of the script ever happens. It
/// prints <c>#os VERSION</c> and <c>#boot TIME</c> lines, then the device CSV. For SSH to a Windows OpenSSH server the
/// runner's POSIX quoting does not fit cmd.exe: this probe is meant for the local runner on Windows.
/// </remarks>
public sealed class WindowsGuestProbe : IGuestProbe
{
    /// <summary>The script: OS version, last boot time (as the boot id), and every present PCI device as CSV.</summary>
    public const string Script =
        "$ErrorActionPreference = 'Stop'\n" +
        "[Console]::OutputEncoding = [System.Text.Encoding]::UTF8\n" +
        "'#os ' + [System.Environment]::OSVersion.Version.ToString()\n" +
        "'#boot ' + (Get-CimInstance -ClassName Win32_OperatingSystem).LastBootUpTime.ToUniversalTime().ToString('o')\n" +
        "Get-PnpDevice -PresentOnly | Where-Object { $_.InstanceId -like 'PCI\\*' } | " +
        "Select-Object InstanceId,Status,Class,FriendlyName," +
        "@{Name='CompatibleIds';Expression={$_.CompatibleID -join ' '}}," +
        "Service," +
        "@{Name='Location';Expression={(Get-PnpDeviceProperty -InstanceId $_.InstanceId -KeyName DEVPKEY_Device_LocationInfo -ErrorAction SilentlyContinue).Data}} | " +
        "ConvertTo-Csv -NoTypeInformation\n";

    private readonly ICommandRunner _runner;
    private readonly string _powerShell;

    /// <summary>Creates a probe that runs PowerShell through <paramref name="runner"/>.</summary>
    /// <param name="runner">Where PowerShell runs.</param>
    /// <param name="powerShell">The PowerShell program; default <c>powershell.exe</c> (Windows PowerShell 5.1, present on every Windows).</param>
    public WindowsGuestProbe(ICommandRunner runner, string powerShell = "powershell.exe")
    {
        _runner = runner ?? throw new ArgumentNullException(nameof(runner));
        ArgumentException.ThrowIfNullOrWhiteSpace(powerShell);
        _powerShell = powerShell;
    }

    /// <summary>The argument vector that runs <see cref="Script"/>.</summary>
    public static IReadOnlyList<string> Arguments { get; } =
        ["-NoProfile", "-NonInteractive", "-EncodedCommand", Convert.ToBase64String(Encoding.Unicode.GetBytes(Script))];

    /// <inheritdoc />
    public async Task<GuestReport> ProbeAsync(CancellationToken cancellationToken = default)
    {
        CommandResult result;
        try
        {
            result = await _runner.RunAsync(new CommandRequest(_powerShell, Arguments) { Timeout = TimeSpan.FromSeconds(60) }, cancellationToken).ConfigureAwait(false);
        }
        catch (CommandException ex)
        {
            throw new GuestProbeException($"Cannot run PowerShell on {_runner.Target}: {ex.Message}", ex) { Cause = LinuxGuestProbe.Classify(ex) };
        }

        if (!result.Succeeded)
        {
            var message = $"The PnP query on {_runner.Target} exited with status {result.ExitCode}: {result.StandardError.Trim()}";
            throw new GuestProbeException(message) { Cause = FailureCause.CommandFailed };
        }

        try
        {
            return ParseOutput(result.StandardOutput);
        }
        catch (FormatException ex)
        {
            throw new GuestProbeException($"The PnP query on {_runner.Target} printed something unexpected: {ex.Message}", ex) { Cause = FailureCause.CommandFailed };
        }
    }

    /// <summary>Builds the report from the script's output (exposed for tests on captured output).</summary>
    /// <exception cref="FormatException">The CSV part has no InstanceId/Status header.</exception>
    public static GuestReport ParseOutput(string output)
    {
        ArgumentNullException.ThrowIfNull(output);
        string? version = null;
        string? boot = null;
        var csv = new StringBuilder();
        foreach (var line in TextLines.Split(output))
        {
            if (line.StartsWith("#os ", StringComparison.Ordinal))
            {
                version = line[4..].Trim();
            }
            else if (line.StartsWith("#boot ", StringComparison.Ordinal))
            {
                boot = line[6..].Trim();
            }
            else
            {
                csv.Append(line).Append('\n');
            }
        }

        var all = WindowsPnpParser.Parse(csv.ToString(), includeXenPlatform: true);
        var isXen = all.Any(d => d.Id.IsXenPlatform);
        var devices = all.Where(d => !d.Id.IsXenPlatform).ToList();
        var advisories = devices
            .Where(d => d.Status != PnpStatus.Ok)
            .Select(d => $"Windows reports {d.FriendlyName ?? d.Id.ToString()} ({d.InstanceId}) as {d.Status}.")
            .ToList();
        return new GuestReport(
            GuestOs.Windows,
            isXen,
            isXen ? GuestType.HVM : GuestType.Unknown,
            string.IsNullOrEmpty(version) ? "unknown" : version,
            string.IsNullOrEmpty(boot) ? null : boot,
            new PcifrontReport(PcifrontState.NotApplicable, PcifrontModule.Unknown, false, false),
            [.. devices.Select(d => d.ToGuestDevice())],
            [],
            advisories.AsReadOnly())
        {
            GuestTypeSource = isXen ? "Windows runs on Xen only as HVM (Xen platform device 5853 present)" : "no Xen platform device (vendor 5853)",
        };
    }
}

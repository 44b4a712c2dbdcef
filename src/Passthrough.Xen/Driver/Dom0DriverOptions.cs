namespace Passthrough.Xen;

/// <summary>Settings of the dom0 driver. Defaults suit a real XenServer / XCP-ng host.</summary>
public sealed record Dom0DriverOptions
{
    /// <summary>Path of xapi's kernel command-line editor. Default <c>/opt/xensource/libexec/xen-cmdline</c>.</summary>
    public string XenCmdlinePath { get; init; } = "/opt/xensource/libexec/xen-cmdline";

    /// <summary>Timeout of one ordinary dom0 command. Default 60 s.</summary>
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Timeout of <c>xe vm-start</c> (domain build, PCI attach). Default 5 min.</summary>
    public TimeSpan VmStartTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Timeout of <c>xe vm-snapshot</c>, <c>snapshot-revert</c> and <c>snapshot-uninstall</c>: they copy or free disk
    /// metadata and take minutes on a large VM (xapi goes on when the client gives up). Default 10 min.
    /// </summary>
    public TimeSpan SnapshotTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Timeout of a forced shutdown. Default 2 min.</summary>
    public TimeSpan ForcedShutdownTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Timeout of <c>xe host-evacuate</c>. Default 30 min.</summary>
    public TimeSpan EvacuateTimeout { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>How often a rebooting host is asked whether it is back. Default 5 s.</summary>
    public TimeSpan RebootPollInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Timeout of each poll while a host reboots. Default 10 s.</summary>
    public TimeSpan RebootPollTimeout { get; init; } = TimeSpan.FromSeconds(10);
}

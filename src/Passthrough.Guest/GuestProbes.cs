using Passthrough.Shell;

namespace Passthrough.Guest;

/// <summary>Chooses the probe for this machine at run time.</summary>
public static class GuestProbes
{
    /// <summary>
    /// The probe of the machine this process runs on: <see cref="WindowsGuestProbe"/> on Windows, else a
    /// <see cref="LinuxGuestProbe"/> over <see cref="LocalGuestFileSystem"/> at <paramref name="root"/>.
    /// </summary>
    /// <param name="runner">Runs PowerShell (Windows) or dmesg (Linux, root <c>/</c>); default a <see cref="LocalCommandRunner"/>.</param>
    /// <param name="root">The Linux root; default <c>/</c>. Ignored on Windows.</param>
    /// <param name="options">Linux probe options; default <see cref="LinuxGuestProbeOptions.Default"/>.</param>
    public static IGuestProbe ForThisMachine(ICommandRunner? runner = null, string root = "/", LinuxGuestProbeOptions? options = null)
    {
        runner ??= new LocalCommandRunner();
        return OperatingSystem.IsWindows()
            ? new WindowsGuestProbe(runner)
            : new LinuxGuestProbe(new LocalGuestFileSystem(root, runner), options);
    }
}

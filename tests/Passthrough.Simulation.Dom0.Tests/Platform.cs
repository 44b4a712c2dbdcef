using System.Runtime.Versioning;

// Everything here runs POSIX sh shims, sshd and a mount namespace: Linux only, as root.
[assembly: SupportedOSPlatform("linux")]

using System.Globalization;
using System.Text.RegularExpressions;

namespace Passthrough.Shell;

/// <summary>
/// Where commands run: <c>local</c>, or <c>ssh://user@host:port</c> with an identity file and the server's pinned
/// host-key fingerprint. A target that exists is well-formed; parse with <see cref="Parse"/>.
/// </summary>
public abstract record CommandTarget
{
    protected CommandTarget()
    {
    }

    /// <summary>The local machine.</summary>
    public static LocalTarget Local { get; } = new();

    /// <summary>
    /// Parses <c>local</c> or <c>ssh://user@host[:port]</c>. For SSH the identity file and the host-key fingerprint
    /// (<c>SHA256:</c> + 43 base64 characters, as <c>ssh-keygen -lf</c> prints it) are required.
    /// </summary>
    /// <exception cref="FormatException">The text is not a target; the message quotes it and says why.</exception>
    public static CommandTarget Parse(string text, string? identityFile = null, string? hostKeyFingerprint = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        var trimmed = text.Trim();
        if (trimmed.Equals("local", StringComparison.OrdinalIgnoreCase))
        {
            return Local;
        }

        return SshTarget.Parse(trimmed, identityFile, hostKeyFingerprint);
    }
}

/// <summary>This machine: commands run as child processes.</summary>
public sealed record LocalTarget : CommandTarget
{
    internal LocalTarget()
    {
    }

    /// <inheritdoc />
    public override string ToString() => "local";
}

/// <summary>A host reached over SSH with key authentication and a pinned host key.</summary>
public sealed partial record SshTarget : CommandTarget
{
    /// <summary>The SSH port used when the target names none: 22.</summary>
    public const int DefaultPort = 22;

    private SshTarget(string user, string host, int port, string identityFile, string hostKeyFingerprint)
    {
        User = user;
        Host = host;
        Port = port;
        IdentityFile = identityFile;
        HostKeyFingerprint = hostKeyFingerprint;
    }

    /// <summary>The login name.</summary>
    public string User { get; }

    /// <summary>The host name or IP address (IPv6 without brackets).</summary>
    public string Host { get; }

    /// <summary>The TCP port.</summary>
    public int Port { get; }

    /// <summary>Path of the private key file used to authenticate.</summary>
    public string IdentityFile { get; }

    /// <summary>The server's pinned host key, <c>SHA256:</c> followed by unpadded base64.</summary>
    public string HostKeyFingerprint { get; }

    /// <summary>Builds a target from its parts, validating each.</summary>
    /// <exception cref="FormatException">A part is malformed; the message names it.</exception>
    public static SshTarget Create(string user, string host, int port, string identityFile, string hostKeyFingerprint)
    {
        var display = $"ssh://{user}@{host}:{port}";
        if (string.IsNullOrEmpty(user) || !UserPattern().IsMatch(user))
        {
            throw new FormatException($"SSH target '{Show(display)}': the user name '{Show(user)}' is not a valid login name.");
        }

        if (string.IsNullOrEmpty(host) || !(HostPattern().IsMatch(host) || System.Net.IPAddress.TryParse(host, out _)))
        {
            throw new FormatException($"SSH target '{Show(display)}': '{Show(host)}' is not a host name or IP address.");
        }

        if (port is < 1 or > 65535)
        {
            throw new FormatException($"SSH target '{Show(display)}': port {port} is outside 1-65535.");
        }

        if (string.IsNullOrWhiteSpace(identityFile))
        {
            throw new FormatException($"SSH target '{Show(display)}' needs an identity file (the private key to log in with).");
        }

        if (string.IsNullOrWhiteSpace(hostKeyFingerprint))
        {
            throw new FormatException(
                $"SSH target '{Show(display)}' needs the server's host-key fingerprint (SHA256:…, from 'ssh-keygen -lf' on the host); unpinned host keys are refused.");
        }

        var fingerprint = hostKeyFingerprint.Trim();
        if (!FingerprintPattern().IsMatch(fingerprint))
        {
            throw new FormatException(
                $"Host-key fingerprint '{Show(fingerprint)}' is not in the form SHA256: followed by 43 base64 characters (as 'ssh-keygen -lf' prints it).");
        }

        return new SshTarget(user, host, port, identityFile, fingerprint);
    }

    /// <summary>Parses <c>ssh://user@host[:port]</c> (IPv6 hosts in brackets).</summary>
    /// <exception cref="FormatException">The text is not such a target; the message quotes it and says why.</exception>
    public static new SshTarget Parse(string text, string? identityFile, string? hostKeyFingerprint)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length > 512)
        {
            throw new FormatException($"Target '{Show(text)}' is {text.Length} characters long; a target is 'local' or 'ssh://user@host:port'.");
        }

        var match = TargetPattern().Match(text);
        if (!match.Success)
        {
            throw new FormatException($"Target '{Show(text)}' is neither 'local' nor 'ssh://user@host[:port]'.");
        }

        var port = DefaultPort;
        if (match.Groups["port"].Success &&
            (!int.TryParse(match.Groups["port"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535))
        {
            throw new FormatException($"Target '{Show(text)}': port '{match.Groups["port"].Value}' is outside 1-65535.");
        }

        var host = match.Groups["v6"].Success ? match.Groups["v6"].Value : match.Groups["host"].Value;
        return Create(match.Groups["user"].Value, host, port, identityFile ?? string.Empty, hostKeyFingerprint ?? string.Empty);
    }

    /// <inheritdoc />
    public override string ToString() =>
        Host.Contains(':', StringComparison.Ordinal) ? $"ssh://{User}@[{Host}]:{Port}" : $"ssh://{User}@{Host}:{Port}";

    // Quotes user input safely inside an error message: control characters escaped, long values cut.
    internal static string Show(string value)
    {
        var shown = value.Length > 80 ? value[..80] + $"…({value.Length} chars)" : value;
        return Regex.Replace(shown, @"[\x00-\x1f\x7f]", m => $"\\x{(int)m.Value[0]:x2}");
    }

    [GeneratedRegex(@"^ssh://(?<user>[^@/\s]+)@(?:\[(?<v6>[0-9A-Fa-f:.]+)\]|(?<host>[^:/\s\[\]]+))(?::(?<port>[0-9]{1,5}))?/?$")]
    private static partial Regex TargetPattern();

    [GeneratedRegex(@"^[a-z_][a-z0-9_.-]{0,31}\$?$", RegexOptions.IgnoreCase)]
    private static partial Regex UserPattern();

    [GeneratedRegex(@"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")]
    private static partial Regex HostPattern();

    [GeneratedRegex(@"^SHA256:[A-Za-z0-9+/]{43}$")]
    private static partial Regex FingerprintPattern();
}

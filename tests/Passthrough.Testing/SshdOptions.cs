namespace Passthrough.Testing;

/// <summary>How an <see cref="SshdFixture"/> configures its sshd.</summary>
public sealed record SshdOptions
{
    /// <summary>Where OpenSSH's server is installed; default <c>/usr/sbin/sshd</c> (Debian's openssh-server).</summary>
    public string SshdPath { get; init; } = "/usr/sbin/sshd";

    /// <summary>Lines appended verbatim to the generated <c>sshd_config</c>; default none.</summary>
    public IReadOnlyList<string> ExtraConfigLines { get; init; } = [];

    /// <summary>
    /// Environment variables set in every session (sshd <c>SetEnv</c>, OpenSSH 7.8 or newer); default none.
    /// A <c>PATH</c> here replaces the default system path; the fixture's <see cref="SshdFixture.BinDirectory"/> is
    /// always put in front of it. Note that root's <c>~/.bashrc</c> on the machine may still prepend its own entries.
    /// </summary>
    public IReadOnlyDictionary<string, string> SessionEnvironment { get; init; } = new Dictionary<string, string>();

    /// <summary>How long sshd may take to accept connections and send its banner; default 10 seconds.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(10);
}

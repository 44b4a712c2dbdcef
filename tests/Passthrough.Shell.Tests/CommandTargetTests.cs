namespace Passthrough.Shell.Tests;

public sealed class CommandTargetTests
{
    private const string Fingerprint = "SHA256:aT/ZusIhXO+0ye3pnzJk8npk+68iSK5I8hVWtcscbhA";
    private const string Key = "/etc/passthrough/id_ed25519";

    [Theory]
    [InlineData("local")]
    [InlineData("LOCAL")]
    [InlineData("  local ")]
    public void Parses_local_in_any_case(string text)
    {
        var target = CommandTarget.Parse(text);

        Assert.Same(CommandTarget.Local, target);
        Assert.Equal("local", target.ToString());
    }

    [Theory]
    [InlineData("ssh://root@dom0", "root", "dom0", 22, "ssh://root@dom0:22")]
    [InlineData("ssh://root@xen-01.lab.example", "root", "xen-01.lab.example", 22, "ssh://root@xen-01.lab.example:22")]
    [InlineData("ssh://u@10.0.0.1:2222", "u", "10.0.0.1", 2222, "ssh://u@10.0.0.1:2222")]
    [InlineData("ssh://u@[::1]:22", "u", "::1", 22, "ssh://u@[::1]:22")]
    [InlineData("ssh://svc_agent@[fe80::1]", "svc_agent", "fe80::1", 22, "ssh://svc_agent@[fe80::1]:22")]
    public void Parses_ssh_targets(string text, string user, string host, int port, string display)
    {
        var target = Assert.IsType<SshTarget>(CommandTarget.Parse(text, Key, Fingerprint));

        Assert.Equal(user, target.User);
        Assert.Equal(host, target.Host);
        Assert.Equal(port, target.Port);
        Assert.Equal(Key, target.IdentityFile);
        Assert.Equal(Fingerprint, target.HostKeyFingerprint);
        Assert.Equal(display, target.ToString());
    }

    [Fact]
    public void Equal_texts_give_equal_targets_so_they_can_key_a_connection_pool()
    {
        Assert.Equal(CommandTarget.Parse("ssh://root@dom0", Key, Fingerprint), CommandTarget.Parse("ssh://root@dom0:22", Key, Fingerprint));
        Assert.NotEqual(CommandTarget.Parse("ssh://root@dom0", Key, Fingerprint), CommandTarget.Parse("ssh://root@dom0:2222", Key, Fingerprint));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    public void Refuses_an_ssh_target_without_a_pinned_fingerprint(string? fingerprint)
    {
        var error = Assert.Throws<FormatException>(() => CommandTarget.Parse("ssh://root@dom0", Key, fingerprint));

        Assert.Contains("host-key fingerprint", error.Message, StringComparison.Ordinal);
        Assert.Contains("unpinned host keys are refused", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("MD5:97:70:33:82:fd:29:3a:73:39:af:6a:07:ad:f8:80:49")]
    [InlineData("SHA256:tooShort")]
    [InlineData("aT/ZusIhXO+0ye3pnzJk8npk+68iSK5I8hVWtcscbhA")]
    [InlineData("SHA256:aT/ZusIhXO+0ye3pnzJk8npk+68iSK5I8hVWtcscbhA=")]
    [InlineData("SHA256:aT/ZusIhXO+0ye3pnzJk8npk+68iSK5I8hVWtcscb!A")]
    public void Refuses_a_fingerprint_not_in_OpenSSH_SHA256_form(string fingerprint)
    {
        var error = Assert.Throws<FormatException>(() => CommandTarget.Parse("ssh://root@dom0", Key, fingerprint));

        Assert.Contains("SHA256: followed by 43 base64 characters", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Refuses_an_ssh_target_without_an_identity_file()
    {
        var error = Assert.Throws<FormatException>(() => CommandTarget.Parse("ssh://root@dom0", null, Fingerprint));

        Assert.Contains("needs an identity file", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ssh://root@dom0:0", "port '0' is outside 1-65535")]
    [InlineData("ssh://root@dom0:70000", "port '70000' is outside 1-65535")]
    [InlineData("ssh://dom0:22", "neither 'local' nor 'ssh://user@host[:port]'")]
    [InlineData("ssh://@dom0", "neither 'local' nor 'ssh://user@host[:port]'")]
    [InlineData("dom0", "neither 'local' nor 'ssh://user@host[:port]'")]
    [InlineData("ftp://root@dom0", "neither 'local' nor 'ssh://user@host[:port]'")]
    [InlineData("ssh://root@dom0:22/path", "neither 'local' nor 'ssh://user@host[:port]'")]
    [InlineData("ssh://root@[not-v6]:22", "neither 'local' nor 'ssh://user@host[:port]'")]
    [InlineData("ssh://ro;ot@dom0", "is not a valid login name")]
    [InlineData("ssh://root@-dom0", "is not a host name or IP address")]
    [InlineData("ssh://root@dom0..lab", "is not a host name or IP address")]
    public void Refuses_malformed_targets_saying_why(string text, string reason)
    {
        var error = Assert.Throws<FormatException>(() => CommandTarget.Parse(text, Key, Fingerprint));

        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Refuses_a_10_kB_string_with_a_short_message()
    {
        var text = "ssh://root@" + new string('a', 10_000 - 11);

        var error = Assert.Throws<FormatException>(() => CommandTarget.Parse(text, Key, Fingerprint));

        Assert.Contains("10000 characters", error.Message, StringComparison.Ordinal);
        Assert.True(error.Message.Length < 300, $"message is {error.Message.Length} characters long");
    }

    [Fact]
    public void Refuses_an_embedded_newline_and_shows_it_escaped()
    {
        var error = Assert.Throws<FormatException>(() => CommandTarget.Parse("ssh://root@dom0\nevil:22", Key, Fingerprint));

        Assert.Contains("\\x0a", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void Create_validates_each_part()
    {
        Assert.Throws<FormatException>(() => SshTarget.Create("root", "dom0", 0, Key, Fingerprint));
        Assert.Throws<FormatException>(() => SshTarget.Create("", "dom0", 22, Key, Fingerprint));
        Assert.Throws<FormatException>(() => SshTarget.Create("root", "", 22, Key, Fingerprint));
        Assert.Equal("ssh://root@dom0:2222", SshTarget.Create("root", "dom0", 2222, Key, " " + Fingerprint + " ").ToString());
    }
}

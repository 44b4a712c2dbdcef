using Passthrough.Contracts.Pci;

namespace Passthrough.Guest.Tests;

public sealed class GuestPathsTests
{
    // Paths an operator, a buggy caller or a hostile guest might try to get the agentless probe to read.
    public static TheoryData<string> Hostile() =>
    [
        "/etc/shadow",
        "/root/.ssh/id_rsa",
        "/sys/bus/pci/devices/../../../etc/shadow",
        "/sys/bus/pci/devices/0000:00:00.0/../../../../etc/passwd",
        "/sys/bus/pci/devices/0000:00:00.0/config",
        "/sys/bus/pci/devices/0000:00:00.0/remove",
        "/sys/bus/pci/devices/0000:00:20.0/vendor",
        "/lib/modules/../../etc/modules.dep",
        "/lib/modules/.hidden/modules.dep",
        "/lib/modules/3.4.9/../../../etc/shadow",
        "/proc/sys/kernel/osrelease; id",
        "/proc/sys/kernel/osrelease\n/etc/shadow",
        "$(id)",
        "`id`",
        "/sys/hypervisor/type ",
        "sys/hypervisor/type",
        "//sys/hypervisor/type",
        "/sys/hypervisor/./type",
        "-rf",
        "",
    ];

    [Theory]
    [MemberData(nameof(Hostile))]
    public void Hostile_paths_are_not_allowed(string path)
    {
        Assert.False(GuestPaths.IsAllowed(path));
        Assert.Throws<ArgumentException>(() => GuestPaths.EnsureAllowed(path));
    }

    [Fact]
    public void The_probes_own_paths_are_allowed()
    {
        var bdf = PciAddress.Parse("0000:00:1f.2");

        Assert.True(GuestPaths.IsAllowed(GuestPaths.GuestType));
        Assert.True(GuestPaths.IsAllowed(GuestPaths.PciAttribute(bdf, "subsystem_vendor")));
        Assert.True(GuestPaths.IsAllowed(GuestPaths.PciDriverLink(bdf)));
        Assert.True(GuestPaths.IsAllowed(GuestPaths.ModulesDep("6.1.0-18-amd64")));
        Assert.True(GuestPaths.IsAllowed(GuestPaths.ModulesBuiltin("5.14.0-362.el9.x86_64")));
    }

    [Theory]
    [InlineData("..")]
    [InlineData("../../etc")]
    [InlineData("3.4.9/x")]
    [InlineData("3.4.9 ")]
    [InlineData("")]
    public void A_kernel_release_that_is_not_one_plain_path_component_builds_no_path(string release)
    {
        Assert.False(GuestPaths.IsValidKernelRelease(release));
        Assert.Throws<ArgumentException>(() => GuestPaths.ModulesDep(release));
    }

    [Fact]
    public void Only_the_attributes_the_probe_reads_can_be_built()
    {
        Assert.Throws<ArgumentException>(() => GuestPaths.PciAttribute(PciAddress.Parse("0000:00:00.0"), "config"));
    }
}

using Passthrough.Xen.Parsing;

namespace Passthrough.Xen.Tests;

public sealed class XeHelpTests
{
    [Fact]
    public void Unknown_command_text_means_the_host_lacks_the_command_even_with_exit_code_0()
    {
        Assert.True(XeHelp.IsUnknownCommand("Unknown command 'pci-disable-dom0-access'\n"));
    }

    [Fact]
    public void The_stderr_form_of_running_an_unknown_command_is_recognised_too()
    {
        Assert.True(XeHelp.IsUnknownCommand("Unknown command: pci-disable-dom0-access\n"));
    }

    [Fact]
    public void Help_for_a_known_command_is_not_unknown()
    {
        var help = string.Join('\n',
            "command name            : pci-disable-dom0-access",
            "        reqd params     : uuid",
            "        optional params : ",
            "        description     : Return a PCI device to dom0 at the next boot.",
            "");

        Assert.False(XeHelp.IsUnknownCommand(help));
    }

    [Fact]
    public void Output_that_is_neither_is_not_guessed()
    {
        Assert.Throws<XenParseException>(() => XeHelp.IsUnknownCommand(string.Empty));
        var ex = Assert.Throws<XenParseException>(() => XeHelp.IsUnknownCommand("Error: Connection refused (calling connect )\n"));
        Assert.Contains("Connection refused", ex.Message, StringComparison.Ordinal);
    }
}

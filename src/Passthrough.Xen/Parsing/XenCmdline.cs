using Passthrough.Contracts.Pci;

namespace Passthrough.Xen.Parsing;

/// <summary>Reads <c>/opt/xensource/libexec/xen-cmdline</c> answers about the next-boot dom0 command line.</summary>
public static class XenCmdline
{
    /// <summary>
    /// Reads <c>xen-cmdline --get-dom0 xen-pciback.hide</c>: <c>xen-pciback.hide=(0000:00:02.0)(0000:00:02.1)</c>, or an empty
    /// line when nothing is hidden. Short or repeated entries are accepted and reported in
    /// <see cref="Dom0HideListParse.Normalisations"/> (see <see cref="Dom0HideList.Parse"/>).
    /// </summary>
    /// <exception cref="XenParseException">The answer is not a hide list; the inner message names the bad entry.</exception>
    public static Dom0HideListParse ParseHideList(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Dom0HideList.TryParse(text, out var parse, out var error)
            ? parse
            : throw new XenParseException("xen-cmdline --get-dom0 xen-pciback.hide output", error, OutputText.StripFinalNewline(text));
    }
}

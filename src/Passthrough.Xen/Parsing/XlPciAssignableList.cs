using Passthrough.Contracts.Pci;

namespace Passthrough.Xen.Parsing;

/// <summary>
/// Reads <c>xl pci-assignable-list</c>: one function per line, the proof that pciback owns it. From Xen 4.15 each line
/// carries a trailing space; older tools may print the short form without domain (read as domain 0000).
/// </summary>
public static class XlPciAssignableList
{
    private const string Subject = "xl pci-assignable-list output";

    /// <summary>The listed functions in printed order, duplicates removed. Empty output is the empty list.</summary>
    /// <exception cref="XenParseException">A line is not a PCI address.</exception>
    public static IReadOnlyList<PciAddress> Parse(string text)
    {
        var addresses = new List<PciAddress>();
        var lines = OutputText.Lines(text);
        for (var i = 0; i < lines.Length; i++)
        {
            var entry = lines[i].Trim();
            if (entry.Length == 0)
            {
                continue;
            }

            if (!PciAddress.TryParse(entry, out var address, out var error))
            {
                throw new XenParseException(Subject, error, lines[i], i + 1);
            }

            if (!addresses.Contains(address))
            {
                addresses.Add(address);
            }
        }

        return addresses.AsReadOnly();
    }
}

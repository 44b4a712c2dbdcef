using System.Globalization;
using Passthrough.Contracts;
using Passthrough.Contracts.Pci;

namespace Passthrough.Guest;

/// <summary>
/// A known problem of some guest kernels with some kinds of passed-through device: reported as a warning in
/// <see cref="GuestReport.Advisories"/>, never a refusal.
/// </summary>
/// <param name="VersionPrefixOrRange">
/// Either a version prefix matched on whole numeric components (<c>3.5</c> matches <c>3.5</c>, <c>3.5.7</c>,
/// <c>3.5.0-17-generic</c>, not <c>3.50</c>), or a half-open range <c>FROM..TO</c> (<c>3.5..3.6</c>: from 3.5 inclusive
/// to 3.6 exclusive; missing components count as 0).
/// </param>
/// <param name="DeviceClassHint">
/// The PCI classes it concerns, as a hex prefix of the six-digit class code (<c>0c03</c> USB controllers, <c>03</c>
/// display, <c>0c0330</c> xHCI only); empty or <c>*</c> for any device, and then it applies without any device.
/// </param>
/// <param name="Text">What to tell the operator, with the fix.</param>
public sealed record KernelAdvisory(string VersionPrefixOrRange, string DeviceClassHint, string Text)
{
    /// <inheritdoc cref="KernelAdvisory" path="/param[@name='VersionPrefixOrRange']"/>
    public string VersionPrefixOrRange { get; } = CheckVersion(VersionPrefixOrRange);

    /// <inheritdoc cref="KernelAdvisory" path="/param[@name='DeviceClassHint']"/>
    public string DeviceClassHint { get; } = CheckClass(DeviceClassHint);

    /// <inheritdoc cref="KernelAdvisory" path="/param[@name='Text']"/>
    public string Text { get; } = string.IsNullOrWhiteSpace(Text) ? throw new ArgumentException("A kernel advisory needs a text.", nameof(Text)) : Text;

    /// <summary>True when the kernel release matches <see cref="VersionPrefixOrRange"/>.</summary>
    public bool MatchesKernel(string kernelRelease)
    {
        var version = KernelVersion.Numbers(kernelRelease);
        if (version.Count == 0)
        {
            return false;
        }

        var range = VersionPrefixOrRange.Split("..", 2);
        if (range.Length == 2)
        {
            return KernelVersion.Compare(version, KernelVersion.Numbers(range[0])) >= 0 &&
                   KernelVersion.Compare(version, KernelVersion.Numbers(range[1])) < 0;
        }

        var prefix = KernelVersion.Numbers(VersionPrefixOrRange);
        return version.Count >= prefix.Count && prefix.Select((n, i) => version[i] == n).All(same => same);
    }

    /// <summary>True when <paramref name="pciClass"/> is one of the classes this advisory concerns.</summary>
    public bool MatchesClass(PciClass pciClass) =>
        DeviceClassHint.Length == 0 || pciClass.ToString().StartsWith(DeviceClassHint, StringComparison.Ordinal);

    /// <summary>True when the kernel matches and, for a class-specific advisory, one of <paramref name="classes"/> matches.</summary>
    public bool AppliesTo(string kernelRelease, IEnumerable<PciClass> classes)
    {
        ArgumentNullException.ThrowIfNull(classes);
        return MatchesKernel(kernelRelease) && (DeviceClassHint.Length == 0 || classes.Any(MatchesClass));
    }

    private static string CheckVersion(string versionPrefixOrRange)
    {
        ArgumentNullException.ThrowIfNull(versionPrefixOrRange);
        var parts = versionPrefixOrRange.Split("..");
        if (parts.Length is < 1 or > 2 || parts.Any(p => !KernelVersion.IsPlain(p)))
        {
            throw new ArgumentException(
                $"{InputText.Quote(versionPrefixOrRange)} is neither a kernel version prefix (3.5) nor a range FROM..TO (3.5..3.6).", nameof(versionPrefixOrRange));
        }

        return versionPrefixOrRange;
    }

    private static string CheckClass(string deviceClassHint)
    {
        ArgumentNullException.ThrowIfNull(deviceClassHint);
        var hint = deviceClassHint.Trim().ToLowerInvariant();
        if (hint is "*" or "")
        {
            return string.Empty;
        }

        if (hint.StartsWith("0x", StringComparison.Ordinal))
        {
            hint = hint[2..];
        }

        return hint.Length is 2 or 4 or 6 && hint.All(char.IsAsciiHexDigit)
            ? hint
            : throw new ArgumentException(
                $"{InputText.Quote(deviceClassHint)} is not a PCI class hint (2, 4 or 6 hex digits such as 0c03, or * for any).", nameof(deviceClassHint));
    }
}

/// <summary>The kernel advisories the probe applies unless configured otherwise.</summary>
public static class KernelAdvisories
{
    /// <summary>
    /// The Xen wiki's advice of the tutorial's time: 3.5.x guest kernels broke passthrough of USB controllers; 3.4.9 or
    /// 3.3.8 were recommended.
    /// </summary>
    public static KernelAdvisory Usb35 { get; } = new(
        "3.5",
        "0c03",
        "Linux 3.5.x guest kernels are known to break PCI passthrough of USB controllers (Xen wiki); if the controller " +
        "misbehaves, boot the guest with 3.4.9 or 3.3.8 instead.");

    /// <summary>The seeded list: <see cref="Usb35"/>.</summary>
    public static IReadOnlyList<KernelAdvisory> Default { get; } = [Usb35];

    /// <summary>The advisory texts that apply, each prefixed with the kernel release.</summary>
    public static IReadOnlyList<string> Evaluate(IEnumerable<KernelAdvisory> advisories, string kernelRelease, IEnumerable<PciClass> classes)
    {
        ArgumentNullException.ThrowIfNull(advisories);
        ArgumentNullException.ThrowIfNull(kernelRelease);
        var classList = classes?.ToList() ?? [];
        return [.. advisories.Where(a => a.AppliesTo(kernelRelease, classList)).Select(a => $"kernel {kernelRelease}: {a.Text}")];
    }
}

/// <summary>The leading numeric components of a kernel release: <c>3.5.0-17-generic</c> → 3, 5, 0.</summary>
internal static class KernelVersion
{
    public static List<int> Numbers(string? release)
    {
        var numbers = new List<int>();
        if (release is null)
        {
            return numbers;
        }

        foreach (var part in release.Trim().Split('.'))
        {
            var digits = new string([.. part.TakeWhile(char.IsAsciiDigit)]);
            if (digits.Length == 0 || !int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            {
                break;
            }

            numbers.Add(value);
            if (digits.Length != part.Length)
            {
                break;
            }
        }

        return numbers;
    }

    public static bool IsPlain(string text) =>
        text.Length > 0 && text.Split('.').All(p => p.Length is > 0 and <= 6 && p.All(char.IsAsciiDigit));

    public static int Compare(IReadOnlyList<int> left, IReadOnlyList<int> right)
    {
        for (var i = 0; i < Math.Max(left.Count, right.Count); i++)
        {
            var difference = (i < left.Count ? left[i] : 0).CompareTo(i < right.Count ? right[i] : 0);
            if (difference != 0)
            {
                return difference;
            }
        }

        return 0;
    }
}

using System.Collections;
using System.Globalization;
using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Messaging;
using Passthrough.Contracts.Pci;

namespace Passthrough.Simulation.Model;

/// <summary>
/// Everything an undo must restore on a host, captured as a value: two captures are equal exactly when the hosts agree on
/// every driver binding, pciback's slots and load state, the next-boot hide list text, the booted command line, the
/// enabled flag and every VM's power state, other-config and snapshot list. Boot ids, domain ids and timings are left out.
/// </summary>
/// <remarks>
/// <c>Assert.Equal(before, after)</c> prints both sides through <see cref="ToString"/>, one fact per line;
/// <see cref="DiffAgainst"/> lists only the lines that differ.
/// </remarks>
public sealed record HostStateSnapshot
{
    /// <summary>Whether the host accepts VMs.</summary>
    public required bool Enabled { get; init; }

    /// <summary>The booted dom0 command line (<c>/proc/cmdline</c>).</summary>
    public required string BootedDom0Cmdline { get; init; }

    /// <summary>The next-boot <c>xen-pciback.hide=</c> value exactly as written; null when absent.</summary>
    public required string? NextBootHideRaw { get; init; }

    /// <summary>Whether pciback is loaded.</summary>
    public required bool PcibackLoaded { get; init; }

    /// <summary>pciback's slots, in address order.</summary>
    public required ValueList<PciAddress> PcibackSlots { get; init; }

    /// <summary>Every function's bound driver, in address order.</summary>
    public required ValueList<FunctionBinding> Functions { get; init; }

    /// <summary>Every VM except dom0, in the host's order.</summary>
    public required ValueList<VmStateSnapshot> Vms { get; init; }

    /// <summary>One line per fact, <c>key: value</c>.</summary>
    public IReadOnlyList<string> Describe() => [.. Facts().Select(f => $"{f.Key}: {f.Value}")];

    /// <summary>
    /// The facts that differ from <paramref name="other"/>: <c>- key: this value</c> then <c>+ key: other value</c>;
    /// empty when equal.
    /// </summary>
    public IReadOnlyList<string> DiffAgainst(HostStateSnapshot other)
    {
        ArgumentNullException.ThrowIfNull(other);
        var mine = Facts().ToList();
        var theirs = other.Facts().ToList();
        var theirMap = theirs.ToDictionary(f => f.Key, f => f.Value, StringComparer.Ordinal);
        var myMap = mine.ToDictionary(f => f.Key, f => f.Value, StringComparer.Ordinal);
        var lines = new List<string>();
        foreach (var (key, value) in mine)
        {
            if (!theirMap.TryGetValue(key, out var otherValue))
            {
                lines.Add($"- {key}: {value}");
                lines.Add($"+ {key}: (absent)");
            }
            else if (!string.Equals(value, otherValue, StringComparison.Ordinal))
            {
                lines.Add($"- {key}: {value}");
                lines.Add($"+ {key}: {otherValue}");
            }
        }

        foreach (var (key, value) in theirs)
        {
            if (!myMap.ContainsKey(key))
            {
                lines.Add($"- {key}: (absent)");
                lines.Add($"+ {key}: {value}");
            }
        }

        return lines;
    }

    /// <inheritdoc />
    public override string ToString() => Environment.NewLine + string.Join(Environment.NewLine, Describe());

    internal static HostStateSnapshot Of(SimulatedHost host) => new()
    {
        Enabled = host.Enabled,
        BootedDom0Cmdline = host.BootedDom0Cmdline,
        NextBootHideRaw = host.NextBootHideRaw,
        PcibackLoaded = host.PcibackLoaded,
        PcibackSlots = new([.. host.PcibackSlots.Order()]),
        Functions = new([.. host.PciFunctions.OrderBy(f => f.Address).Select(f => new FunctionBinding(f.Address, f.BoundDriver))]),
        Vms = new([.. host.Vms.Where(v => !v.IsControlDomain).Select(VmStateSnapshot.Of)]),
    };

    private IEnumerable<KeyValuePair<string, string>> Facts()
    {
        yield return new("enabled", Enabled ? "true" : "false");
        yield return new("booted dom0 cmdline", BootedDom0Cmdline);
        yield return new("next-boot xen-pciback.hide", NextBootHideRaw ?? "(absent)");
        yield return new("pciback", PcibackLoaded ? "loaded" : "not loaded");
        yield return new("pciback slots", PcibackSlots.Count == 0 ? "(none)" : string.Join(' ', PcibackSlots));
        foreach (var function in Functions)
        {
            yield return new($"function {function.Address} driver", function.Driver ?? "(unbound)");
        }

        foreach (var vm in Vms)
        {
            var who = $"vm {vm.Uuid} ({vm.NameLabel})";
            yield return new($"{who} power-state", vm.PowerState.ToString().ToLowerInvariant());
            yield return new($"{who} other-config", FormatMap(vm.OtherConfig));
            yield return new($"{who} snapshots", vm.Snapshots.Count == 0 ? "(none)" : string.Join(" | ", vm.Snapshots.Select(s => s.ToString())));
        }
    }

    internal static string FormatMap(IEnumerable<KeyValuePair<string, string>> map) =>
        "{" + string.Join("; ", map.Select(p => $"{p.Key}: {p.Value}")) + "}";
}

/// <summary>A function and the driver bound to it (null: unbound).</summary>
public sealed record FunctionBinding(PciAddress Address, string? Driver);

/// <summary>A VM's restorable state.</summary>
public sealed record VmStateSnapshot(
    XenUuid Uuid,
    string NameLabel,
    VmPowerState PowerState,
    ValueList<KeyValuePair<string, string>> OtherConfig,
    ValueList<SnapshotSummary> Snapshots)
{
    internal static VmStateSnapshot Of(SimulatedVm vm) => new(
        vm.Uuid,
        vm.NameLabel,
        vm.PowerState,
        new([.. vm.OtherConfig]),
        new([.. vm.Snapshots.Select(s => new SnapshotSummary(s.Uuid, s.NameLabel, s.PowerState, new([.. s.OtherConfig])))]));
}

/// <summary>A snapshot as a revert would apply it.</summary>
public sealed record SnapshotSummary(XenUuid Uuid, string NameLabel, VmPowerState PowerState, ValueList<KeyValuePair<string, string>> OtherConfig)
{
    /// <inheritdoc />
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Uuid} ({NameLabel}) {PowerState.ToString().ToLowerInvariant()} {HostStateSnapshot.FormatMap(OtherConfig)}");
}

/// <summary>An immutable list compared item by item (records holding it stay value-equal).</summary>
/// <typeparam name="T">The item type; compared with <see cref="EqualityComparer{T}.Default"/>.</typeparam>
public sealed class ValueList<T> : IReadOnlyList<T>, IEquatable<ValueList<T>>
{
    private readonly T[] _items;

    /// <summary>Wraps a copy of <paramref name="items"/>.</summary>
    public ValueList(IEnumerable<T> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        _items = [.. items];
    }

    /// <inheritdoc />
    public int Count => _items.Length;

    /// <inheritdoc />
    public T this[int index] => _items[index];

    /// <inheritdoc />
    public IEnumerator<T> GetEnumerator() => ((IEnumerable<T>)_items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _items.GetEnumerator();

    /// <inheritdoc />
    public bool Equals(ValueList<T>? other) => other is not null && _items.SequenceEqual(other._items);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as ValueList<T>);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = default(HashCode);
        foreach (var item in _items)
        {
            hash.Add(item);
        }

        return hash.ToHashCode();
    }

    /// <inheritdoc />
    public override string ToString() => "[" + string.Join(", ", _items) + "]";
}

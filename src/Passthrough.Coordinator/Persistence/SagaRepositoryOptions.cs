using System.Reflection;
using System.Text.Json;
using MassTransit;

namespace Passthrough.Coordinator.Persistence;

/// <summary>How one saga type is stored in the saga store.</summary>
/// <typeparam name="TSaga">The saga (state machine instance) type.</typeparam>
public sealed class SagaRepositoryOptions<TSaga>
    where TSaga : class, ISaga
{
    /// <summary>
    /// The value of the <c>saga_type</c> column that separates this saga's rows from others; default the type's full
    /// name. Set it before renaming or moving the type, or the stored instances are orphaned.
    /// </summary>
    public string TypeName { get; set; } = typeof(TSaga).FullName ?? typeof(TSaga).Name;

    /// <summary>
    /// Serialises the instance into the <c>data</c> column; default <see cref="JsonSerializerDefaults.General"/>
    /// (public properties with getters and setters). A MassTransit <c>State</c> property does not round-trip: keep the
    /// current state in a <see cref="string"/> (<c>InstanceState(x =&gt; x.CurrentState)</c>).
    /// </summary>
    public JsonSerializerOptions SerializerOptions { get; set; } = new(JsonSerializerDefaults.General);

    /// <summary>
    /// Reads the state name written to the <c>current_state</c> column (for the read API and operators); default the
    /// instance's <c>CurrentState</c> property when it is a string, int or MassTransit <c>State</c>, otherwise none.
    /// </summary>
    public Func<TSaga, string?> CurrentState { get; set; } = DefaultCurrentState();

    private static Func<TSaga, string?> DefaultCurrentState()
    {
        var property = typeof(TSaga).GetProperty("CurrentState", BindingFlags.Public | BindingFlags.Instance);
        if (property is null || property.GetMethod is null)
        {
            return static _ => null;
        }

        if (property.PropertyType == typeof(string))
        {
            return instance => (string?)property.GetValue(instance);
        }

        if (property.PropertyType == typeof(int))
        {
            return instance => ((int)property.GetValue(instance)!).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        if (typeof(State).IsAssignableFrom(property.PropertyType))
        {
            return instance => ((State?)property.GetValue(instance))?.Name;
        }

        return static _ => null;
    }
}

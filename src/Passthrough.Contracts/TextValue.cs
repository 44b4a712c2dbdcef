using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Passthrough.Contracts;

/// <summary>
/// A value type that travels as text: it parses with an error that names what is wrong, and <see cref="object.ToString"/>
/// writes its canonical form. <see cref="TextValueJsonConverter{T}"/> uses this to serialise every such type the same way.
/// </summary>
public interface ITextValue<TSelf>
    where TSelf : struct, ITextValue<TSelf>
{
    /// <summary>Parses <paramref name="text"/>; on failure <paramref name="error"/> quotes the input and says why.</summary>
    static abstract bool TryParse([NotNullWhen(true)] string? text, out TSelf value, [NotNullWhen(false)] out string? error);
}

/// <summary>Writes an <see cref="ITextValue{TSelf}"/> as its canonical JSON string and reads it back, refusing malformed text with the parser's reason.</summary>
public sealed class TextValueJsonConverter<T> : JsonConverter<T>
    where T : struct, ITextValue<T>
{
    /// <inheritdoc />
    public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw new JsonException($"A {typeof(T).Name} must be a JSON string, not {reader.TokenType}.");
        }

        return T.TryParse(reader.GetString(), out var value, out var error) ? value : throw new JsonException(error);
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(value.ToString());
    }
}

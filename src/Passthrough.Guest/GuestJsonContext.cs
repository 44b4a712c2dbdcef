using System.Text.Json;
using System.Text.Json.Serialization;

namespace Passthrough.Guest;

/// <summary>
/// Source-generated JSON for the guest types (camelCase, enums as names): the NativeAOT guest agent cannot use
/// reflection-based serialisation. Use <c>GuestJsonContext.Default.GuestReport</c> and friends.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UseStringEnumConverter = true, WriteIndented = false)]
[JsonSerializable(typeof(GuestReport))]
[JsonSerializable(typeof(GuestVerdict))]
[JsonSerializable(typeof(DeviceMatch))]
public sealed partial class GuestJsonContext : JsonSerializerContext;

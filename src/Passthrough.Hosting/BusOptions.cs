using System.ComponentModel.DataAnnotations;

namespace Passthrough.Hosting;

/// <summary>Which broker a service uses (configuration section <c>Bus</c>).</summary>
public sealed class BusOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Bus";

    /// <summary>
    /// The RabbitMQ broker, e.g. <c>amqp://user:password@broker:5672/vhost</c>; null runs MassTransit's in-memory
    /// transport (one process: the lab and tests).
    /// </summary>
    public Uri? RabbitMq { get; set; }

    /// <summary>Messages fetched ahead per endpoint (RabbitMQ prefetch).</summary>
    [Range(1, 1000)]
    public int PrefetchCount { get; set; } = 32;

    /// <summary>How long the bus may take to connect at start before the service fails.</summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>A one-line description without the password, for logs.</summary>
    public string Describe() => RabbitMq is null
        ? "in-memory bus"
        : $"RabbitMQ {RabbitMq.Scheme}://{RabbitMq.Host}:{(RabbitMq.IsDefaultPort ? 5672 : RabbitMq.Port)}{RabbitMq.AbsolutePath}";
}

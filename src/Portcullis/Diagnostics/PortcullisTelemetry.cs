using System.Diagnostics;

namespace Portcullis.Diagnostics;

/// <summary>
/// The names under which the library publishes its metrics and spans (docs/observability.md). An exporter subscribes
/// to both by <see cref="Name"/>; without a subscriber, instruments record nothing and no span is created.
/// </summary>
public static class PortcullisTelemetry
{
    /// <summary>The name of the <c>Meter</c> and of the <c>ActivitySource</c>.</summary>
    /// <value>The value is <c>Portcullis</c>.</value>
    public const string Name = "Portcullis";

    /// <summary>
    /// Spans for login, callback, refresh (with its lease wait), store calls and the upstream forward. Static, as
    /// ActivitySource has no factory: listeners choose by name, and tests tell their spans apart by trace id.
    /// </summary>
    internal static ActivitySource Source { get; } = new(Name);
}

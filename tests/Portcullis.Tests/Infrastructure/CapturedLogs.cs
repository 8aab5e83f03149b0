using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Portcullis.Tests.Infrastructure;

/// <summary>Keeps every formatted log line (with exception text) so tests can search them for secrets.</summary>
public sealed class CapturedLogs : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyCollection<string> Lines => _lines;

    public string All => string.Join('\n', _lines);

    /// <summary>Lines of event <paramref name="eventId"/>, at any level.</summary>
    public int CountOf(int eventId) => _lines.Count(line => line.Contains($"[{eventId}]", StringComparison.Ordinal));

    /// <summary>
    /// Lines of event <paramref name="eventId"/> above Debug: what repeating the request that caused it would add to the
    /// shipped log (Information and up). SECURITY.md item 42: none for anything an attacker can trigger at will.
    /// </summary>
    public IReadOnlyList<string> AboveDebug(int eventId) => _lines
        .Where(line => line.Contains($"[{eventId}]", StringComparison.Ordinal)
            && !line.StartsWith("Debug ", StringComparison.Ordinal) && !line.StartsWith("Trace ", StringComparison.Ordinal))
        .ToList();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    /// <summary>
    /// A gateway's <c>configure</c> step that lets these logs see the gateway's own Debug and Trace events too: the
    /// shipped appsettings.json sets <c>Default: Information</c>, and a rule for this provider and the <c>Portcullis</c>
    /// categories beats it; framework categories and other providers keep the shipped levels.
    /// </summary>
    public static void IncludeDebug(Microsoft.AspNetCore.Builder.WebApplicationBuilder builder) =>
        builder.Logging.AddFilter<CapturedLogs>("Portcullis", LogLevel.Trace);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturedLogs owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner._lines.Enqueue($"{logLevel} {category}[{eventId.Id}] {formatter(state, exception)} {exception}");
    }
}

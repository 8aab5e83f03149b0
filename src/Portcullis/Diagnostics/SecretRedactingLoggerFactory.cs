using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Portcullis.Diagnostics;

/// <summary>
/// ASP.NET Core writes each request line, query string included, to its hosting log (<c>Request starting … GET
/// /bff/callback/main?code=…&amp;state=…</c>), and the URL of each redirect to its result log, at levels a library
/// host may well turn on. The provider's redirect to the callback carries the authorization code and state in that
/// query for every provider (GitHub, Discord and Facebook know no other response mode), and the redirect to the
/// provider carries the state. This factory sits in front of the host's own and, for ASP.NET Core's own categories
/// only, replaces a query string that carries such a value by <c>?[redacted]</c>, in the message and in its structured
/// fields. Every other logger is the host's, untouched (issue 17 item 8, ADR 0024).
/// </summary>
internal sealed class SecretRedactingLoggerFactory(ILoggerFactory inner) : ILoggerFactory
{
    private const string AspNetCoreCategories = "Microsoft.AspNetCore.";

    public static void Register(IServiceCollection services)
    {
        if (services.Any(d => d.ServiceType == typeof(ILoggerFactory) && d.ImplementationFactory?.Method.DeclaringType == typeof(SecretRedactingLoggerFactory)))
        {
            return;
        }

        services.AddLogging();
        // The host's factory exactly as AddLogging would build it, now behind this one.
        services.Replace(ServiceDescriptor.Singleton<ILoggerFactory>(provider => new SecretRedactingLoggerFactory(new LoggerFactory(
            provider.GetServices<ILoggerProvider>(),
            provider.GetRequiredService<IOptionsMonitor<LoggerFilterOptions>>(),
            provider.GetService<IOptions<LoggerFactoryOptions>>(),
            provider.GetService<IExternalScopeProvider>()))));
    }

    public ILogger CreateLogger(string categoryName)
    {
        var logger = inner.CreateLogger(categoryName);
        return categoryName.StartsWith(AspNetCoreCategories, StringComparison.Ordinal) ? new RedactingLogger(logger) : logger;
    }

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    public void Dispose() => inner.Dispose();

    /// <summary>Query parameters whose values are credentials (OAuth 2.0 responses, tokens someone put in a URL).</summary>
    private static readonly string[] SecretParameters = ["code", "state", "access_token", "id_token", "refresh_token", "logout_token", "session_state"];

    internal static bool CarriesSecret(string? query)
    {
        if (string.IsNullOrEmpty(query))
        {
            return false;
        }

        foreach (var pair in query.TrimStart('?').Split('&'))
        {
            var name = pair.Split('=', 2)[0];
            if (SecretParameters.Any(s => string.Equals(s, Uri.UnescapeDataString(name), StringComparison.OrdinalIgnoreCase)))
            {
                return true;
            }
        }

        return false;
    }

    private sealed class RedactingLogger(ILogger inner) : ILogger
    {
        private const string Redacted = "?[redacted]";

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (state is not IReadOnlyList<KeyValuePair<string, object?>> fields || !fields.Any(f => SecretQueryIn(f.Value) is not null))
            {
                inner.Log(logLevel, eventId, state, exception, formatter);
                return;
            }

            var message = formatter(state, exception);
            var redactedFields = new KeyValuePair<string, object?>[fields.Count];
            for (var i = 0; i < fields.Count; i++)
            {
                var (key, value) = fields[i];
                if (SecretQueryIn(value) is { } query)
                {
                    message = message.Replace(query, Redacted, StringComparison.Ordinal);
                    value = value!.ToString()!.Replace(query, Redacted, StringComparison.Ordinal);
                }

                redactedFields[i] = new KeyValuePair<string, object?>(key, value);
            }

            inner.Log(logLevel, eventId, new RedactedState(message, redactedFields), exception, static (s, _) => s.Message);
        }

        /// <summary>The query part of a logged URL or query string (<c>?…</c> up to a fragment or space) when it carries a secret.</summary>
        private static string? SecretQueryIn(object? value)
        {
            var start = value is string candidate ? candidate.IndexOf('?') : -1;
            if (start < 0)
            {
                return null;
            }

            var text = (string)value!;

            var end = text.AsSpan(start).IndexOfAny(' ', '#', '\n');
            var query = end < 0 ? text[start..] : text.Substring(start, end);
            return CarriesSecret(query) ? query : null;
        }
    }

    private sealed class RedactedState(string message, KeyValuePair<string, object?>[] fields) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        public string Message { get; } = message;

        public int Count => fields.Length;

        public KeyValuePair<string, object?> this[int index] => fields[index];

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, object?>>)fields).GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => fields.GetEnumerator();

        public override string ToString() => Message;
    }
}

using System.Net;
using Microsoft.Extensions.Logging;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Diagnostics;

/// <summary>
/// SECURITY.md item 23, "including diagnostics in any environment": an error no handler turned into an answer is a
/// plain 500 JSON even when the gateway runs with the Development environment, where ASP.NET Core would otherwise answer
/// with its developer exception page, listing the request's headers (the session cookie) and the stack to whoever asked
/// (an audit of the checklist's tests, 2026-12-08). The fault is real code failing inside the pipeline: a log provider
/// that throws when the anti-forgery refusal (event 1200) is written, so the refusing request fails where it stands.
/// </summary>
public sealed class UnhandledErrorTests
{
    [Fact]
    public async Task AnUnhandledErrorInTheDevelopmentEnvironmentAnswersPlainJsonWithoutTheCookieOrTheStack()
    {
        var port = FreePort.Next();
        var data = Directory.CreateTempSubdirectory("portcullis-error-").FullName;
        await using var idp = await TestIdp.StartAsync([$"http://localhost:{port}"]);
        var failing = new FailingLogProvider(eventId: 1200);
        await using var gateway = await GatewayHost.StartAsync(
            GatewayHost.DefaultSettings(port, idp, data), port, data, builder =>
            {
                builder.Logging.AddProvider(failing);
                builder.Logging.AddFilter<FailingLogProvider>(null, LogLevel.Trace);
                CapturedLogs.IncludeDebug(builder);
            }, args: ["--environment", "Development"]);
        using var browser = new BrowserClient();
        await browser.LoginAsync(gateway.Origin);
        var cookie = browser.CookiesFor("localhost")["__Host-portcullis"];

        // No X-CSRF: refused, and writing that refusal fails.
        var failed = await browser.SendAsync(HttpMethod.Post, $"{gateway.Origin}/bff/logout", null);

        Assert.True(failing.Failed > 0);
        Assert.Equal(HttpStatusCode.InternalServerError, failed.Status);
        Assert.Contains("\"error\":\"server_error\"", failed.Body);
        Assert.Equal("no-store", failed.Headers["Cache-Control"]);
        Assert.DoesNotContain(cookie, failed.Everything, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", failed.Body, StringComparison.Ordinal);
        Assert.Contains(gateway.Logs.Lines, line => line.Contains("[5011]", StringComparison.Ordinal) && line.Contains("AggregateException", StringComparison.Ordinal));
        // Nothing was ended by the failed request: the session still answers.
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{gateway.Origin}/bff/user", BrowserClient.Csrf)).Status);
    }

    /// <summary>Throws from every logger when event <c>eventId</c> is written; counts how often it did.</summary>
    private sealed class FailingLogProvider(int eventId) : ILoggerProvider
    {
        private readonly int _eventId = eventId;
        private int _failed;

        public int Failed => Volatile.Read(ref _failed);

        public ILogger CreateLogger(string categoryName) => new Failing(this);

        public void Dispose()
        {
        }

        private sealed class Failing(FailingLogProvider owner) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId id, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (id.Id == owner._eventId)
                {
                    Interlocked.Increment(ref owner._failed);
                    throw new InvalidOperationException("A log sink failed (the test's fault).");
                }
            }
        }
    }
}

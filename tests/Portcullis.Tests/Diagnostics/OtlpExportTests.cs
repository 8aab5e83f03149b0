using System.Net;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Portcullis.Tests.Diagnostics.Otlp;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Diagnostics;

/// <summary>
/// Issue 19: <c>Portcullis:Telemetry:Otlp:Endpoint</c> sends the <c>Portcullis</c> metrics and spans to a real OTLP/gRPC
/// receiver. A login and proxied calls made the way a browser makes them (no <c>traceparent</c>: the gateway starts each
/// trace) arrive as whole traces: the login, callback and forward spans under the request's own span, none dropped.
/// It runs alone: an exporter's providers hear every <c>Portcullis</c> meter and span source in the process, so another
/// test's gateway would add to the counts and traces asserted here.
/// </summary>
[Collection(ScaleOut.RunsAloneCollection.Name)]
public sealed class OtlpExportTests
{
    [Fact]
    public async Task ALoginAndProxiedCallsReachTheReceiverAsPortcullisMetricsAndWholeTraces()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var stack = await TestStack.StartAsync(adjust: settings =>
        {
            TestStack.OrdersRoute(upstream.Url)(settings);
            settings["Portcullis:Telemetry:Otlp:Endpoint"] = receiver.Endpoint;
        });
        using var browser = new BrowserClient();
        await browser.LoginAsync(stack.Origin);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"{stack.Origin}/api/orders/1", BrowserClient.Csrf)).Status);
        // A caller that names its trace: the gateway's spans continue it.
        var (parent, traceId) = CollectedSpans.NewTraceParent();
        var traced = await browser.GetAsync($"{stack.Origin}/api/orders/2", new Dictionary<string, string> { ["traceparent"] = parent, ["X-CSRF"] = "1" });
        Assert.Equal(HttpStatusCode.OK, traced.Status);

        // Export now instead of waiting for the periodic reader (a minute) and the batch processor (five seconds).
        Assert.True(stack.Gateway.Services.GetRequiredService<TracerProvider>().ForceFlush(10_000));
        Assert.True(stack.Gateway.Services.GetRequiredService<MeterProvider>().ForceFlush(10_000));

        // Metrics: the Portcullis meter's instruments, with their values (cumulative: the last export holds the totals).
        ReceivedMetric Metric(string name) => receiver.Metrics.Last(m => m.Scope == "Portcullis" && m.Name == name);
        Assert.Equal(1, Metric("portcullis.logins").Sum);
        Assert.Equal(1, Metric("portcullis.sessions.created").Sum);
        Assert.Equal(2, Metric("portcullis.proxy.requests").Sum);
        Assert.Equal(2, Metric("portcullis.proxy.request.duration").Count);
        Assert.True(Metric("portcullis.store.operation.duration").Count > 0);

        // Spans: each Portcullis span hangs under a span of the same trace that was exported too (the request's).
        var spans = receiver.Spans.ToArray();
        ReceivedSpan ParentOf(ReceivedSpan span)
        {
            Assert.NotEqual("", span.ParentSpanId);
            return Assert.Single(spans, s => s.SpanId == span.ParentSpanId && s.TraceId == span.TraceId);
        }

        var login = Assert.Single(spans, s => s.Scope == "Portcullis" && s.Name == "portcullis.login");
        var callback = Assert.Single(spans, s => s.Scope == "Portcullis" && s.Name == "portcullis.callback");
        Assert.Equal("main", login.Attributes["portcullis.provider"]);
        Assert.Equal("success", callback.Attributes["portcullis.outcome"]);
        Assert.Equal("", ParentOf(login).ParentSpanId); // the login request's span is the root: the browser named no trace
        Assert.NotEqual(login.TraceId, callback.TraceId);
        Assert.Contains(spans, s => s.Name == "store create_session" && s.ParentSpanId == callback.SpanId);

        var forwards = spans.Where(s => s.Scope == "Portcullis" && s.Name == "portcullis.proxy.forward").ToArray();
        Assert.Equal(2, forwards.Length);
        Assert.All(forwards, forward => Assert.Equal("orders", forward.Attributes["portcullis.route"]));
        var continued = Assert.Single(forwards, f => f.TraceId == traceId.ToHexString());
        Assert.Equal(parent.Split('-')[2], ParentOf(continued).ParentSpanId); // the request's span is the caller's child
        var started = Assert.Single(forwards, f => f != continued);
        Assert.Equal("", ParentOf(started).ParentSpanId);

        // The API was called within those traces.
        Assert.Equal([started.TraceId, continued.TraceId], upstream.Requests.Select(r => r.Headers["traceparent"].Split('-')[1]));

        // The request spans now exported carry no URL: neither the callback's code and state nor a token leaves in them.
        var callbackUrl = browser.Responses.Select(r => r.Uri).First(u => u.AbsolutePath == "/bff/callback/main");
        var query = System.Web.HttpUtility.ParseQueryString(callbackUrl.Query);
        var secrets = new[] { query["code"]!, query["state"]! };
        var exported = spans.SelectMany(s => s.Attributes.Values.Append(s.Name)).ToArray();
        Assert.All(secrets.Concat(await stack.Idp.AllTokenValuesAsync()), secret => Assert.DoesNotContain(exported, value => value.Contains(secret, StringComparison.Ordinal)));
    }
}

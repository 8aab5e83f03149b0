using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Time.Testing;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Diagnostics;

/// <summary>Issue 19: spans of the <c>Portcullis</c> source, and W3C trace context carried to the provider (as the provider
/// records it) and the API.</summary>
public sealed class TracingTests
{
    [Fact]
    public async Task LoginCallbackRefreshStoreAndForwardAreSpansOfTheRequestsTraceAndTheUpstreamSeesTheForwardSpan()
    {
        // ASP.NET Core's source makes the gateway continue the trace each request names; System.Net.Http shows the
        // provider calls made under the refresh span.
        using var spans = new CollectedSpans("Portcullis", "Microsoft.AspNetCore", "System.Net.Http");
        await using var upstream = await RecordingUpstream.StartAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var stack = await TestStack.StartAsync(accessTokenTtl: 2, clock: clock, adjust: TestStack.OrdersRoute(upstream.Url));
        using var browser = new BrowserClient();

        var (loginParent, loginTrace) = CollectedSpans.NewTraceParent();
        var start = await browser.GetAsync($"{stack.Origin}/bff/login", new Dictionary<string, string> { ["traceparent"] = loginParent });
        Assert.Equal(HttpStatusCode.Redirect, start.Status);
        var login = Assert.Single(spans.InTrace(loginTrace), s => s.OperationName == "portcullis.login");
        Assert.Equal("main", login.GetTagItem("portcullis.provider"));

        var callback = await browser.AuthorizeAtProviderAsync($"{stack.Origin}/bff/login", "alice");
        var (callbackParent, callbackTrace) = CollectedSpans.NewTraceParent();
        await browser.GetAsync(callback, new Dictionary<string, string> { ["traceparent"] = callbackParent });
        var callbackSpans = spans.InTrace(callbackTrace);
        var completed = Assert.Single(callbackSpans, s => s.OperationName == "portcullis.callback");
        Assert.Equal("success", completed.GetTagItem("portcullis.outcome"));
        // The code exchange went to the provider under the callback span, and the session was stored under it.
        Assert.Contains(callbackSpans, s => s.Source.Name == "System.Net.Http" && s.ParentSpanId == completed.SpanId);
        Assert.Contains(callbackSpans, s => s.OperationName == "store create_session" && s.ParentSpanId == completed.SpanId);

        clock.Advance(TimeSpan.FromSeconds(1.2)); // the token is due: this call refreshes it
        var (apiParent, apiTrace) = CollectedSpans.NewTraceParent();
        var api = await browser.GetAsync($"{stack.Origin}/api/orders/1", new Dictionary<string, string> { ["traceparent"] = apiParent, ["X-CSRF"] = "1" });
        Assert.Equal(HttpStatusCode.OK, api.Status);

        var apiSpans = spans.InTrace(apiTrace);
        var refresh = Assert.Single(apiSpans, s => s.OperationName == "portcullis.refresh");
        Assert.Equal("success", refresh.GetTagItem("portcullis.refresh.outcome"));
        Assert.Single(apiSpans, s => s.OperationName == "portcullis.refresh.lease_wait" && s.ParentSpanId == refresh.SpanId);
        var tokenRequest = Assert.Single(apiSpans, s => s.Source.Name == "System.Net.Http" && s.ParentSpanId == refresh.SpanId);
        // The provider received the trace context of that token request.
        var refreshAtProvider = Assert.Single(await stack.Idp.EventsAsync("token"), e => e.GetProperty("grant_type").GetString() == "refresh_token");
        Assert.Equal($"00-{apiTrace}-{tokenRequest.SpanId}-01", refreshAtProvider.GetProperty("traceparent").GetString());
        Assert.Contains(apiSpans, s => s.OperationName == "store save_grant" && s.ParentSpanId == refresh.SpanId);
        var forward = Assert.Single(apiSpans, s => s.OperationName == "portcullis.proxy.forward");
        Assert.Equal("orders", forward.GetTagItem("portcullis.route"));
        Assert.NotEqual(refresh.SpanId, forward.ParentSpanId); // the forward is not filed under the finished refresh

        // The API continues the same trace, under the forward span (through the HTTP client's span listened to here).
        var traceparent = Assert.Single(upstream.Requests).Headers["traceparent"];
        var send = Assert.Single(apiSpans, s => s.Source.Name == "System.Net.Http" && s.ParentSpanId == forward.SpanId);
        Assert.Equal($"00-{apiTrace}-{send.SpanId}-01", traceparent);
    }
}

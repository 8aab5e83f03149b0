using System.Collections.Concurrent;
using System.Net;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Portcullis.Authorization;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Proxy;

/// <summary>
/// Where <c>UsePortcullis</c> puts authentication, authorization and CORS (issue 18): after routing, once, and not for API
/// routes, which judge their session and policy themselves; the app's own endpoints keep all three.
/// </summary>
public sealed class MiddlewareOrderTests
{
    [Fact]
    public async Task AuthenticationRunsOnceAfterRoutingForTheAppsEndpointsAndNeverForAnApiRoute()
    {
        await using var upstream = await ProxyUpstream.StartAsync();
        var port = FreePort.Next();
        var origin = $"http://localhost:{port}";
        await using var idp = await TestIdp.StartAsync([origin]);
        var settings = GatewayHost.DefaultSettings(port, idp, Directory.CreateTempSubdirectory("portcullis-order-").FullName);
        Routes.Add(settings, "orders", "/api/orders", upstream.Url);
        settings["Portcullis:Csrf:AllowedOrigins:0"] = "https://app.example";
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.WebHost.UseUrls(origin);
        builder.Logging.ClearProviders();
        builder.Services.AddPortcullis(builder.Configuration.GetSection("Portcullis"));
        // An app scheme as the default: the middleware asks it about every request it runs for, and says where it ran.
        var asked = new ConcurrentQueue<string>();
        builder.Services.AddSingleton(asked);
        builder.Services.AddAuthentication(options => options.DefaultAuthenticateScheme = RecordingHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, RecordingHandler>(RecordingHandler.SchemeName, null);
        await using var app = builder.Build();
        app.UsePortcullis();
        app.MapPortcullis();
        app.MapGet("/whoami", (HttpContext context) => context.User.Identity?.AuthenticationType ?? "anonymous");
        app.MapGet("/guarded", () => "in").RequireAuthorization(PortcullisAuthenticationDefaults.UserPolicy);
        await app.StartAsync();
        using var browser = new BrowserClient();
        await browser.LoginAsync(origin);
        asked.Clear();

        var api = await browser.GetAsync($"{origin}/api/orders", BrowserClient.Csrf);
        var crossOrigin = await browser.GetAsync($"{origin}/api/orders", new Dictionary<string, string> { ["X-CSRF"] = "1", ["Origin"] = "https://app.example" });
        var foreign = await browser.GetAsync($"{origin}/api/orders", new Dictionary<string, string> { ["X-CSRF"] = "1", ["Origin"] = "https://evil.example" });
        var apiRequests = asked.ToArray();
        var whoami = await browser.GetAsync($"{origin}/whoami");
        var guarded = await browser.GetAsync($"{origin}/guarded");

        // The API route: served with its token, CORS answered for a listed origin only, and no authentication middleware.
        Assert.Equal(HttpStatusCode.OK, api.Status);
        Assert.Equal(HttpStatusCode.OK, crossOrigin.Status);
        Assert.Equal("https://app.example", crossOrigin.Headers["Access-Control-Allow-Origin"]);
        Assert.Equal("true", crossOrigin.Headers["Access-Control-Allow-Credentials"]);
        Assert.False(api.Headers.ContainsKey("Access-Control-Allow-Origin"));
        Assert.False(foreign.Headers.ContainsKey("Access-Control-Allow-Origin"));
        Assert.All(upstream.Requests, r => Assert.StartsWith("Bearer ", r.Headers["Authorization"]));
        Assert.Empty(apiRequests);
        // The app's endpoints: asked exactly once per request (WebApplication added no second middleware in front of the
        // pipeline), after routing, and the principal and policies work as before.
        Assert.Equal("recording", whoami.Body);
        Assert.Equal(HttpStatusCode.OK, guarded.Status);
        Assert.Equal(["/whoami", "/guarded"], asked.ToArray());
        await app.StopAsync();
    }

    private sealed class RecordingHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ConcurrentQueue<string> asked)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        public const string SchemeName = "recording";

        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            // Only routed requests are recorded: an endpoint is what proves the middleware runs after routing.
            asked.Enqueue(Context.GetEndpoint() is null ? $"(before routing) {Request.Path}" : Request.Path.Value!);
            var identity = new ClaimsIdentity([new Claim("sub", "app-user")], SchemeName);
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
        }
    }
}

using System.Collections.Concurrent;
using System.Net;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
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
/// What <c>UsePortcullis</c> runs in front of an API route (issue 18, ADR 0045): nothing of ASP.NET Core's authentication
/// when it would do nothing, the app's own schemes and fallback policy exactly as before when it has them, and CORS with
/// the gateway's policy for a call that names an origin.
/// </summary>
public sealed class MiddlewareOrderTests
{
    [Fact]
    public async Task WithPortcullisAsTheOnlySchemeAProxiedCallTouchesNoAuthenticationMiddleware()
    {
        await using var upstream = await ProxyUpstream.StartAsync();
        var authentications = new ConcurrentQueue<string>();
        await using var app = await LibraryApp.StartAsync(upstream, services =>
        {
            services.AddSingleton(authentications);
            CountAuthentications(services);
        });
        using var browser = new BrowserClient();
        await browser.LoginAsync(app.Origin);
        authentications.Clear();

        var api = await browser.GetAsync($"{app.Origin}/api/orders", BrowserClient.Csrf);
        var crossOrigin = await browser.GetAsync($"{app.Origin}/api/orders", new Dictionary<string, string> { ["X-CSRF"] = "1", ["Origin"] = "https://app.example" });
        var foreign = await browser.GetAsync($"{app.Origin}/api/orders", new Dictionary<string, string> { ["X-CSRF"] = "1", ["Origin"] = "https://evil.example" });
        var duringApiCalls = authentications.ToArray();
        var guarded = await browser.GetAsync($"{app.Origin}/guarded");

        Assert.Equal(HttpStatusCode.OK, api.Status);
        Assert.Equal(HttpStatusCode.OK, crossOrigin.Status);
        // A foreign origin is refused by the anti-forgery check, and its answer carries no CORS grant.
        Assert.Equal(HttpStatusCode.Forbidden, foreign.Status);
        Assert.Equal(2, upstream.Requests.Count);
        Assert.All(upstream.Requests, r => Assert.StartsWith("Bearer ", r.Headers["Authorization"]));
        Assert.False(api.Headers.ContainsKey("Access-Control-Allow-Origin"));
        Assert.Equal("https://app.example", crossOrigin.Headers["Access-Control-Allow-Origin"]);
        Assert.Equal("true", crossOrigin.Headers["Access-Control-Allow-Credentials"]);
        Assert.False(foreign.Headers.ContainsKey("Access-Control-Allow-Origin"));
        // Had WebApplication added its own authentication middleware (the mark not honoured), each call would be here once.
        Assert.Empty(duringApiCalls);
        // The app's policy still authenticates through the named scheme.
        Assert.Equal(HttpStatusCode.OK, guarded.Status);
        Assert.Equal(["Portcullis /guarded"], authentications.ToArray());
    }

    [Fact]
    public async Task AnAppsOwnDefaultSchemeIsAskedOnceForEveryRequestBeforeRoutingAsBefore()
    {
        await using var upstream = await ProxyUpstream.StartAsync();
        var asked = new ConcurrentQueue<string>();
        await using var app = await LibraryApp.StartAsync(upstream, services =>
        {
            services.AddSingleton(asked);
            services.AddAuthentication(options => options.DefaultAuthenticateScheme = RecordingHandler.SchemeName)
                .AddScheme<AuthenticationSchemeOptions, RecordingHandler>(RecordingHandler.SchemeName, null);
        });
        using var browser = new BrowserClient();
        await browser.LoginAsync(app.Origin);
        asked.Clear();

        var api = await browser.GetAsync($"{app.Origin}/api/orders", BrowserClient.Csrf);
        var whoami = await browser.GetAsync($"{app.Origin}/whoami");

        Assert.Equal(HttpStatusCode.OK, api.Status);
        Assert.Equal("recording", whoami.Body);
        Assert.Equal(["(before routing) /api/orders", "(before routing) /whoami"], asked.ToArray());
    }

    [Fact]
    public async Task AnAppsFallbackPolicyStillGuardsApiRoutes()
    {
        await using var upstream = await ProxyUpstream.StartAsync();
        await using var app = await LibraryApp.StartAsync(upstream, services =>
            services.AddAuthorizationBuilder().SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAssertion(_ => false).Build()));
        using var browser = new BrowserClient();

        var open = await browser.GetAsync($"{app.Origin}/api/open", BrowserClient.Csrf);
        var whoami = await browser.GetAsync($"{app.Origin}/whoami");

        Assert.NotEqual(HttpStatusCode.OK, open.Status);
        Assert.NotEqual(HttpStatusCode.OK, whoami.Status);
        Assert.Empty(upstream.Requests);
    }

    [Fact]
    public async Task WithAFallbackPolicyThatMeetsAStoreOutageAnApiRouteAnswers503NotA500()
    {
        // API routes answer store outages inside the proxy and otherwise skip StoreUnavailableMiddleware; an app's fallback
        // policy runs before the proxy and may read the session, so with one the middleware still guards API routes.
        await using var upstream = await ProxyUpstream.StartAsync();
        await using var app = await LibraryApp.StartAsync(upstream, services =>
            services.AddAuthorizationBuilder().SetFallbackPolicy(new AuthorizationPolicyBuilder()
                .RequireAssertion(StoreIsDown).Build()));
        using var browser = new BrowserClient();

        var open = await browser.GetAsync($"{app.Origin}/api/open", BrowserClient.Csrf);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, open.Status);
        Assert.Contains("\"error\":\"store_unavailable\"", open.Body);
        Assert.Empty(upstream.Requests);
    }

    private static bool StoreIsDown(AuthorizationHandlerContext context) => throw new Portcullis.Storage.StoreUnavailableException("The store is down.");

    /// <summary>Wraps ASP.NET Core's <see cref="IAuthenticationService"/> to record which scheme was asked about which path.</summary>
    private static void CountAuthentications(IServiceCollection services)
    {
        var original = services.Last(d => d.ServiceType == typeof(IAuthenticationService));
        services.Remove(original);
        services.AddScoped<IAuthenticationService>(provider => new CountingAuthenticationService(
            (IAuthenticationService)ActivatorUtilities.CreateInstance(provider, original.ImplementationType!),
            provider.GetRequiredService<ConcurrentQueue<string>>()));
    }

    private sealed class CountingAuthenticationService(IAuthenticationService inner, ConcurrentQueue<string> asked) : IAuthenticationService
    {
        public Task<AuthenticateResult> AuthenticateAsync(HttpContext context, string? scheme)
        {
            asked.Enqueue($"{scheme} {context.Request.Path}");
            return inner.AuthenticateAsync(context, scheme);
        }

        public Task ChallengeAsync(HttpContext context, string? scheme, AuthenticationProperties? properties) => inner.ChallengeAsync(context, scheme, properties);

        public Task ForbidAsync(HttpContext context, string? scheme, AuthenticationProperties? properties) => inner.ForbidAsync(context, scheme, properties);

        public Task SignInAsync(HttpContext context, string? scheme, ClaimsPrincipal principal, AuthenticationProperties? properties) => inner.SignInAsync(context, scheme, principal, properties);

        public Task SignOutAsync(HttpContext context, string? scheme, AuthenticationProperties? properties) => inner.SignOutAsync(context, scheme, properties);
    }

    private sealed class RecordingHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ConcurrentQueue<string> asked)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        public const string SchemeName = "recording";

        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            asked.Enqueue(Context.GetEndpoint() is null ? $"(before routing) {Request.Path}" : Request.Path.Value!);
            var identity = new ClaimsIdentity([new Claim("sub", "app-user")], SchemeName);
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
        }
    }

    /// <summary>An app on the library: a <c>user</c> route, a <c>none</c> route, an open endpoint and a guarded one.</summary>
    private sealed class LibraryApp : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly TestIdp _idp;

        private LibraryApp(WebApplication app, TestIdp idp, string origin)
        {
            _app = app;
            _idp = idp;
            Origin = origin;
        }

        public string Origin { get; }

        public static async Task<LibraryApp> StartAsync(ProxyUpstream upstream, Action<IServiceCollection> configure)
        {
            var port = FreePort.Next();
            var origin = $"http://localhost:{port}";
            var idp = await TestIdp.StartAsync([origin]);
            var settings = GatewayHost.DefaultSettings(port, idp, Directory.CreateTempSubdirectory("portcullis-order-").FullName);
            Routes.Add(settings, "orders", "/api/orders", upstream.Url);
            Routes.Add(settings, "open", "/api/open", upstream.Url, token: "none");
            settings["Portcullis:Csrf:AllowedOrigins:0"] = "https://app.example";
            var builder = WebApplication.CreateSlimBuilder();
            builder.Configuration.AddInMemoryCollection(settings);
            builder.WebHost.UseUrls(origin);
            builder.Logging.ClearProviders();
            builder.Services.AddPortcullis(builder.Configuration.GetSection("Portcullis"));
            configure(builder.Services);
            var app = builder.Build();
            app.UsePortcullis();
            app.MapPortcullis();
            app.MapGet("/whoami", (HttpContext context) => context.User.Identity?.AuthenticationType ?? "anonymous");
            app.MapGet("/guarded", () => "in").RequireAuthorization(PortcullisAuthenticationDefaults.UserPolicy);
            await app.StartAsync();
            return new LibraryApp(app, idp, origin);
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            await _idp.DisposeAsync();
        }
    }
}

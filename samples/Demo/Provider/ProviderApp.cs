using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Portcullis.Demo.Hosting;

namespace Portcullis.Demo.Provider;

// The development OpenID provider: OpenIddict's server over an EF Core in-memory database.
internal static class ProviderApp
{
    public const string CookieName = "portcullis-demo-idp";

    public static async Task<WebApplication> StartAsync(ProviderSettings settings, CancellationToken ct)
    {
        var builder = LoopbackHost.CreateBuilder(settings.Issuer);
        builder.Services.AddSingleton(settings);

        // The provider forgets everything at shutdown, so its keys need not outlive the process either.
        builder.Services.AddDataProtection().UseEphemeralDataProtectionProvider();
        builder.Services.AddAntiforgery();

        // One database per provider instance: the in-memory store is shared by name within a process,
        // and tests start several stacks side by side.
        var databaseName = $"portcullis-demo-provider-{Guid.NewGuid():N}";
        builder.Services.AddDbContext<ProviderDbContext>(options =>
        {
            options.UseInMemoryDatabase(databaseName);
            // OpenIddict wraps some writes in transactions; the in-memory provider has none and
            // would otherwise turn that into an error.
            options.ConfigureWarnings(w => w.Ignore(InMemoryEventId.TransactionIgnoredWarning));
            options.UseOpenIddict();
        });

        builder.Services
            .AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme)
            .AddCookie(options =>
            {
                options.Cookie.Name = CookieName;
                options.Cookie.HttpOnly = true;
                // Lax, not Strict: the cookie must come along on the top-level navigation from the
                // gateway (another site) to the authorization and end-session endpoints.
                options.Cookie.SameSite = SameSiteMode.Lax;
                options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                options.LoginPath = ProviderPaths.Login;
                options.ExpireTimeSpan = TimeSpan.FromHours(8);
                options.SlidingExpiration = false;
            });
        builder.Services.AddAuthorization();

        builder.Services.AddOpenIddict()
            .AddCore(options => options
                .UseEntityFrameworkCore()
                .UseDbContext<ProviderDbContext>()
                // ExecuteUpdate/ExecuteDelete are not supported by the in-memory provider; without
                // this, revoking a token chain on refresh token reuse would throw.
                .DisableBulkOperations())
            .AddServer(options => options.ConfigureDemoServer(settings));

        builder.Services.AddTransient<ProviderSeeder>();

        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseAntiforgery();
        app.MapLoginPage();
        app.MapAuthorizationEndpoint();
        app.MapTokenEndpoint();
        app.MapUserInfoEndpoint();
        app.MapEndSessionEndpoint();

        await using (var scope = app.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<ProviderSeeder>().SeedAsync(ct);
        }

        return await app.StartOrDisposeAsync(ct);
    }
}

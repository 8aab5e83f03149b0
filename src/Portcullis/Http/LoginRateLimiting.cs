using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Portcullis.Configuration;
using Portcullis.Primitives;

namespace Portcullis.Http;

/// <summary>
/// Per-client-address limit on login and callback (SECURITY.md item 36): each starts a login transaction or a token
/// request, so a flood must get 429 rather than fill the store or hammer the provider.
/// </summary>
internal static class LoginRateLimiting
{
    public const string PolicyName = "Portcullis.Login";

    public static void Add(IServiceCollection services)
    {
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<IOptions<PortcullisOptions>>((limiter, portcullis) =>
        {
            var permitsPerMinute = Math.Max(1, portcullis.Value.RateLimit.LoginPerMinute);
            limiter.AddPolicy(PolicyName, context => RateLimitPartition.GetFixedWindowLimiter(
                context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                _ => new FixedWindowRateLimiterOptions { PermitLimit = permitsPerMinute, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 }));
            limiter.OnRejected = async (context, cancellationToken) =>
            {
                context.HttpContext.Response.Headers.RetryAfter = "60";
                await ErrorResponses.Json(new PortcullisError(429, "rate_limited", "Too many sign-in attempts from this address. Wait a minute and try again."))
                    .ExecuteAsync(context.HttpContext);
            };
        });
    }
}

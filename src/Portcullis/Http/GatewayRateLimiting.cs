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
/// Per-client-address limits on the endpoints anyone can reach without a session. Login and callback (SECURITY.md item
/// 36) each start a login transaction or a token request, so a flood must get 429 rather than fill the store or hammer
/// the provider. The back-channel logout endpoint verifies a signature (and may fetch the provider's keys) for every
/// caller, so it is limited too (issue 17 item 7).
/// </summary>
internal static class GatewayRateLimiting
{
    public const string LoginPolicy = "Portcullis.Login";

    public const string BackchannelLogoutPolicy = "Portcullis.BackchannelLogout";

    public static void Add(IServiceCollection services)
    {
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<IOptions<PortcullisOptions>>((limiter, portcullis) =>
        {
            var limits = portcullis.Value.RateLimit;
            limiter.AddPolicy(LoginPolicy, context => PerAddressPerMinute(context, limits.LoginPerMinute));
            limiter.AddPolicy(BackchannelLogoutPolicy, context => PerAddressPerMinute(context, limits.BackchannelLogoutPerMinute));
            limiter.OnRejected = async (context, cancellationToken) =>
            {
                context.HttpContext.Response.Headers.RetryAfter = "60";
                await ErrorResponses.Json(new PortcullisError(429, "rate_limited", "Too many requests from this address. Wait a minute and try again."))
                    .ExecuteAsync(context.HttpContext);
            };
        });
    }

    private static RateLimitPartition<string> PerAddressPerMinute(HttpContext context, int permitsPerMinute) =>
        RateLimitPartition.GetFixedWindowLimiter(
            context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
            _ => new FixedWindowRateLimiterOptions { PermitLimit = Math.Max(1, permitsPerMinute), Window = TimeSpan.FromMinutes(1), QueueLimit = 0 });
}

using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Portcullis.Tests.Infrastructure;

namespace Portcullis.Tests.Fapi;

/// <summary>
/// A resource server on loopback (real Kestrel) that checks every DPoP proof it receives as RFC 9449 §4.3 and §7.1 ask:
/// the <c>DPoP</c> scheme, one proof, <c>typ</c> <c>dpop+jwt</c>, an ES256 signature by the header's public <c>jwk</c>,
/// <c>htm</c>, <c>htu</c>, <c>ath</c> of the presented token, a <c>jti</c> never seen before and a fresh <c>iat</c>.
/// With <see cref="DemandNonce"/> it also answers a proof without its current nonce with a <c>use_dpop_nonce</c> challenge.
/// </summary>
internal sealed class DPoPResourceServer : IAsyncDisposable
{
    private static readonly JsonWebTokenHandler Handler = new();
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, bool> _seenJti = new(StringComparer.Ordinal);

    private DPoPResourceServer(WebApplication app, int port)
    {
        _app = app;
        Url = $"http://127.0.0.1:{port}";
    }

    public string Url { get; }

    public bool DemandNonce { get; set; }

    public string CurrentNonce { get; set; } = "nonce-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(8));

    /// <summary>Answer 401 <c>invalid_token</c> to the next request with a valid proof (as for a token revoked upstream).</summary>
    public int RejectNextValid;

    public ConcurrentQueue<Verdict> Verdicts { get; } = new();

    public static async Task<DPoPResourceServer> StartAsync()
    {
        var port = FreePort.Next();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new DPoPResourceServer(app, port);
        app.Run(server.HandleAsync);
        await app.StartAsync();
        return server;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var (verdict, token) = await CheckAsync(context.Request);
        if (verdict.Problem is null && DemandNonce && verdict.Nonce != CurrentNonce)
        {
            verdict = verdict with { Problem = "use_dpop_nonce" };
        }

        if (verdict.Problem is null && Interlocked.Exchange(ref RejectNextValid, 0) == 1)
        {
            verdict = verdict with { Problem = "rejected on purpose" };
        }

        Verdicts.Enqueue(verdict);
        context.Response.Headers["DPoP-Nonce"] = CurrentNonce;
        if (verdict.Problem is not null)
        {
            context.Response.StatusCode = 401;
            var error = verdict.Problem == "use_dpop_nonce" ? "use_dpop_nonce" : "invalid_token";
            context.Response.Headers.WWWAuthenticate = $"DPoP error=\"{error}\", algs=\"ES256\"";
            return;
        }

        await context.Response.WriteAsJsonAsync(new { path = context.Request.Path.Value, token_sha256 = Hash(token!) });
    }

    private async Task<(Verdict Verdict, string? Token)> CheckAsync(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        var path = request.Path.Value ?? "/";
        Verdict Bad(string problem) => new(path, authorization.Split(' ')[0], problem, null, null);
        if (!authorization.StartsWith("DPoP ", StringComparison.Ordinal))
        {
            return (Bad("not the DPoP scheme"), null);
        }

        var token = authorization["DPoP ".Length..];
        var proofs = request.Headers["DPoP"];
        if (proofs.Count != 1)
        {
            return (Bad($"{proofs.Count} proofs"), token);
        }

        JsonWebToken proof;
        try
        {
            proof = new JsonWebToken(proofs[0]!);
        }
        catch (ArgumentException)
        {
            return (Bad("proof is not a JWT"), token);
        }

        if (proof.Typ != "dpop+jwt" || proof.Alg != "ES256" || !proof.TryGetHeaderValue<JsonElement>("jwk", out var jwkElement))
        {
            return (Bad("bad proof header"), token);
        }

        var jwk = new JsonWebKey(jwkElement.GetRawText());
        if (jwk.HasPrivateKey)
        {
            return (Bad("private key in the proof"), token);
        }

        var result = await Handler.ValidateTokenAsync(proofs[0], new TokenValidationParameters
        {
            IssuerSigningKey = jwk,
            ValidateIssuer = false,
            ValidateAudience = false,
            ValidateLifetime = false,
            RequireExpirationTime = false,
            ValidTypes = ["dpop+jwt"],
        });
        if (!result.IsValid)
        {
            return (Bad("signature"), token);
        }

        var htu = $"{Url}{request.Path}";
        var iat = DateTimeOffset.FromUnixTimeSeconds(proof.GetPayloadValue<long>("iat"));
        var jti = proof.GetPayloadValue<string>("jti");
        var nonce = proof.TryGetPayloadValue<string>("nonce", out var n) ? n : null;
        var thumbprint = Base64UrlEncoder.Encode(jwk.ComputeJwkThumbprint());
        string? problem = null;
        if (proof.GetPayloadValue<string>("htm") != request.Method)
        {
            problem = "htm";
        }
        else if (proof.GetPayloadValue<string>("htu") != htu)
        {
            problem = "htu";
        }
        else if (!proof.TryGetPayloadValue<string>("ath", out var ath) || ath != Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(token))))
        {
            problem = "ath";
        }
        else if (string.IsNullOrEmpty(jti) || !_seenJti.TryAdd(jti, true))
        {
            problem = "jti replayed";
        }
        else if ((DateTimeOffset.UtcNow - iat).Duration() > TimeSpan.FromSeconds(60))
        {
            problem = "iat not fresh";
        }

        return (new Verdict(path, "DPoP", problem, nonce, thumbprint, Hash(token)), token);
    }

    public static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>
/// What the resource server made of one request: null <see cref="Problem"/> when the proof held; <see cref="TokenSha256"/>
/// is the hash of the access token the proof was checked against.
/// </summary>
internal sealed record Verdict(string Path, string Scheme, string? Problem, string? Nonce, string? Thumbprint, string? TokenSha256 = null);

namespace Portcullis.Agent;

/// <summary>Reading a server's DPoP nonce answers (RFC 9449 §8, §9): the <c>DPoP-Nonce</c> header and the <c>use_dpop_nonce</c> challenge.</summary>
internal static class DPoPChallenge
{
    public const string NonceHeader = "DPoP-Nonce";

    public static string? NonceOf(HttpResponseMessage response) =>
        response.Headers.TryGetValues(NonceHeader, out var values) ? values.FirstOrDefault(v => v.Length > 0) : null;

    /// <summary>A 401 whose <c>WWW-Authenticate: DPoP</c> challenge says <c>error="use_dpop_nonce"</c>.</summary>
    public static bool AsksForNonce(HttpResponseMessage response) =>
        response.StatusCode == System.Net.HttpStatusCode.Unauthorized
        && response.Headers.WwwAuthenticate.Any(c => string.Equals(c.Scheme, "DPoP", StringComparison.OrdinalIgnoreCase)
            && (c.Parameter ?? "").Contains("use_dpop_nonce", StringComparison.Ordinal));
}

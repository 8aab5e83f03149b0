namespace Portcullis.Demo.Provider;

// What the provider must know about the rest of the stack before it starts.
internal sealed record ProviderSettings(Uri Issuer, Uri GatewayOrigin)
{
    public Uri RedirectUri => new(GatewayOrigin, $"/bff/callback/{DemoDefaults.ProviderName}");

    public Uri PostLogoutRedirectUri => new(GatewayOrigin, "/");
}

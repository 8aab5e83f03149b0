namespace Portcullis.Demo;

/// <summary>
/// The fixed names and numbers of the demo stack, written once so the provider, the gateway
/// configuration, the sample API and the tests cannot drift apart.
/// </summary>
public static class DemoDefaults
{
    /// <summary>The gateway's port. <value>The default value is 5000.</value></summary>
    public const int GatewayPort = 5000;

    /// <summary>The development OpenID provider's port. <value>The default value is 5001.</value></summary>
    public const int ProviderPort = 5001;

    /// <summary>The sample API's port. <value>The default value is 5002.</value></summary>
    public const int ApiPort = 5002;

    /// <summary>
    /// The issuer the provider advertises with the default ports. OpenIddict writes the issuer as an
    /// absolute URI, so it ends with a slash; the gateway's <c>Authority</c> must be this exact string
    /// because the gateway compares it with the discovered <c>issuer</c> character for character.
    /// </summary>
    public const string ProviderIssuer = "http://127.0.0.1:5001/";

    /// <summary>The gateway's public origin with the default ports.</summary>
    public const string GatewayOrigin = "http://localhost:5000";

    /// <summary>The name of the provider in the gateway configuration (<c>Portcullis:Providers:demo</c>).</summary>
    public const string ProviderName = "demo";

    /// <summary>The gateway's client identifier at the provider.</summary>
    public const string ClientId = "portcullis-demo";

    /// <summary>The gateway's client secret at the provider (a demo value, never a real secret).</summary>
    public const string ClientSecret = "demo-secret";

    /// <summary>The scope that grants access to the sample API.</summary>
    public const string ApiScope = "api";

    /// <summary>The audience (OpenIddict "resource") of access tokens for the sample API.</summary>
    public const string ApiAudience = "demo-api";

    /// <summary>The path prefix the gateway proxies to the sample API.</summary>
    public const string ApiPath = "/api";
}

namespace Portcullis.Demo.Gateway;

// The demo's gateway configuration, expressed in the keys an operator would put in appsettings.json.
internal sealed record GatewaySettings(string PublicOrigin, string Issuer, Uri ApiUrl, string DatabasePath, string StaticRoot)
{
    private static readonly string[] Scopes = ["openid", "profile", "email", "offline_access", DemoDefaults.ApiScope];

    public Dictionary<string, string?> ToConfiguration()
    {
        const string provider = $"Portcullis:Providers:{DemoDefaults.ProviderName}";
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["Portcullis:PublicOrigin"] = PublicOrigin,
            [$"{provider}:Kind"] = "oidc",
            [$"{provider}:DisplayName"] = "Demo provider",
            [$"{provider}:Authority"] = Issuer,
            [$"{provider}:ClientId"] = DemoDefaults.ClientId,
            [$"{provider}:ClientSecret"] = DemoDefaults.ClientSecret,
            [$"{provider}:ClientAuthentication"] = "client_secret_basic",
            ["Portcullis:Store:Kind"] = "sqlite",
            ["Portcullis:Store:ConnectionString"] = $"Data Source={DatabasePath}",
            ["Portcullis:Apis:whoami:Path"] = DemoDefaults.ApiPath,
            ["Portcullis:Apis:whoami:Upstream"] = ApiUrl.GetLeftPart(UriPartial.Authority),
            ["Portcullis:Apis:whoami:Token"] = "user",
            ["Portcullis:Frontend:StaticRoot"] = StaticRoot,
        };

        for (var i = 0; i < Scopes.Length; i++)
        {
            values[$"{provider}:Scopes:{i}"] = Scopes[i];
        }

        return values;
    }
}

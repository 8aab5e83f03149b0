namespace Portcullis.Gateway;

/// <summary><c>portcullis --help</c>: every command and the options an operator needs first.</summary>
public static class GatewayHelp
{
    public static bool IsHelp(string[] args) => args.Length > 0 && args[0] is "--help" or "-h" or "-?" or "help";

    public const string Text = """
        Portcullis: OAuth token handler (Backend-for-Frontend) for browser apps.

        Usage:
          portcullis [--config gateway.json] [--urls http://0.0.0.0:8080]   serve
          portcullis migrate     [--config gateway.json]   create or update the store's schema, then exit
          portcullis rotate-keys [--config gateway.json]   add a new encryption key, active at once, then exit
          portcullis reencrypt   [--config gateway.json]   move every stored value to the newest key, then exit
          portcullis --help                                 show this text

        Options:
          --config PATH   JSON configuration file (or the PORTCULLIS_CONFIG environment variable); it sits above
                          appsettings.json and below environment variables and the command line; its API routes
                          and allowed origins apply without a restart when the file changes
          --urls URLS     addresses to listen on (or ASPNETCORE_URLS), e.g. http://0.0.0.0:8080

        Main configuration keys (any key can also come from the environment: Portcullis__Store__Kind=postgres):
          Portcullis:PublicOrigin                  the origin browsers use, e.g. https://app.example.com
          Portcullis:Providers:NAME:Authority      the OpenID provider's issuer (with ClientId, ClientSecret, Scopes)
          Portcullis:Apis:NAME:Path / :Upstream    an API route the browser calls through the gateway
          Portcullis:Store:Kind                    sqlite (default), postgres or redis
          Portcullis:Store:ConnectionString        where the store is
          Portcullis:Frontend:StaticRoot           a folder of static files to serve (the single-page app)
          Portcullis:Management:Urls               a separate listener for /metrics and the health endpoints

        Every option: docs/configuration.md in the repository. Exit codes: 0 done, 2 configuration refused.
        """;
}

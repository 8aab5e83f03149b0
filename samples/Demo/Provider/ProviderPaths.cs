namespace Portcullis.Demo.Provider;

internal static class ProviderPaths
{
    public const string Authorization = "/connect/authorize";
    public const string Token = "/connect/token";
    public const string UserInfo = "/connect/userinfo";
    public const string Revocation = "/connect/revoke";
    public const string EndSession = "/connect/endsession";
    public const string Introspection = "/connect/introspect";
    public const string Login = "/account/login";
}

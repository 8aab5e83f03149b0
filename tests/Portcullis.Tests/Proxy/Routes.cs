namespace Portcullis.Tests.Proxy;

/// <summary>Settings for API routes in proxy tests.</summary>
internal static class Routes
{
    public static void Add(Dictionary<string, string?> settings, string name, string path, string upstream, string token = "user")
    {
        settings[$"Portcullis:Apis:{name}:Path"] = path;
        settings[$"Portcullis:Apis:{name}:Upstream"] = upstream;
        settings[$"Portcullis:Apis:{name}:Token"] = token;
    }

    public static Dictionary<string, string> Csrf(params (string Name, string Value)[] more)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["X-CSRF"] = "1" };
        foreach (var (name, value) in more)
        {
            headers[name] = value;
        }

        return headers;
    }
}

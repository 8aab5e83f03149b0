using System.Reflection;
using Microsoft.Extensions.Logging;

namespace Portcullis.Tests.Configuration;

public sealed class LogEventIdTests
{
    [Fact]
    public void EveryLogEventHasAUniqueIdAndNoSecretParameter()
    {
        var methods = typeof(Portcullis.Diagnostics.Log).GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)
            .Select(m => (Method: m, Attribute: m.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(m => m.Attribute is not null)
            .ToArray();

        Assert.NotEmpty(methods);
        Assert.Equal(methods.Length, methods.Select(m => m.Attribute!.EventId).Distinct().Count());
        string[] forbidden = ["token", "secret", "code", "cookie", "state", "verifier", "password"];
        foreach (var (method, _) in methods)
        {
            foreach (var parameter in method.GetParameters().Skip(1))
            {
                Assert.DoesNotContain(forbidden, f => parameter.Name!.Contains(f, StringComparison.OrdinalIgnoreCase) && parameter.Name != "tokenKind");
            }
        }
    }
}

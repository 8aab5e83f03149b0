using Portcullis.Proxy;

namespace Portcullis.Tests.Proxy;

/// <summary>
/// The path check on its own, branch by branch (PathSafetyTests drives it through the gateway): each refused target is one
/// an upstream could read differently from the gateway, and each accepted one is an ordinary request that must get through.
/// </summary>
public sealed class RequestPathSafetyTests
{
    [Theory]
    [InlineData("/api/orders/1", "/api/orders/1", false)]
    [InlineData("/api/orders/1?next=%2f..%2fadmin//x#", "/api/orders/1", true)] // a fragment anywhere
    [InlineData("/api/orders/1?next=%2f..%2fadmin//x", "/api/orders/1", false)] // the query is not the path
    [InlineData("/api/orders/100%25", "/api/orders/100%", false)]               // a percent sign alone is no separator
    [InlineData("/api/orders/a;b", "/api/orders/a;b", false)]
    [InlineData("/api/orders/%2F", "/api/orders/%2F", true)]
    [InlineData("/api/orders/%5c", "/api/orders/%5c", true)]
    [InlineData("/api/orders/%2E%2e", "/api/orders/..", true)]
    [InlineData("/api/orders/a%252fb", "/api/orders/a%2fb", true)]              // still encoded after one decoding
    [InlineData("/api/orders\\1", "/api/orders\\1", true)]
    [InlineData("/api//orders", "/api//orders", true)]
    [InlineData("/api/orders/..;/admin", "/api/orders/..;/admin", true)]
    [InlineData("/api/orders/.;x/admin", "/api/orders/.;x/admin", true)]
    [InlineData("http://gw.example/api/orders/1", "/api/orders/1", false)]      // absolute form: its path is judged
    [InlineData("http://gw.example/api/orders/..%2f1", "/api/orders/..%2f1", true)]
    [InlineData("http://gw.example//api/orders", "//api/orders", true)]
    [InlineData("http://gw.example", "/", false)]
    [InlineData("/api/orders/..;", "/api/orders/..;", true)]                   // a servlet dot segment at the end
    [InlineData("/api/orders/.;", "/api/orders/.;", true)]
    [InlineData("/api/orders/%5C", "/api/orders/%5C", true)]
    [InlineData("/api/orders/a%2fb", "/api/orders/a/b", true)]                  // encoded in the raw path only
    public void ATargetIsRefusedExactlyWhenAnUpstreamCouldReadItsPathDifferently(string rawTarget, string decoded, bool ambiguous) =>
        Assert.Equal(ambiguous, RequestPathSafety.IsAmbiguous(rawTarget, decoded));
}

using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace Portcullis.Agent;

/// <summary>
/// Reads a discovery document and refuses it when it sends the gateway to a cleartext endpoint off the machine: a
/// provider configured over https must not be able to move code exchanges, refreshes or keys onto plain http (issue 17,
/// item 6). <c>Portcullis:Providers:{name}:AllowInsecureTransport</c> lifts the check.
/// </summary>
internal sealed class TransportCheckingRetriever(string providerKey) : IConfigurationRetriever<OpenIdConnectConfiguration>
{
    private readonly OpenIdConnectConfigurationRetriever _inner = new();

    public async Task<OpenIdConnectConfiguration> GetConfigurationAsync(string address, IDocumentRetriever retriever, CancellationToken cancel)
    {
        var configuration = await ((IConfigurationRetriever<OpenIdConnectConfiguration>)_inner).GetConfigurationAsync(address, retriever, cancel);
        Check("authorization_endpoint", configuration.AuthorizationEndpoint);
        Check("token_endpoint", configuration.TokenEndpoint);
        Check("userinfo_endpoint", configuration.UserInfoEndpoint);
        Check("end_session_endpoint", configuration.EndSessionEndpoint);
        Check("revocation_endpoint", configuration.RevocationEndpoint);
        Check("introspection_endpoint", configuration.IntrospectionEndpoint);
        Check("jwks_uri", configuration.JwksUri);
        return configuration;
    }

    private void Check(string member, string? endpoint)
    {
        if (endpoint is not null && Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) && uri.Scheme != Uri.UriSchemeHttps && !uri.IsLoopback)
        {
            throw new InsecureProviderEndpointException(
                $"the discovery document's {member} '{uri.GetLeftPart(UriPartial.Path)}' is not https; set {providerKey}:AllowInsecureTransport to true only if the connection is protected another way");
        }
    }
}

/// <summary>A discovery document pointed the gateway at a cleartext endpoint; its message says which and how to allow it.</summary>
internal sealed class InsecureProviderEndpointException(string message) : InvalidOperationException(message);

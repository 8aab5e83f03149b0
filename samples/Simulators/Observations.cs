using System.Collections.Concurrent;

namespace Portcullis.Simulators;

/// <summary>One request to a simulator's token endpoint, as a test wants to see it (never the secret values).</summary>
public sealed record TokenRequestRecord(string GrantType, int Status, string? Error, string? Accept, string ClientAuthentication);

/// <summary>One revocation the simulator carried out: how it was asked for and whose tokens went.</summary>
public sealed record RevocationRecord(string Method, string? TokenTypeHint, string? UserId, int TokensRevoked);

/// <summary>What a simulator saw, for assertions: token requests, revocations, every token it issued.</summary>
public sealed class SimulatorObservations
{
    public ConcurrentQueue<TokenRequestRecord> TokenRequests { get; } = new();

    public ConcurrentQueue<RevocationRecord> Revocations { get; } = new();

    /// <summary>Every access and refresh token value issued, so tests can prove none reached a browser, log or file.</summary>
    public ConcurrentQueue<string> IssuedTokens { get; } = new();

    /// <summary>Requests to the user and membership endpoints, by path.</summary>
    public ConcurrentQueue<string> ApiRequests { get; } = new();

    public int TokenRequestCount(string grantType) => TokenRequests.Count(r => r.GrantType == grantType);
}

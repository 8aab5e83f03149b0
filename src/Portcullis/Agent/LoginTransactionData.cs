namespace Portcullis.Agent;

/// <summary>What the callback needs to finish a login; stored encrypted, keyed by the hash of <c>state</c>.</summary>
internal sealed record LoginTransactionData(string Provider, string CodeVerifier, string Nonce, string ReturnUrl, DateTimeOffset CreatedAt);

namespace Portcullis.Vault;

/// <summary>
/// Data Protection purposes. They are part of every ciphertext's derivation: changing one makes every stored
/// value of that kind unreadable (everyone logged out), so only ever add new versions beside them.
/// </summary>
internal static class ProtectionPurposes
{
    public const string Tokens = "Portcullis.Vault.Tokens.v1";
    public const string SessionData = "Portcullis.Sessions.Data.v1";
    public const string LoginTransaction = "Portcullis.Agent.LoginTransaction.v1";
    public const string PendingRevocation = "Portcullis.Tokens.PendingRevocation.v1";

    // Split-key records (ADR 0032): the purpose is AES-GCM additional data under the session's own key, not a key-ring purpose.
    public const string SplitKeyTokens = "Portcullis.Vault.SplitKey.Tokens.v1";
    public const string SplitKeySessionData = "Portcullis.Sessions.SplitKey.Data.v1";

    // Stateless cookies (ADR 0033): a key-ring purpose; each cookie's name is appended to it, binding the value to its name.
    public const string StatelessCookie = "Portcullis.Sessions.Stateless.Cookie.v1";

    // A stateless refresh's result published to the cross-node coordinator (ADR 0033): the refresh token's hash is appended.
    public const string StatelessRefreshResult = "Portcullis.Sessions.Stateless.RefreshResult.v1";
}

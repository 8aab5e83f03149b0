namespace Portcullis.Storage.Sqlite;

/// <summary>
/// Schema migrations, applied in order at start. The database's <c>user_version</c> records how many ran;
/// append new steps, never edit a shipped one.
/// </summary>
internal static class SqliteSchema
{
    public static readonly string[] Migrations =
    [
        """
        CREATE TABLE users (
            id TEXT PRIMARY KEY,
            provider TEXT NOT NULL,
            subject TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            UNIQUE (provider, subject));

        CREATE TABLE grants (
            id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id),
            provider TEXT NOT NULL,
            tokens BLOB NOT NULL,
            access_token_expires_at INTEGER,
            version INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            UNIQUE (user_id, provider));

        CREATE TABLE sessions (
            key TEXT PRIMARY KEY,
            handle TEXT NOT NULL UNIQUE,
            user_id TEXT NOT NULL,
            grant_id TEXT NOT NULL,
            provider TEXT NOT NULL,
            provider_sid TEXT,
            data BLOB NOT NULL,
            created_at INTEGER NOT NULL,
            last_seen_at INTEGER NOT NULL,
            idle_expires_at INTEGER NOT NULL,
            absolute_expires_at INTEGER NOT NULL);
        CREATE INDEX sessions_grant ON sessions(grant_id);
        CREATE INDEX sessions_user ON sessions(user_id);
        CREATE INDEX sessions_provider_sid ON sessions(provider, provider_sid);

        CREATE TABLE login_transactions (
            key TEXT PRIMARY KEY,
            binding_hash TEXT NOT NULL,
            data BLOB NOT NULL,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL);
        CREATE INDEX login_transactions_binding ON login_transactions(binding_hash, created_at);
        """,
    ];
}

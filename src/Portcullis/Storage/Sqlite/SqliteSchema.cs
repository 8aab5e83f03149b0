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
        // 2: token lifecycle (issue 3). Grants stored before this step are assumed refreshable so cleanup keeps them.
        """
        ALTER TABLE grants ADD COLUMN has_refresh_token INTEGER NOT NULL DEFAULT 1;

        CREATE TABLE leases (
            name TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            expires_at INTEGER NOT NULL);

        CREATE TABLE used_markers (
            key TEXT PRIMARY KEY,
            expires_at INTEGER NOT NULL);

        CREATE TABLE pending_revocations (
            id TEXT PRIMARY KEY,
            provider TEXT NOT NULL,
            user_id TEXT,
            token BLOB NOT NULL,
            attempts INTEGER NOT NULL,
            next_attempt_at INTEGER NOT NULL,
            give_up_at INTEGER NOT NULL,
            created_at INTEGER NOT NULL);
        CREATE INDEX pending_revocations_due ON pending_revocations(next_attempt_at);

        CREATE TABLE audit (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at INTEGER NOT NULL,
            event TEXT NOT NULL,
            outcome TEXT NOT NULL,
            user_id TEXT,
            provider TEXT,
            session_handle TEXT,
            actor TEXT,
            detail TEXT);
        CREATE INDEX audit_user ON audit(user_id, id);
        CREATE INDEX audit_at ON audit(at);
        """,

        // Identities (issue 5): a user may sign in with several providers. Every existing user keeps the identity it
        // was created with; users.provider/subject stay as the first identity, for reference only.
        """
        CREATE TABLE identities (
            provider TEXT NOT NULL,
            subject TEXT NOT NULL,
            user_id TEXT NOT NULL REFERENCES users(id),
            created_at INTEGER NOT NULL,
            PRIMARY KEY (provider, subject));
        CREATE INDEX identities_user ON identities(user_id);
        INSERT INTO identities (provider, subject, user_id, created_at) SELECT provider, subject, id, created_at FROM users;
        """,

        // One grant per session (issue 17, ADR 0027): (user_id, provider) is no longer unique; SQLite cannot drop a table
        // constraint, so the table is rebuilt. Grants that could serve workers before stay offline grants.
        """
        CREATE TABLE grants_per_session (
            id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id),
            provider TEXT NOT NULL,
            tokens BLOB NOT NULL,
            access_token_expires_at INTEGER,
            version INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            has_refresh_token INTEGER NOT NULL DEFAULT 1,
            offline INTEGER NOT NULL DEFAULT 0);
        INSERT INTO grants_per_session
            SELECT id, user_id, provider, tokens, access_token_expires_at, version, updated_at, has_refresh_token, has_refresh_token FROM grants;
        DROP TABLE grants;
        ALTER TABLE grants_per_session RENAME TO grants;
        CREATE INDEX grants_user ON grants(user_id, provider);
        CREATE UNIQUE INDEX grants_offline ON grants(user_id, provider) WHERE offline = 1;
        """,

        // Split-key sessions (issue 15, ADR 0032): a grant sealed under its session's cookie key, which only that
        // session's requests can open (never a worker, never the unused-grant sweep).
        """
        ALTER TABLE grants ADD COLUMN session_keyed INTEGER NOT NULL DEFAULT 0;
        """,

        // 6: find a user by e-mail (issue 19, ADR 0039): the keyed hash of the identity's address, never the address.
        // Identities signed in before this step have none until their next login.
        """
        ALTER TABLE identities ADD COLUMN email_hash TEXT;
        CREATE INDEX identities_email ON identities(email_hash) WHERE email_hash IS NOT NULL;
        """,
    ];
}

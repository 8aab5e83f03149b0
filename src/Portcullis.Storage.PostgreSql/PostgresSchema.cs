namespace Portcullis.Storage.PostgreSql;

/// <summary>
/// Schema migrations, applied in order at start (or by <c>migrate</c>) under an advisory lock, so nodes starting
/// together migrate once. <c>portcullis_schema</c> records how many ran; append new steps, never edit a shipped one.
/// Times are Unix milliseconds, as in the SQLite store, so both backends compare instants the same way.
/// </summary>
internal static class PostgresSchema
{
    /// <summary>Key of the advisory lock held while migrating (any fixed number unique to Portcullis).</summary>
    public const long MigrationLockKey = 0x506F7274_63756C6C; // "Portcull"

    public static readonly string[] Migrations =
    [
        """
        CREATE TABLE users (
            id text PRIMARY KEY,
            provider text NOT NULL,
            subject text NOT NULL,
            created_at bigint NOT NULL,
            UNIQUE (provider, subject));

        CREATE TABLE grants (
            id text PRIMARY KEY,
            user_id text NOT NULL REFERENCES users(id),
            provider text NOT NULL,
            tokens bytea NOT NULL,
            access_token_expires_at bigint,
            version bigint NOT NULL,
            updated_at bigint NOT NULL,
            has_refresh_token boolean NOT NULL,
            UNIQUE (user_id, provider));

        CREATE TABLE sessions (
            key text PRIMARY KEY,
            handle text NOT NULL UNIQUE,
            user_id text NOT NULL,
            grant_id text NOT NULL,
            provider text NOT NULL,
            provider_sid text,
            data bytea NOT NULL,
            created_at bigint NOT NULL,
            last_seen_at bigint NOT NULL,
            idle_expires_at bigint NOT NULL,
            absolute_expires_at bigint NOT NULL);
        CREATE INDEX sessions_grant ON sessions(grant_id);
        CREATE INDEX sessions_user ON sessions(user_id);
        CREATE INDEX sessions_provider_sid ON sessions(provider, provider_sid);
        CREATE INDEX sessions_idle_expiry ON sessions(idle_expires_at);
        CREATE INDEX sessions_absolute_expiry ON sessions(absolute_expires_at);

        CREATE TABLE login_transactions (
            key text PRIMARY KEY,
            binding_hash text NOT NULL,
            data bytea NOT NULL,
            created_at bigint NOT NULL,
            seq bigint GENERATED ALWAYS AS IDENTITY,
            expires_at bigint NOT NULL);
        CREATE INDEX login_transactions_binding ON login_transactions(binding_hash, created_at);
        CREATE INDEX login_transactions_expiry ON login_transactions(expires_at);

        CREATE TABLE leases (
            name text PRIMARY KEY,
            owner text NOT NULL,
            expires_at bigint NOT NULL);

        CREATE TABLE used_markers (
            key text PRIMARY KEY,
            expires_at bigint NOT NULL);

        CREATE TABLE pending_revocations (
            id text PRIMARY KEY,
            provider text NOT NULL,
            user_id text,
            token bytea NOT NULL,
            attempts integer NOT NULL,
            next_attempt_at bigint NOT NULL,
            give_up_at bigint NOT NULL,
            created_at bigint NOT NULL);
        CREATE INDEX pending_revocations_due ON pending_revocations(next_attempt_at);

        CREATE TABLE audit (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            at bigint NOT NULL,
            event text NOT NULL,
            outcome text NOT NULL,
            user_id text,
            provider text,
            session_handle text,
            actor text,
            detail text);
        CREATE INDEX audit_user ON audit(user_id, id);
        CREATE INDEX audit_at ON audit(at);

        CREATE TABLE data_protection_keys (
            name text PRIMARY KEY,
            xml text NOT NULL,
            created_at bigint NOT NULL);
        """,
        // 2: identities (issue 5): a user may sign in with several providers; existing users keep their first identity.
        """
        CREATE TABLE identities (
            provider text NOT NULL,
            subject text NOT NULL,
            user_id text NOT NULL REFERENCES users(id),
            created_at bigint NOT NULL,
            PRIMARY KEY (provider, subject));
        CREATE INDEX identities_user ON identities(user_id);
        INSERT INTO identities (provider, subject, user_id, created_at) SELECT provider, subject, id, created_at FROM users;
        """,
        // 3: one grant per session (issue 17, ADR 0027): (user_id, provider) is no longer unique; grants that could serve
        // workers before stay offline grants, at most one per user and provider.
        """
        ALTER TABLE grants DROP CONSTRAINT IF EXISTS grants_user_id_provider_key;
        ALTER TABLE grants ADD COLUMN offline boolean NOT NULL DEFAULT false;
        UPDATE grants SET offline = has_refresh_token;
        CREATE INDEX grants_user ON grants(user_id, provider);
        CREATE UNIQUE INDEX grants_offline ON grants(user_id, provider) WHERE offline;
        """,
        // 4: split-key sessions (issue 15, ADR 0032): a grant sealed under its session's cookie key, which only that
        // session's requests can open (never a worker, never the unused-grant sweep).
        """
        ALTER TABLE grants ADD COLUMN session_keyed boolean NOT NULL DEFAULT false;
        """,
        // 5: find a user by e-mail (issue 19, ADR 0039): the keyed hash of the identity's address, never the address.
        // Identities signed in before this step have none until their next login.
        """
        ALTER TABLE identities ADD COLUMN email_hash text;
        CREATE INDEX identities_email ON identities(email_hash) WHERE email_hash IS NOT NULL;
        """,
    ];
}

-- The control plane's organizations are tenants, with a name and a standing.
ALTER TABLE tenants ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE tenants ADD COLUMN status TEXT NOT NULL DEFAULT 'active';
UPDATE tenants SET name = id WHERE name = '';

-- People who sign in to the control plane. The password is kept as an argon2id hash (a PHC
-- string); `operator` is 1 for the platform's operators.
CREATE TABLE users (
    id            TEXT   PRIMARY KEY,
    email         TEXT   NOT NULL UNIQUE,
    password_hash TEXT   NOT NULL,
    operator      BIGINT  NOT NULL,
    created_at_ms BIGINT  NOT NULL
);

-- A user's role in an organization: owner, admin, member or read-only.
CREATE TABLE members (
    tenant        TEXT   NOT NULL REFERENCES tenants (id),
    user_id       TEXT   NOT NULL REFERENCES users (id),
    role          TEXT   NOT NULL,
    created_at_ms BIGINT  NOT NULL,
    PRIMARY KEY (tenant, user_id)
);
CREATE INDEX members_by_user ON members (user_id);

-- Browser sessions, by SHA-256 of the token the cookie carries (never the token itself).
CREATE TABLE sessions (
    token_hash    TEXT   PRIMARY KEY,
    user_id       TEXT   NOT NULL REFERENCES users (id),
    csrf_token    TEXT   NOT NULL,
    created_at_ms BIGINT  NOT NULL,
    expires_at_ms BIGINT  NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_at_ms);

-- When each agent last heartbeat, for operators' views.
ALTER TABLE agents ADD COLUMN heartbeat_at_ms BIGINT NOT NULL DEFAULT 0;

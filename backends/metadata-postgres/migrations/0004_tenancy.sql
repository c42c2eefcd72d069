-- Tenants with their plan. Topics of a tenant without a row still work (development mode);
-- API keys need one.
CREATE TABLE tenants (
    id            TEXT   PRIMARY KEY,
    plan          TEXT   NOT NULL,
    created_at_ms BIGINT NOT NULL
);

-- API keys: the secret is never stored, only HMAC-SHA256(id, secret) in hex. `topics` holds
-- comma-separated topic-name patterns, '' for every topic.
CREATE TABLE api_keys (
    id              TEXT   PRIMARY KEY,
    tenant          TEXT   NOT NULL REFERENCES tenants (id),
    name            TEXT   NOT NULL,
    permissions     BIGINT NOT NULL,
    topics          TEXT   NOT NULL,
    hash            TEXT   NOT NULL,
    expires_at_ms   BIGINT,
    created_at_ms   BIGINT NOT NULL,
    last_used_at_ms BIGINT,
    revoked_at_ms   BIGINT
);
CREATE INDEX api_keys_by_tenant ON api_keys (tenant, created_at_ms);

-- Who did what, when, from where. `tenant` is '' when none is known (a failed
-- authentication).
CREATE TABLE audit_log (
    seq BIGSERIAL PRIMARY KEY,
    at_ms  BIGINT NOT NULL,
    tenant TEXT   NOT NULL,
    actor  TEXT   NOT NULL,
    action TEXT   NOT NULL,
    target TEXT   NOT NULL,
    source TEXT   NOT NULL,
    detail TEXT   NOT NULL
);
CREATE INDEX audit_log_by_tenant ON audit_log (tenant, seq);

-- Bytes each tenant produced per UTC month ('YYYY-MM'), added to by every agent every few
-- seconds: the count monthly ingress quotas check.
CREATE TABLE tenant_usage (
    tenant        TEXT   NOT NULL,
    month         TEXT   NOT NULL,
    ingress_bytes BIGINT NOT NULL,
    PRIMARY KEY (tenant, month)
);

-- Storage quotas sum a tenant's objects.
CREATE INDEX objects_by_tenant ON objects (tenant);

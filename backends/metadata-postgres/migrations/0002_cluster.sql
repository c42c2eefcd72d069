-- Cluster membership: each agent process heartbeats its row; rows past expires_at_ms are dead.
CREATE TABLE agents (
    holder        TEXT   PRIMARY KEY,
    agent_id      TEXT   NOT NULL,
    group_name    TEXT   NOT NULL,
    zone          TEXT   NOT NULL,
    addr          TEXT   NOT NULL,
    expires_at_ms BIGINT NOT NULL
);

-- Which agent group serves a tenant's topics; tenants without a row are served by "default".
CREATE TABLE tenant_groups (
    tenant     TEXT PRIMARY KEY,
    group_name TEXT NOT NULL
);

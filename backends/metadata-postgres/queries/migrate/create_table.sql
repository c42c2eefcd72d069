CREATE TABLE IF NOT EXISTS streamhouse_migrations (
    version     BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    checksum    BYTEA NOT NULL,
    applied_at  TIMESTAMPTZ NOT NULL DEFAULT now()
)

-- The first line of an organization, period and metric stands: a period is billed once.
INSERT INTO billing_ledger (tenant, period, metric, overage_micro, amount_cents, state, stripe_id, updated_at_ms)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
ON CONFLICT (tenant, period, metric) DO NOTHING

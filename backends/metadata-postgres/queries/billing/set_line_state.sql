UPDATE billing_ledger SET state = $4, stripe_id = $5, updated_at_ms = $6
WHERE tenant = $1 AND period = $2 AND metric = $3

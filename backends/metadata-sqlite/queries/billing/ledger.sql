SELECT tenant, period, metric, overage_micro, amount_cents, state, stripe_id, updated_at_ms
FROM billing_ledger
WHERE (?1 IS NULL OR tenant = ?1) AND (?2 = 0 OR state <> 'confirmed')
ORDER BY period DESC, tenant, metric

SELECT id, tenant, status, amount_due_cents, amount_paid_cents, currency, created_at_ms
FROM invoices WHERE tenant = $1 ORDER BY created_at_ms DESC, id

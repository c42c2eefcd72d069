INSERT INTO invoices (id, tenant, status, amount_due_cents, amount_paid_cents, currency, created_at_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (id) DO UPDATE SET
    status = excluded.status,
    amount_due_cents = excluded.amount_due_cents,
    amount_paid_cents = excluded.amount_paid_cents

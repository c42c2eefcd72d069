-- An invoice never moves back: an event about an earlier state (Stripe does not order its
-- events, and two may be handled at once) changes nothing.
INSERT INTO invoices (id, tenant, status, amount_due_cents, amount_paid_cents, currency, created_at_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (id) DO UPDATE SET
    status = excluded.status,
    amount_due_cents = excluded.amount_due_cents,
    amount_paid_cents = excluded.amount_paid_cents
WHERE (CASE excluded.status WHEN 'draft' THEN 0 WHEN 'open' THEN 1 WHEN 'payment_failed' THEN 2 ELSE 3 END)
   >= (CASE invoices.status WHEN 'draft' THEN 0 WHEN 'open' THEN 1 WHEN 'payment_failed' THEN 2 ELSE 3 END)

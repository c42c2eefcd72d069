INSERT INTO billing_accounts (tenant, customer_id, subscription_id, subscription_item_id, plan, past_due_since_ms)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (tenant) DO UPDATE SET
    customer_id = excluded.customer_id,
    subscription_id = excluded.subscription_id,
    subscription_item_id = excluded.subscription_item_id,
    plan = excluded.plan,
    past_due_since_ms = excluded.past_due_since_ms

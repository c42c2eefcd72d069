SELECT tenant, customer_id, subscription_id, subscription_item_id, plan, past_due_since_ms
FROM billing_accounts ORDER BY tenant

SELECT tenant FROM billing_accounts WHERE customer_id = $1

-- Billing: each organization's Stripe customer and subscription, the ledger of overage
-- lines billed once per organization, period and metric (pending -> sent -> confirmed), and the
-- invoices Stripe's webhooks describe.
CREATE TABLE billing_accounts (
    tenant               TEXT   PRIMARY KEY REFERENCES tenants (id),
    customer_id          TEXT   NOT NULL UNIQUE,
    subscription_id      TEXT   NOT NULL,
    subscription_item_id TEXT   NOT NULL,
    plan                 TEXT   NOT NULL,
    past_due_since_ms    BIGINT 
);

CREATE TABLE billing_ledger (
    tenant        TEXT   NOT NULL,
    period        TEXT   NOT NULL,
    metric        TEXT   NOT NULL,
    overage_micro BIGINT  NOT NULL,
    amount_cents  BIGINT  NOT NULL,
    state         TEXT   NOT NULL,
    stripe_id     TEXT   NOT NULL,
    updated_at_ms BIGINT  NOT NULL,
    PRIMARY KEY (tenant, period, metric)
);
CREATE INDEX billing_ledger_by_state ON billing_ledger (state);

CREATE TABLE invoices (
    id                TEXT   PRIMARY KEY,
    tenant            TEXT   NOT NULL,
    status            TEXT   NOT NULL,
    amount_due_cents  BIGINT  NOT NULL,
    amount_paid_cents BIGINT  NOT NULL,
    currency          TEXT   NOT NULL,
    created_at_ms     BIGINT  NOT NULL
);
CREATE INDEX invoices_by_tenant ON invoices (tenant, created_at_ms);

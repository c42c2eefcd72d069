//! [`BillingStore`] on SQLite: Stripe accounts, the overage ledger and invoices.

use async_trait::async_trait;
use streamhouse_core::TenantId;
use streamhouse_core::billing::{
    BillingAccount, BillingStore, InvoiceRecord, LedgerLine, LineState,
};
use streamhouse_core::metadata::{MetadataError, MetadataResult, stored_i64};

use crate::error::meta;
use crate::store::{Row, SqliteMetadataStore};

#[async_trait]
impl BillingStore for SqliteMetadataStore {
    async fn billing_account(&self, tenant: &TenantId) -> MetadataResult<Option<BillingAccount>> {
        let row = sqlx::query(include_str!("../queries/billing/get_account.sql"))
            .bind(tenant.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(meta)?;
        row.map(|r| BillingAccount::decode(&Row(&r))).transpose()
    }

    async fn save_billing_account(&self, a: &BillingAccount) -> MetadataResult<()> {
        sqlx::query(include_str!("../queries/billing/save_account.sql"))
            .bind(a.tenant.as_str())
            .bind(&a.customer_id)
            .bind(&a.subscription_id)
            .bind(&a.subscription_item_id)
            .bind(a.plan.as_str())
            .bind(a.past_due_since_ms)
            .execute(&self.pool)
            .await
            .map_err(meta)?;
        Ok(())
    }

    async fn tenant_of_customer(&self, customer_id: &str) -> MetadataResult<TenantId> {
        let t: Option<String> =
            sqlx::query_scalar(include_str!("../queries/billing/tenant_of_customer.sql"))
                .bind(customer_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(meta)?;
        let t = t.ok_or_else(|| {
            MetadataError::NotFound(format!("no organization has customer {customer_id}"))
        })?;
        TenantId::new(t).map_err(|e| MetadataError::other(format!("corrupt billing row: {e}")))
    }

    async fn billing_accounts(&self) -> MetadataResult<Vec<BillingAccount>> {
        let rows = sqlx::query(include_str!("../queries/billing/accounts.sql"))
            .fetch_all(&self.pool)
            .await
            .map_err(meta)?;
        rows.iter()
            .map(|r| BillingAccount::decode(&Row(r)))
            .collect()
    }

    async fn add_ledger_line(&self, l: &LedgerLine) -> MetadataResult<bool> {
        let done = sqlx::query(include_str!("../queries/billing/add_line.sql"))
            .bind(l.tenant.as_str())
            .bind(&l.period)
            .bind(&l.metric)
            .bind(stored_i64(l.overage_micro, "overage")?)
            .bind(stored_i64(l.amount_cents, "amount")?)
            .bind(l.state.as_str())
            .bind(&l.stripe_id)
            .bind(l.updated_at_ms)
            .execute(&self.pool)
            .await
            .map_err(meta)?;
        Ok(done.rows_affected() == 1)
    }

    async fn ledger(
        &self,
        tenant: Option<&TenantId>,
        open_only: bool,
    ) -> MetadataResult<Vec<LedgerLine>> {
        let rows = sqlx::query(include_str!("../queries/billing/ledger.sql"))
            .bind(tenant.map(TenantId::as_str))
            .bind(i64::from(open_only))
            .fetch_all(&self.pool)
            .await
            .map_err(meta)?;
        rows.iter().map(|r| LedgerLine::decode(&Row(r))).collect()
    }

    async fn set_ledger_state(
        &self,
        l: &LedgerLine,
        state: LineState,
        stripe_id: &str,
        at_ms: i64,
    ) -> MetadataResult<()> {
        let done = sqlx::query(include_str!("../queries/billing/set_line_state.sql"))
            .bind(l.tenant.as_str())
            .bind(&l.period)
            .bind(&l.metric)
            .bind(state.as_str())
            .bind(stripe_id)
            .bind(at_ms)
            .execute(&self.pool)
            .await
            .map_err(meta)?;
        if done.rows_affected() == 0 {
            return Err(MetadataError::NotFound(format!(
                "no ledger line {}",
                l.key()
            )));
        }
        Ok(())
    }

    async fn save_invoice(&self, i: &InvoiceRecord) -> MetadataResult<()> {
        sqlx::query(include_str!("../queries/billing/save_invoice.sql"))
            .bind(&i.id)
            .bind(i.tenant.as_str())
            .bind(&i.status)
            .bind(stored_i64(i.amount_due_cents, "amount")?)
            .bind(stored_i64(i.amount_paid_cents, "amount")?)
            .bind(&i.currency)
            .bind(i.created_at_ms)
            .execute(&self.pool)
            .await
            .map_err(meta)?;
        Ok(())
    }

    async fn invoices(&self, tenant: &TenantId) -> MetadataResult<Vec<InvoiceRecord>> {
        let rows = sqlx::query(include_str!("../queries/billing/invoices.sql"))
            .bind(tenant.as_str())
            .fetch_all(&self.reads)
            .await
            .map_err(meta)?;
        rows.iter()
            .map(|r| InvoiceRecord::decode(&Row(r)))
            .collect()
    }
}

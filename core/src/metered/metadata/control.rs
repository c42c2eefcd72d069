//! [`AccountStore`], [`UsageStore`] and [`BillingStore`] of [`MeteredMetadataStore`]: the
//! control plane's calls, counted and timed like the agents'.

use async_trait::async_trait;

use super::{MetadataOp, MeteredMetadataStore, none};
use crate::accounts::{AccountStore, Member, Role, Session, User};
use crate::billing::{BillingAccount, BillingStore, InvoiceRecord, LedgerLine, LineState};
use crate::metadata::MetadataResult;
use crate::tenancy::Tenant;
use crate::types::TenantId;
use crate::usage::{Granularity, UsageDelta, UsageRow, UsageStore};

#[async_trait]
impl AccountStore for MeteredMetadataStore {
    async fn create_organization(&self, tenant: &Tenant, owner: &User) -> MetadataResult<()> {
        let call = self.inner.store.create_organization(tenant, owner);
        metered!(self, CreateOrganization, call)
    }

    async fn create_user(&self, user: &User) -> MetadataResult<()> {
        metered!(self, CreateUser, self.inner.store.create_user(user))
    }

    async fn get_user(&self, id: &str) -> MetadataResult<User> {
        metered!(self, GetUser, self.inner.store.get_user(id))
    }

    async fn user_by_email(&self, email: &str) -> MetadataResult<User> {
        metered!(self, UserByEmail, self.inner.store.user_by_email(email))
    }

    async fn set_member(&self, tenant: &TenantId, user_id: &str, role: Role) -> MetadataResult<()> {
        let call = self.inner.store.set_member(tenant, user_id, role);
        metered!(self, SetMember, call)
    }

    async fn remove_member(&self, tenant: &TenantId, user_id: &str) -> MetadataResult<()> {
        let call = self.inner.store.remove_member(tenant, user_id);
        metered!(self, RemoveMember, call)
    }

    async fn members(&self, tenant: &TenantId) -> MetadataResult<Vec<Member>> {
        metered!(self, Members, self.inner.store.members(tenant))
    }

    async fn memberships(&self, user_id: &str) -> MetadataResult<Vec<Member>> {
        metered!(self, Memberships, self.inner.store.memberships(user_id))
    }

    async fn create_session(&self, session: &Session) -> MetadataResult<()> {
        metered!(
            self,
            CreateSession,
            self.inner.store.create_session(session)
        )
    }

    async fn get_session(&self, token_hash: &str) -> MetadataResult<Session> {
        metered!(self, GetSession, self.inner.store.get_session(token_hash))
    }

    async fn delete_session(&self, token_hash: &str) -> MetadataResult<()> {
        metered!(
            self,
            DeleteSession,
            self.inner.store.delete_session(token_hash)
        )
    }
}

#[async_trait]
impl UsageStore for MeteredMetadataStore {
    async fn add_usage(&self, deltas: &[UsageDelta]) -> MetadataResult<()> {
        metered!(self, AddUsage, self.inner.store.add_usage(deltas))
    }

    async fn sample_storage(&self, hour_ms: i64) -> MetadataResult<bool> {
        metered!(
            self,
            SampleStorage,
            self.inner.store.sample_storage(hour_ms)
        )
    }

    async fn usage(
        &self,
        tenant: &TenantId,
        granularity: Granularity,
        from_ms: i64,
        to_ms: i64,
        per_topic: bool,
    ) -> MetadataResult<Vec<UsageRow>> {
        let call = self
            .inner
            .store
            .usage(tenant, granularity, from_ms, to_ms, per_topic);
        metered!(self, Usage, call)
    }
}

#[async_trait]
impl BillingStore for MeteredMetadataStore {
    async fn billing_account(&self, tenant: &TenantId) -> MetadataResult<Option<BillingAccount>> {
        metered!(
            self,
            BillingAccount,
            self.inner.store.billing_account(tenant)
        )
    }

    async fn save_billing_account(&self, account: &BillingAccount) -> MetadataResult<()> {
        let call = self.inner.store.save_billing_account(account);
        metered!(self, SaveBillingAccount, call)
    }

    async fn tenant_of_customer(&self, customer_id: &str) -> MetadataResult<TenantId> {
        let call = self.inner.store.tenant_of_customer(customer_id);
        metered!(self, TenantOfCustomer, call)
    }

    async fn billing_accounts(&self) -> MetadataResult<Vec<BillingAccount>> {
        metered!(self, BillingAccounts, self.inner.store.billing_accounts())
    }

    async fn add_ledger_line(&self, line: &LedgerLine) -> MetadataResult<bool> {
        metered!(self, AddLedgerLine, self.inner.store.add_ledger_line(line))
    }

    async fn ledger(
        &self,
        tenant: Option<&TenantId>,
        open_only: bool,
    ) -> MetadataResult<Vec<LedgerLine>> {
        metered!(self, Ledger, self.inner.store.ledger(tenant, open_only))
    }

    async fn set_ledger_state(
        &self,
        line: &LedgerLine,
        state: LineState,
        stripe_id: &str,
        at_ms: i64,
    ) -> MetadataResult<()> {
        let call = self
            .inner
            .store
            .set_ledger_state(line, state, stripe_id, at_ms);
        metered!(self, SetLedgerState, call)
    }

    async fn save_invoice(&self, invoice: &InvoiceRecord) -> MetadataResult<()> {
        metered!(self, SaveInvoice, self.inner.store.save_invoice(invoice))
    }

    async fn invoices(&self, tenant: &TenantId) -> MetadataResult<Vec<InvoiceRecord>> {
        metered!(self, Invoices, self.inner.store.invoices(tenant))
    }
}

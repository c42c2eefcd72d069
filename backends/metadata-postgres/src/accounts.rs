//! [`AccountStore`] on PostgreSQL: users, their memberships and their sessions. Everything is
//! read from the writer: a signed-out session or a removed member must be seen at once.

use async_trait::async_trait;
use streamhouse_core::accounts::errors::{email_taken, no_session, no_user, not_member};
use streamhouse_core::accounts::{AccountStore, Member, Role, Session, User};
use streamhouse_core::metadata::MetadataResult;
use streamhouse_core::tenancy::stored::errors::{no_tenant, tenant_exists};
use streamhouse_core::tenancy::{Tenant, TenantStore};
use streamhouse_core::{MetadataError, TenantId};

use crate::error::meta;
use crate::store::{PostgresMetadataStore, Row};

#[async_trait]
impl AccountStore for PostgresMetadataStore {
    async fn create_organization(&self, tenant: &Tenant, owner: &User) -> MetadataResult<()> {
        let mut tx = self.write_tx().await?;
        self.q(include_str!("../queries/tenancy/create_tenant.sql"))
            .bind(tenant.id.as_str())
            .bind(&tenant.name)
            .bind(tenant.plan.as_str())
            .bind(tenant.status.as_str())
            .bind(tenant.created_at_ms)
            .execute(&mut *tx)
            .await
            .map_err(|e| meta(e).when_exists(|| tenant_exists(&tenant.id)))?;
        self.insert_user(owner)
            .execute(&mut *tx)
            .await
            .map_err(|e| meta(e).when_exists(|| email_taken(&owner.email)))?;
        self.q(include_str!("../queries/accounts/set_member.sql"))
            .bind(tenant.id.as_str())
            .bind(&owner.id)
            .bind(Role::Owner.as_str())
            .bind(tenant.created_at_ms)
            .execute(&mut *tx)
            .await
            .map_err(meta)?;
        tx.commit().await.map_err(meta)
    }

    async fn create_user(&self, user: &User) -> MetadataResult<()> {
        let mut c = self.conn(&self.writer).await?;
        self.insert_user(user)
            .execute(c.get())
            .await
            .map_err(|e| meta(e).when_exists(|| email_taken(&user.email)))?;
        c.done().await
    }

    async fn get_user(&self, id: &str) -> MetadataResult<User> {
        let row = self
            .optional_row(include_str!("../queries/accounts/get_user.sql"), id)
            .await?;
        User::decode(&Row(&row.ok_or_else(|| no_user(id))?))
    }

    async fn user_by_email(&self, email: &str) -> MetadataResult<User> {
        let row = self
            .optional_row(include_str!("../queries/accounts/user_by_email.sql"), email)
            .await?;
        User::decode(&Row(&row.ok_or_else(|| no_user(email))?))
    }

    async fn set_member(&self, tenant: &TenantId, user_id: &str, role: Role) -> MetadataResult<()> {
        let mut c = self.conn(&self.writer).await?;
        let done = self
            .q(include_str!("../queries/accounts/set_member.sql"))
            .bind(tenant.as_str())
            .bind(user_id)
            .bind(role.as_str())
            .bind(streamhouse_core::clock::now_ms())
            .execute(c.get())
            .await
            .map_err(meta)?;
        c.done().await?;
        if done.rows_affected() == 0 {
            return Err(match self.get_tenant(tenant).await {
                Err(MetadataError::NotFound(_)) => no_tenant(tenant),
                Err(e) => e,
                Ok(_) => no_user(user_id),
            });
        }
        Ok(())
    }

    async fn remove_member(&self, tenant: &TenantId, user_id: &str) -> MetadataResult<()> {
        let mut c = self.conn(&self.writer).await?;
        let done = self
            .q(include_str!("../queries/accounts/remove_member.sql"))
            .bind(tenant.as_str())
            .bind(user_id)
            .execute(c.get())
            .await
            .map_err(meta)?;
        c.done().await?;
        if done.rows_affected() == 0 {
            return Err(not_member(user_id, tenant.as_str()));
        }
        Ok(())
    }

    async fn members(&self, tenant: &TenantId) -> MetadataResult<Vec<Member>> {
        let rows = self
            .all_rows(
                include_str!("../queries/accounts/members.sql"),
                tenant.as_str(),
            )
            .await?;
        rows.iter().map(|r| Member::decode(&Row(r))).collect()
    }

    async fn memberships(&self, user_id: &str) -> MetadataResult<Vec<Member>> {
        let rows = self
            .all_rows(include_str!("../queries/accounts/memberships.sql"), user_id)
            .await?;
        rows.iter().map(|r| Member::decode(&Row(r))).collect()
    }

    async fn create_session(&self, s: &Session) -> MetadataResult<()> {
        let mut tx = self.write_tx().await?;
        self.q(include_str!("../queries/accounts/drop_ended_sessions.sql"))
            .bind(s.created_at_ms)
            .execute(&mut *tx)
            .await
            .map_err(meta)?;
        self.q(include_str!("../queries/accounts/create_session.sql"))
            .bind(&s.token_hash)
            .bind(&s.user_id)
            .bind(&s.csrf_token)
            .bind(s.created_at_ms)
            .bind(s.expires_at_ms)
            .execute(&mut *tx)
            .await
            .map_err(meta)?;
        tx.commit().await.map_err(meta)
    }

    async fn get_session(&self, token_hash: &str) -> MetadataResult<Session> {
        let row = self
            .optional_row(
                include_str!("../queries/accounts/get_session.sql"),
                token_hash,
            )
            .await?;
        Session::decode(&Row(&row.ok_or_else(no_session)?))
    }

    async fn delete_session(&self, token_hash: &str) -> MetadataResult<()> {
        let mut c = self.conn(&self.writer).await?;
        self.q(include_str!("../queries/accounts/delete_session.sql"))
            .bind(token_hash)
            .execute(c.get())
            .await
            .map_err(meta)?;
        c.done().await
    }
}

impl PostgresMetadataStore {
    /// The `create_user` query with a user's columns bound.
    fn insert_user<'q>(
        &self,
        u: &'q User,
    ) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
        self.q(include_str!("../queries/accounts/create_user.sql"))
            .bind(&u.id)
            .bind(&u.email)
            .bind(&u.password_hash)
            .bind(i64::from(u.operator))
            .bind(u.created_at_ms)
    }

    /// The row a one-parameter query finds on the writer, if any.
    async fn optional_row(
        &self,
        sql: &'static str,
        arg: &str,
    ) -> MetadataResult<Option<sqlx::postgres::PgRow>> {
        let mut c = self.conn(&self.writer).await?;
        let row = self
            .q(sql)
            .bind(arg)
            .fetch_optional(c.get())
            .await
            .map_err(meta)?;
        c.done().await?;
        Ok(row)
    }

    /// The rows a one-parameter query finds on the writer.
    async fn all_rows(
        &self,
        sql: &'static str,
        arg: &str,
    ) -> MetadataResult<Vec<sqlx::postgres::PgRow>> {
        let mut c = self.conn(&self.writer).await?;
        let rows = self
            .q(sql)
            .bind(arg)
            .fetch_all(c.get())
            .await
            .map_err(meta)?;
        c.done().await?;
        Ok(rows)
    }
}

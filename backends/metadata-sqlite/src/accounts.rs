//! [`AccountStore`] on SQLite: users, their memberships and their sessions.

use async_trait::async_trait;
use streamhouse_core::TenantId;
use streamhouse_core::accounts::errors::{email_taken, no_session, no_user, not_member};
use streamhouse_core::accounts::{AccountStore, Member, Role, Session, User};
use streamhouse_core::metadata::MetadataResult;
use streamhouse_core::tenancy::Tenant;
use streamhouse_core::tenancy::stored::errors::{no_tenant, tenant_exists};

use crate::error::meta;
use crate::store::{Row, SqliteMetadataStore};

/// Binds a user's columns to the `create_user` query.
macro_rules! user_insert {
    ($u:expr) => {
        sqlx::query(include_str!("../queries/accounts/create_user.sql"))
            .bind(&$u.id)
            .bind(&$u.email)
            .bind(&$u.password_hash)
            .bind(i64::from($u.operator))
            .bind($u.created_at_ms)
    };
}

#[async_trait]
impl AccountStore for SqliteMetadataStore {
    async fn create_organization(&self, tenant: &Tenant, owner: &User) -> MetadataResult<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query(include_str!("../queries/tenancy/create_tenant.sql"))
            .bind(tenant.id.as_str())
            .bind(&tenant.name)
            .bind(tenant.plan.as_str())
            .bind(tenant.status.as_str())
            .bind(tenant.created_at_ms)
            .execute(&mut *tx)
            .await
            .map_err(|e| meta(e).when_exists(|| tenant_exists(&tenant.id)))?;
        user_insert!(owner)
            .execute(&mut *tx)
            .await
            .map_err(|e| meta(e).when_exists(|| email_taken(&owner.email)))?;
        sqlx::query(include_str!("../queries/accounts/set_member.sql"))
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
        user_insert!(user)
            .execute(&self.pool)
            .await
            .map_err(|e| meta(e).when_exists(|| email_taken(&user.email)))?;
        Ok(())
    }

    async fn get_user(&self, id: &str) -> MetadataResult<User> {
        let row = sqlx::query(include_str!("../queries/accounts/get_user.sql"))
            .bind(id)
            .fetch_optional(&self.reads)
            .await
            .map_err(meta)?
            .ok_or_else(|| no_user(id))?;
        User::decode(&Row(&row))
    }

    async fn user_by_email(&self, email: &str) -> MetadataResult<User> {
        let row = sqlx::query(include_str!("../queries/accounts/user_by_email.sql"))
            .bind(email)
            .fetch_optional(&self.reads)
            .await
            .map_err(meta)?
            .ok_or_else(|| no_user(email))?;
        User::decode(&Row(&row))
    }

    async fn set_member(&self, tenant: &TenantId, user_id: &str, role: Role) -> MetadataResult<()> {
        let done = sqlx::query(include_str!("../queries/accounts/set_member.sql"))
            .bind(tenant.as_str())
            .bind(user_id)
            .bind(role.as_str())
            .bind(streamhouse_core::clock::now_ms())
            .execute(&self.pool)
            .await
            .map_err(meta)?;
        if done.rows_affected() == 0 {
            self.get_tenant_row(tenant).await?;
            return Err(no_user(user_id));
        }
        Ok(())
    }

    async fn remove_member(&self, tenant: &TenantId, user_id: &str) -> MetadataResult<()> {
        let done = sqlx::query(include_str!("../queries/accounts/remove_member.sql"))
            .bind(tenant.as_str())
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map_err(meta)?;
        if done.rows_affected() == 0 {
            return Err(not_member(user_id, tenant.as_str()));
        }
        Ok(())
    }

    async fn members(&self, tenant: &TenantId) -> MetadataResult<Vec<Member>> {
        let rows = sqlx::query(include_str!("../queries/accounts/members.sql"))
            .bind(tenant.as_str())
            .fetch_all(&self.reads)
            .await
            .map_err(meta)?;
        rows.iter().map(|r| Member::decode(&Row(r))).collect()
    }

    async fn memberships(&self, user_id: &str) -> MetadataResult<Vec<Member>> {
        let rows = sqlx::query(include_str!("../queries/accounts/memberships.sql"))
            .bind(user_id)
            .fetch_all(&self.reads)
            .await
            .map_err(meta)?;
        rows.iter().map(|r| Member::decode(&Row(r))).collect()
    }

    async fn create_session(&self, s: &Session) -> MetadataResult<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query(include_str!("../queries/accounts/drop_ended_sessions.sql"))
            .bind(s.created_at_ms)
            .execute(&mut *tx)
            .await
            .map_err(meta)?;
        sqlx::query(include_str!("../queries/accounts/create_session.sql"))
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
        let row = sqlx::query(include_str!("../queries/accounts/get_session.sql"))
            .bind(token_hash)
            .fetch_optional(&self.reads)
            .await
            .map_err(meta)?
            .ok_or_else(no_session)?;
        Session::decode(&Row(&row))
    }

    async fn delete_session(&self, token_hash: &str) -> MetadataResult<()> {
        sqlx::query(include_str!("../queries/accounts/delete_session.sql"))
            .bind(token_hash)
            .execute(&self.pool)
            .await
            .map_err(meta)?;
        Ok(())
    }
}

impl SqliteMetadataStore {
    /// `NotFound` naming the tenant when it does not exist.
    async fn get_tenant_row(&self, tenant: &TenantId) -> MetadataResult<()> {
        use streamhouse_core::tenancy::TenantStore;
        self.get_tenant(tenant)
            .await
            .map(drop)
            .map_err(|e| match e {
                streamhouse_core::MetadataError::NotFound(_) => no_tenant(tenant),
                e => e,
            })
    }
}

//! People and their sessions, for the control plane ([`AccountStore`]): users who sign in
//! with an email and a password, their roles in organizations (tenants), and their sessions.
//!
//! Passwords and session tokens never reach the store: it keeps an argon2id hash of each
//! password and a SHA-256 of each session token, so a copy of the database opens no account.

use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;

use crate::metadata::{MetadataError, MetadataResult};
use crate::stored::StoredRow;
use crate::tenancy::Tenant;
use crate::types::{TenantId, ValidationError};

/// A person who signs in to the control plane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Its id, `usr_<16 hex>`.
    pub id: String,
    /// Its email address, lowercased: how it signs in.
    pub email: String,
    /// The PHC string of its password's argon2id hash.
    pub password_hash: String,
    /// Whether it operates the platform: sees every organization and the agents.
    pub operator: bool,
    /// When it was created, ms since the epoch.
    pub created_at_ms: i64,
}

/// What a user may do in an organization, each role including the ones below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Sees everything of the organization, changes nothing.
    ReadOnly,
    /// Manages topics and reads their messages.
    Member,
    /// Manages API keys and members, reads the audit log.
    Admin,
    /// Changes the plan and names other owners.
    Owner,
}

impl Role {
    /// Every role, least first.
    pub const ALL: [Role; 4] = [Role::ReadOnly, Role::Member, Role::Admin, Role::Owner];

    /// The name as stored and typed.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::ReadOnly => "read-only",
            Role::Member => "member",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                ValidationError(format!(
                    "unknown role {s:?}: use owner, admin, member or read-only"
                ))
            })
    }
}

/// A user's role in one organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The organization.
    pub tenant: TenantId,
    /// The user's id.
    pub user_id: String,
    /// The user's email.
    pub email: String,
    /// Its role there.
    pub role: Role,
    /// When it joined, ms since the epoch.
    pub created_at_ms: i64,
}

/// A signed-in browser's session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// SHA-256 of the session token the cookie carries, lowercase hex.
    pub token_hash: String,
    /// Who signed in.
    pub user_id: String,
    /// The token a mutating request must repeat in its `x-csrf-token` header.
    pub csrf_token: String,
    /// When it began, ms since the epoch.
    pub created_at_ms: i64,
    /// When it ends, ms since the epoch.
    pub expires_at_ms: i64,
}

/// Users, their memberships and their sessions.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Creates an organization and its first user, who owns it, in one transaction:
    /// `AlreadyExists` if the tenant id or the email is taken, and then nothing is created.
    async fn create_organization(&self, tenant: &Tenant, owner: &User) -> MetadataResult<()>;

    /// Creates a user; `AlreadyExists` if the email is taken.
    async fn create_user(&self, user: &User) -> MetadataResult<()>;

    /// A user by id; `NotFound` if there is none.
    async fn get_user(&self, id: &str) -> MetadataResult<User>;

    /// A user by (lowercased) email; `NotFound` if there is none.
    async fn user_by_email(&self, email: &str) -> MetadataResult<User>;

    /// Gives a user a role in an organization, replacing any earlier one; `NotFound` if the
    /// user or the organization does not exist.
    async fn set_member(&self, tenant: &TenantId, user_id: &str, role: Role) -> MetadataResult<()>;

    /// Takes a user out of an organization; `NotFound` if it was not a member.
    async fn remove_member(&self, tenant: &TenantId, user_id: &str) -> MetadataResult<()>;

    /// The members of an organization, oldest first.
    async fn members(&self, tenant: &TenantId) -> MetadataResult<Vec<Member>>;

    /// The organizations a user belongs to, by tenant id.
    async fn memberships(&self, user_id: &str) -> MetadataResult<Vec<Member>>;

    /// Stores a new session, and drops every session that has ended.
    async fn create_session(&self, session: &Session) -> MetadataResult<()>;

    /// A session by token hash, ended ones included; `NotFound` if there is none.
    async fn get_session(&self, token_hash: &str) -> MetadataResult<Session>;

    /// Ends a session; ending one that does not exist does nothing.
    async fn delete_session(&self, token_hash: &str) -> MetadataResult<()>;
}

/// The errors both backends answer with, worded once.
pub mod errors {
    use super::MetadataError;

    /// No user has this id or email.
    pub fn no_user(who: &str) -> MetadataError {
        MetadataError::NotFound(format!("user {who} does not exist"))
    }

    /// The email is taken.
    pub fn email_taken(email: &str) -> MetadataError {
        MetadataError::AlreadyExists(format!("a user with email {email} already exists"))
    }

    /// The user is not a member.
    pub fn not_member(user: &str, tenant: &str) -> MetadataError {
        MetadataError::NotFound(format!("user {user} is not a member of {tenant}"))
    }

    /// No such session.
    pub fn no_session() -> MetadataError {
        MetadataError::NotFound("no such session; sign in again".into())
    }
}

fn corrupt(what: &str, e: impl fmt::Display) -> MetadataError {
    MetadataError::other(format!("corrupt {what} row: {e}"))
}

impl User {
    /// A user from the columns `id, email, password_hash, operator, created_at_ms`.
    pub fn decode(row: &impl StoredRow) -> MetadataResult<Self> {
        Ok(Self {
            id: row.text("id")?,
            email: row.text("email")?,
            password_hash: row.text("password_hash")?,
            operator: row.int("operator")? != 0,
            created_at_ms: row.int("created_at_ms")?,
        })
    }
}

impl Member {
    /// A membership from the columns `tenant, user_id, email, role, created_at_ms`.
    pub fn decode(row: &impl StoredRow) -> MetadataResult<Self> {
        Ok(Self {
            tenant: TenantId::new(row.text("tenant")?).map_err(|e| corrupt("member", e))?,
            user_id: row.text("user_id")?,
            email: row.text("email")?,
            role: row
                .text("role")?
                .parse()
                .map_err(|e| corrupt("member", e))?,
            created_at_ms: row.int("created_at_ms")?,
        })
    }
}

impl Session {
    /// A session from the columns `token_hash, user_id, csrf_token, created_at_ms,
    /// expires_at_ms`.
    pub fn decode(row: &impl StoredRow) -> MetadataResult<Self> {
        Ok(Self {
            token_hash: row.text("token_hash")?,
            user_id: row.text("user_id")?,
            csrf_token: row.text("csrf_token")?,
            created_at_ms: row.int("created_at_ms")?,
            expires_at_ms: row.int("expires_at_ms")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_print_and_order() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        assert!(Role::Owner > Role::Admin && Role::Admin > Role::Member);
        assert!(Role::Member > Role::ReadOnly);
        assert!("root".parse::<Role>().unwrap_err().0.contains("read-only"));
    }
}

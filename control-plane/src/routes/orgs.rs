//! Organizations, their members, their quota and audit log, and for operators the agents.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use streamhouse_core::accounts::{Member, Role, User};
use streamhouse_core::clock::{now_ms, rfc3339};
use streamhouse_core::cluster::AgentLoad;
use streamhouse_core::tenancy::{Plan, Tenant, TenantStatus, month_of};
use streamhouse_core::{MetadataError, TenantId};
use utoipa::{IntoParams, ToSchema};

use super::account::user_id;
use crate::auth::{Caller, Source, Who, check_password, email, hash_password, org_error};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::{Body, Shared};

/// An organization.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgView {
    /// Its id: the tenant id its topics and keys belong to.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its plan: starter, growth, business or enterprise.
    pub plan: String,
    /// active, past_due or suspended.
    pub status: String,
    /// The agent group serving it.
    pub agent_group: String,
    /// The caller's role in it.
    pub role: String,
    /// When it was created (RFC 3339).
    pub created_at: String,
}

async fn org_view(state: &Shared, t: Tenant, role: Role) -> ApiResult<OrgView> {
    Ok(OrgView {
        agent_group: state.store.tenant_group(&t.id).await?,
        id: t.id.to_string(),
        name: t.name,
        plan: t.plan.to_string(),
        status: t.status.as_str().to_owned(),
        role: role.to_string(),
        created_at: rfc3339(t.created_at_ms),
    })
}

/// An organization id from a path, answered as not found when it cannot be one.
pub fn org_id(raw: &str) -> ApiResult<TenantId> {
    TenantId::new(raw).map_err(|_| ApiError::not_found(format!("organization {raw:?} not found")))
}

/// The organizations the caller may reach: its memberships, every one for an operator, the
/// key's own for an API key.
#[utoipa::path(get, path = "/api/v1/orgs", tag = "organizations",
    responses((status = 200, body = [OrgView]), (status = 401, body = ErrorBody)))]
pub async fn list(State(state): State<Shared>, caller: Caller) -> ApiResult<Json<Vec<OrgView>>> {
    let mut out = Vec::new();
    let reachable: Vec<(TenantId, Role)> = match &caller.who {
        Who::User(u) if u.operator => state
            .store
            .list_tenants()
            .await?
            .into_iter()
            .map(|t| (t.id, Role::Owner))
            .collect(),
        Who::User(u) => state
            .store
            .memberships(&u.id)
            .await?
            .into_iter()
            .map(|m| (m.tenant, m.role))
            .collect(),
        Who::Key(k) => vec![(k.tenant.clone(), caller.role_in(&state, &k.tenant).await?)],
    };
    for (id, role) in reachable {
        let t = state.store.get_tenant(&id).await?;
        out.push(org_view(&state, t, role).await?);
    }
    Ok(Json(out))
}

/// One organization.
#[utoipa::path(get, path = "/api/v1/orgs/{org}", tag = "organizations",
    params(("org" = String, Path, description = "Organization id")),
    responses((status = 200, body = OrgView), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<Shared>,
    caller: Caller,
    Path(org): Path<String>,
) -> ApiResult<Json<OrgView>> {
    let org = org_id(&org)?;
    let role = caller.role_in(&state, &org).await?;
    let t = state
        .store
        .get_tenant(&org)
        .await
        .map_err(org_error(&org))?;
    Ok(Json(org_view(&state, t, role).await?))
}

/// Changes to an organization; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgChange {
    /// A new name (owners).
    pub name: Option<String>,
    /// A new plan (owners): starter, growth, business or enterprise.
    pub plan: Option<String>,
    /// A new status (operators): active, past_due or suspended.
    pub status: Option<String>,
}

/// Renames an organization, changes its plan (owners) or its status (operators).
#[utoipa::path(patch, path = "/api/v1/orgs/{org}", tag = "organizations",
    params(("org" = String, Path, description = "Organization id")), request_body = OrgChange,
    responses((status = 200, body = OrgView), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update(
    State(state): State<Shared>,
    caller: Caller,
    Source(from): Source,
    Path(org): Path<String>,
    Body(req): Body<OrgChange>,
) -> ApiResult<Json<OrgView>> {
    let org = org_id(&org)?;
    let role = caller.require(&state, &org, Role::Owner).await?;
    let mut t = state
        .store
        .get_tenant(&org)
        .await
        .map_err(org_error(&org))?;
    let mut changes = Vec::new();
    if let Some(name) = req.name {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(ApiError::invalid("name", "a name has 1 to 100 characters"));
        }
        changes.push(format!("name={name}"));
        t.name = name.to_owned();
    }
    if let Some(plan) = req.plan {
        t.plan = plan
            .parse::<Plan>()
            .map_err(|e| ApiError::invalid("plan", e.0))?;
        changes.push(format!("plan={}", t.plan));
    }
    if let Some(status) = req.status {
        caller.require_operator()?;
        t.status = status
            .parse::<TenantStatus>()
            .map_err(|e| ApiError::invalid("status", e.0))?;
        changes.push(format!("status={}", t.status.as_str()));
    }
    state.store.update_tenant(&t).await?;
    state
        .audit(
            &caller.actor(),
            Some(&org),
            "org.update",
            org.as_str(),
            &from,
            changes.join(" "),
        )
        .await?;
    Ok(Json(org_view(&state, t, role).await?))
}

/// A member of an organization.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberView {
    /// The user's id.
    pub user_id: String,
    /// The user's email.
    pub email: String,
    /// owner, admin, member or read-only.
    pub role: String,
    /// When the user joined (RFC 3339).
    pub joined_at: String,
}

impl From<Member> for MemberView {
    fn from(m: Member) -> Self {
        Self {
            user_id: m.user_id,
            email: m.email,
            role: m.role.to_string(),
            joined_at: rfc3339(m.created_at_ms),
        }
    }
}

/// The members of an organization.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/members", tag = "organizations",
    params(("org" = String, Path, description = "Organization id")),
    responses((status = 200, body = [MemberView]), (status = 404, body = ErrorBody)))]
pub async fn members(
    State(state): State<Shared>,
    caller: Caller,
    Path(org): Path<String>,
) -> ApiResult<Json<Vec<MemberView>>> {
    let org = org_id(&org)?;
    caller.role_in(&state, &org).await?;
    let m = state.store.members(&org).await?;
    Ok(Json(m.into_iter().map(Into::into).collect()))
}

/// A user to add to an organization.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    /// The user's email; an account is created when there is none.
    pub email: String,
    /// owner, admin, member or read-only.
    pub role: String,
    /// The first password of a new account (required when the email has none).
    pub password: Option<String>,
}

/// A member's new role.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    /// owner, admin, member or read-only.
    pub role: String,
}

fn role(raw: &str) -> ApiResult<Role> {
    raw.parse()
        .map_err(|e: streamhouse_core::ValidationError| ApiError::invalid("role", e.0))
}

/// Refuses to give a role above the caller's own (admins manage up to admin; owners name
/// owners).
fn may_grant(mine: Role, wanted: Role) -> ApiResult<()> {
    if wanted > mine {
        return Err(ApiError::forbidden(format!(
            "you are {mine}; only an owner gives the {wanted} role"
        )));
    }
    Ok(())
}

/// Adds a user to an organization (admins), creating the account when needed.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/members", tag = "organizations",
    params(("org" = String, Path, description = "Organization id")), request_body = NewMember,
    responses((status = 201, body = MemberView), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn add_member(
    State(state): State<Shared>,
    caller: Caller,
    Source(from): Source,
    Path(org): Path<String>,
    Body(req): Body<NewMember>,
) -> ApiResult<(StatusCode, Json<MemberView>)> {
    let org = org_id(&org)?;
    let mine = caller.require(&state, &org, Role::Admin).await?;
    let wanted = role(&req.role)?;
    may_grant(mine, wanted)?;
    let address = email(&req.email)?;
    let user = match state.store.user_by_email(&address).await {
        Ok(u) => u,
        Err(MetadataError::NotFound(_)) => {
            let Some(password) = req.password else {
                return Err(ApiError::invalid(
                    "password",
                    format!("{address} has no account yet: give it a first password"),
                ));
            };
            check_password(&password)?;
            let u = User {
                id: user_id(),
                email: address.clone(),
                password_hash: hash_password(password).await?,
                operator: false,
                created_at_ms: now_ms(),
            };
            state.store.create_user(&u).await?;
            u
        }
        Err(e) => return Err(e.into()),
    };
    state.store.set_member(&org, &user.id, wanted).await?;
    state
        .audit(
            &caller.actor(),
            Some(&org),
            "member.add",
            &address,
            &from,
            wanted.to_string(),
        )
        .await?;
    let m = find_member(&state, &org, &user.id).await?;
    Ok((StatusCode::CREATED, Json(m.into())))
}

async fn find_member(state: &Shared, org: &TenantId, user: &str) -> ApiResult<Member> {
    state
        .store
        .members(org)
        .await?
        .into_iter()
        .find(|m| m.user_id == user)
        .ok_or_else(|| ApiError::not_found(format!("user {user} is not a member of {org}")))
}

/// Refuses a change that would leave the organization without an owner.
async fn keep_an_owner(state: &Shared, org: &TenantId, user: &str) -> ApiResult<()> {
    let owners: Vec<Member> = state
        .store
        .members(org)
        .await?
        .into_iter()
        .filter(|m| m.role == Role::Owner)
        .collect();
    if owners.len() == 1 && owners[0].user_id == user {
        return Err(ApiError::conflict(
            "this is the organization's last owner; make someone else an owner first",
        ));
    }
    Ok(())
}

/// Changes a member's role (admins; owners for the owner role).
#[utoipa::path(patch, path = "/api/v1/orgs/{org}/members/{user}", tag = "organizations",
    params(("org" = String, Path, description = "Organization id"),
           ("user" = String, Path, description = "User id")), request_body = RoleChange,
    responses((status = 200, body = MemberView), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn change_member(
    State(state): State<Shared>,
    caller: Caller,
    Source(from): Source,
    Path((org, user)): Path<(String, String)>,
    Body(req): Body<RoleChange>,
) -> ApiResult<Json<MemberView>> {
    let org = org_id(&org)?;
    let mine = caller.require(&state, &org, Role::Admin).await?;
    let wanted = role(&req.role)?;
    let current = find_member(&state, &org, &user).await?;
    may_grant(mine, wanted.max(current.role))?;
    if wanted != Role::Owner {
        keep_an_owner(&state, &org, &user).await?;
    }
    state.store.set_member(&org, &user, wanted).await?;
    state
        .audit(
            &caller.actor(),
            Some(&org),
            "member.role",
            &current.email,
            &from,
            wanted.to_string(),
        )
        .await?;
    Ok(Json(find_member(&state, &org, &user).await?.into()))
}

/// Takes a user out of an organization (admins; owners for an owner).
#[utoipa::path(delete, path = "/api/v1/orgs/{org}/members/{user}", tag = "organizations",
    params(("org" = String, Path, description = "Organization id"),
           ("user" = String, Path, description = "User id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
pub async fn remove_member(
    State(state): State<Shared>,
    caller: Caller,
    Source(from): Source,
    Path((org, user)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let org = org_id(&org)?;
    let mine = caller.require(&state, &org, Role::Admin).await?;
    let current = find_member(&state, &org, &user).await?;
    may_grant(mine, current.role)?;
    keep_an_owner(&state, &org, &user).await?;
    state.store.remove_member(&org, &user).await?;
    state
        .audit(
            &caller.actor(),
            Some(&org),
            "member.remove",
            &current.email,
            &from,
            String::new(),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A plan's limits and what the organization used of them.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuotaView {
    /// The plan.
    pub plan: String,
    /// Its price per month in US cents; absent for custom terms.
    pub monthly_price_cents: Option<u64>,
    /// The UTC month counted, `YYYY-MM`.
    pub month: String,
    /// Bytes produced this month.
    pub ingress_bytes: u64,
    /// The plan's monthly ingress; absent for no limit.
    pub ingress_limit_bytes: Option<u64>,
    /// Bytes stored now.
    pub storage_bytes: u64,
    /// The plan's storage; absent for no limit.
    pub storage_limit_bytes: Option<u64>,
    /// Bytes produced per second the agents admit, over all of them.
    pub produce_bytes_per_sec: Option<u64>,
    /// Requests per second the agents admit, over all of them.
    pub requests_per_sec: Option<u64>,
    /// Bytes fetched per second before reads are slowed.
    pub fetch_bytes_per_sec: Option<u64>,
}

/// The plan's limits, the same the agents enforce, and this month's use of them.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/quota", tag = "organizations",
    params(("org" = String, Path, description = "Organization id")),
    responses((status = 200, body = QuotaView), (status = 404, body = ErrorBody)))]
pub async fn quota(
    State(state): State<Shared>,
    caller: Caller,
    Path(org): Path<String>,
) -> ApiResult<Json<QuotaView>> {
    let org = org_id(&org)?;
    caller.role_in(&state, &org).await?;
    let t = state
        .store
        .get_tenant(&org)
        .await
        .map_err(org_error(&org))?;
    let month = month_of(now_ms());
    let limits = t.plan.limits();
    Ok(Json(QuotaView {
        plan: t.plan.to_string(),
        monthly_price_cents: t.plan.monthly_price_cents(),
        ingress_bytes: state.store.month_ingress(&org, &month).await?,
        month,
        ingress_limit_bytes: limits.ingress_bytes_per_month,
        storage_bytes: state.store.stored_bytes(&org).await?,
        storage_limit_bytes: limits.storage_bytes,
        produce_bytes_per_sec: limits.produce_bytes_per_sec,
        requests_per_sec: limits.requests_per_sec,
        fetch_bytes_per_sec: limits.fetch_bytes_per_sec,
    }))
}

/// One entry of the audit log.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditView {
    /// When (RFC 3339).
    pub at: String,
    /// Who: `user:<email>`, an API key id, `agent`, `cli:<user>`.
    pub actor: String,
    /// What, such as `topic.create` or `auth.sign_in`.
    pub action: String,
    /// What it was done to.
    pub target: String,
    /// From where: the client's address.
    pub source: String,
    /// Details.
    pub detail: String,
}

/// How many audit entries to return.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Newest entries to return, 1 to 1000 (default 100).
    pub limit: Option<u32>,
}

/// The organization's audit log, newest first (admins).
#[utoipa::path(get, path = "/api/v1/orgs/{org}/audit", tag = "organizations",
    params(("org" = String, Path, description = "Organization id"), AuditQuery),
    responses((status = 200, body = [AuditView]), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn audit(
    State(state): State<Shared>,
    caller: Caller,
    Path(org): Path<String>,
    q: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Vec<AuditView>>> {
    let Query(q) = q?;
    let org = org_id(&org)?;
    caller.require(&state, &org, Role::Admin).await?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid("limit", "limit is 1 to 1000"));
    }
    let events = state.store.audit_log(Some(&org), limit).await?;
    Ok(Json(
        events
            .into_iter()
            .map(|e| AuditView {
                at: rfc3339(e.at_ms),
                actor: e.actor,
                action: e.action,
                target: e.target,
                source: e.source,
                detail: e.detail,
            })
            .collect(),
    ))
}

/// A live agent.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentView {
    /// The configured agent id.
    pub agent_id: String,
    /// The process's lease-holder id.
    pub holder: String,
    /// The agent group it serves.
    pub group: String,
    /// Its availability zone.
    pub zone: String,
    /// The URL clients and agents reach it at.
    pub addr: String,
    /// Partition leases it holds.
    pub leases: u64,
    /// Milliseconds since its last heartbeat.
    pub heartbeat_age_ms: i64,
}

/// Live agents with their zone, heartbeat age and the leases they hold (operators).
#[utoipa::path(get, path = "/api/v1/agents", tag = "operators",
    responses((status = 200, body = [AgentView]), (status = 403, body = ErrorBody)))]
pub async fn agents(
    State(state): State<Shared>,
    caller: Caller,
) -> ApiResult<Json<Vec<AgentView>>> {
    caller.require_operator()?;
    let loads: HashMap<String, AgentLoad> = state
        .store
        .agent_loads()
        .await?
        .into_iter()
        .map(|l| (l.holder.clone(), l))
        .collect();
    let live = state.store.live_agents().await?;
    let now = now_ms();
    Ok(Json(
        live.into_iter()
            .map(|a| AgentView {
                leases: loads.get(&a.holder).map_or(0, |l| l.leases),
                heartbeat_age_ms: loads
                    .get(&a.holder)
                    .map_or(0, |l| now.saturating_sub(l.heartbeat_at_ms).max(0)),
                agent_id: a.agent_id,
                holder: a.holder,
                group: a.group,
                zone: a.zone,
                addr: a.addr,
            })
            .collect(),
    ))
}

/// The agent group to serve an organization.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupAssignment {
    /// The group's name, as agents are configured with (`agent.group`).
    pub group: String,
}

/// Assigns an organization to an agent group (operators).
#[utoipa::path(put, path = "/api/v1/orgs/{org}/agent-group", tag = "operators",
    params(("org" = String, Path, description = "Organization id")), request_body = GroupAssignment,
    responses((status = 200, body = OrgView), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn assign_group(
    State(state): State<Shared>,
    caller: Caller,
    Source(from): Source,
    Path(org): Path<String>,
    Body(req): Body<GroupAssignment>,
) -> ApiResult<Json<OrgView>> {
    let org = org_id(&org)?;
    caller.require_operator()?;
    let t = state
        .store
        .get_tenant(&org)
        .await
        .map_err(org_error(&org))?;
    let g = req.group.trim();
    let ok = g
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if g.is_empty() || g.len() > 63 || !ok {
        return Err(ApiError::invalid(
            "group",
            "a group name has 1 to 63 characters of [A-Za-z0-9_-]",
        ));
    }
    state.store.set_tenant_group(&org, g).await?;
    state
        .audit(
            &caller.actor(),
            Some(&org),
            "org.agent_group",
            org.as_str(),
            &from,
            g.to_owned(),
        )
        .await?;
    Ok(Json(org_view(&state, t, Role::Owner).await?))
}

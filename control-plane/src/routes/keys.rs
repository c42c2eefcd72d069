//! API keys: the same keys the agents authenticate, created, listed, revoked and rotated.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use streamhouse_core::accounts::Role;
use streamhouse_core::clock::{now_ms, rfc3339};
use streamhouse_core::tenancy::key::NewKey;
use streamhouse_core::tenancy::{
    ApiKeyInfo, MAX_KEY_NAME, Permissions, StoredApiKey, TopicPatterns,
};
use streamhouse_core::{MetadataError, TenantId};
use utoipa::ToSchema;

use super::orgs::org_id;
use crate::auth::{Caller, Source};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::{Body, Shared};

/// An API key, without its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyView {
    /// Its public id and prefix, `shk_<12 hex>`: greppable in logs and code.
    pub id: String,
    /// Its name.
    pub name: String,
    /// read, write and admin.
    pub scopes: Vec<String>,
    /// Topic-name patterns it is limited to (`*` matches any run); empty for every topic.
    pub topics: Vec<String>,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// When an agent last saw it used (recorded every few seconds).
    pub last_used_at: Option<String>,
    /// When it stops working.
    pub expires_at: Option<String>,
    /// When it was revoked.
    pub revoked_at: Option<String>,
}

impl From<ApiKeyInfo> for KeyView {
    fn from(k: ApiKeyInfo) -> Self {
        Self {
            scopes: k
                .permissions
                .to_string()
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            topics: k.topics.as_slice().to_vec(),
            id: k.id,
            name: k.name,
            created_at: rfc3339(k.created_at_ms),
            last_used_at: k.last_used_at_ms.map(rfc3339),
            expires_at: k.expires_at_ms.map(rfc3339),
            revoked_at: k.revoked_at_ms.map(rfc3339),
        }
    }
}

/// A new key and its secret, which is shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedKey {
    /// The key.
    pub key: KeyView,
    /// The whole key, `shk_<id>_<secret>`: store it now, it cannot be shown again.
    pub secret: String,
}

/// A key to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKeyRequest {
    /// A name to recognise it by, 1 to 128 characters.
    pub name: String,
    /// Any of read, write and admin.
    pub scopes: Vec<String>,
    /// Topic-name patterns to limit it to (`*` matches any run); none for every topic.
    #[serde(default)]
    pub topics: Vec<String>,
    /// When it stops working (RFC 3339); never when absent.
    pub expires_at: Option<String>,
}

/// How a rotation overlaps.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rotation {
    /// Seconds the old key keeps working beside the new one, 0 to 2592000 (30 days; default
    /// 86400), so that programs can move to the new key before the old one stops.
    pub overlap_seconds: Option<u64>,
}

fn scopes(raw: &[String]) -> ApiResult<Permissions> {
    if raw.is_empty() {
        return Err(ApiError::invalid(
            "scopes",
            "give at least one of read, write and admin",
        ));
    }
    raw.join(",")
        .parse::<Permissions>()
        .map_err(|e| ApiError::invalid("scopes", e.0))
}

fn expiry(raw: Option<&str>, now: i64) -> ApiResult<Option<i64>> {
    let Some(raw) = raw else { return Ok(None) };
    let t = humantime::parse_rfc3339_weak(raw).map_err(|e| {
        ApiError::invalid(
            "expires_at",
            format!("{raw:?} is not an RFC 3339 time: {e}"),
        )
    })?;
    let ms = t
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_millis()).ok())
        .ok_or_else(|| ApiError::invalid("expires_at", "the time is out of range"))?;
    if ms <= now {
        return Err(ApiError::invalid("expires_at", "the expiry is in the past"));
    }
    Ok(Some(ms))
}

/// Stores a new key for `org` and records it in the audit log.
async fn store_key(
    state: &Shared,
    caller: &Caller,
    org: &TenantId,
    from: &str,
    info: impl FnOnce(String) -> ApiKeyInfo,
    action: &str,
) -> ApiResult<CreatedKey> {
    let k = NewKey::generate();
    let key = StoredApiKey {
        info: info(k.id.clone()),
        hash: k.hash,
    };
    state.store.create_api_key(&key).await?;
    let detail = format!("scopes={} name={}", key.info.permissions, key.info.name);
    state
        .audit(&caller.actor(), Some(org), action, &k.id, from, detail)
        .await?;
    Ok(CreatedKey {
        key: key.info.into(),
        secret: k.key,
    })
}

/// A key of `org` by id; another organization's key is answered as one that does not exist.
async fn key_of(state: &Shared, org: &TenantId, id: &str) -> ApiResult<ApiKeyInfo> {
    let missing = || ApiError::not_found(format!("API key {id} not found"));
    match state.store.get_api_key(id).await {
        Ok(k) if &k.info.tenant == org => Ok(k.info),
        Ok(_) | Err(MetadataError::NotFound(_)) => Err(missing()),
        Err(e) => Err(e.into()),
    }
}

/// The organization's keys, revoked ones included, oldest first (admins).
#[utoipa::path(get, path = "/api/v1/orgs/{org}/keys", tag = "api keys",
    params(("org" = String, Path, description = "Organization id")),
    responses((status = 200, body = [KeyView]), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn list(
    State(state): State<Shared>,
    caller: Caller,
    Path(org): Path<String>,
) -> ApiResult<Json<Vec<KeyView>>> {
    let org = org_id(&org)?;
    caller.require(&state, &org, Role::Admin).await?;
    let keys = state.store.list_api_keys(&org).await?;
    Ok(Json(keys.into_iter().map(Into::into).collect()))
}

/// Creates a key (admins); the response holds its secret, shown this once.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/keys", tag = "api keys",
    params(("org" = String, Path, description = "Organization id")), request_body = NewKeyRequest,
    responses((status = 201, body = CreatedKey), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create(
    State(state): State<Shared>,
    caller: Caller,
    Source(from): Source,
    Path(org): Path<String>,
    Body(req): Body<NewKeyRequest>,
) -> ApiResult<(StatusCode, Json<CreatedKey>)> {
    let org = org_id(&org)?;
    caller.require(&state, &org, Role::Admin).await?;
    let name = req.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > MAX_KEY_NAME {
        return Err(ApiError::invalid(
            "name",
            format!("a key's name has 1 to {MAX_KEY_NAME} characters"),
        ));
    }
    let permissions = scopes(&req.scopes)?;
    let topics = TopicPatterns::new(req.topics).map_err(|e| ApiError::invalid("topics", e.0))?;
    let now = now_ms();
    let expires_at_ms = expiry(req.expires_at.as_deref(), now)?;
    let tenant = org.clone();
    let created = store_key(
        &state,
        &caller,
        &org,
        &from,
        |id| ApiKeyInfo {
            id,
            tenant,
            name,
            permissions,
            topics,
            expires_at_ms,
            created_at_ms: now,
            last_used_at_ms: None,
            revoked_at_ms: None,
        },
        "key.create",
    )
    .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Revokes a key (admins): every agent refuses it within its key cache's lifetime
/// (`auth.key_cache_ttl_ms`, 5 s by default).
#[utoipa::path(delete, path = "/api/v1/orgs/{org}/keys/{id}", tag = "api keys",
    params(("org" = String, Path, description = "Organization id"),
           ("id" = String, Path, description = "Key id, shk_<12 hex>")),
    responses((status = 200, body = KeyView), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn revoke(
    State(state): State<Shared>,
    caller: Caller,
    Source(from): Source,
    Path((org, id)): Path<(String, String)>,
) -> ApiResult<Json<KeyView>> {
    let org = org_id(&org)?;
    caller.require(&state, &org, Role::Admin).await?;
    key_of(&state, &org, &id).await?;
    let k = state.store.revoke_api_key(&id, now_ms()).await?;
    state
        .audit_change(&caller, &org, "key.revoke", &id, &from)
        .await?;
    Ok(Json(k.into()))
}

/// Rotates a key (admins): a new key with the same name, scopes, topics and expiry, while
/// the old one keeps working for the overlap and then expires.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/keys/{id}/rotate", tag = "api keys",
    params(("org" = String, Path, description = "Organization id"),
           ("id" = String, Path, description = "Key id, shk_<12 hex>")), request_body = Rotation,
    responses((status = 201, body = CreatedKey), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
pub async fn rotate(
    State(state): State<Shared>,
    caller: Caller,
    Source(from): Source,
    Path((org, id)): Path<(String, String)>,
    Body(req): Body<Rotation>,
) -> ApiResult<(StatusCode, Json<CreatedKey>)> {
    let org = org_id(&org)?;
    caller.require(&state, &org, Role::Admin).await?;
    let old = key_of(&state, &org, &id).await?;
    let now = now_ms();
    if let Some(why) = old.unusable(now) {
        return Err(ApiError::conflict(format!(
            "{why}: create a new key instead"
        )));
    }
    let overlap = req.overlap_seconds.unwrap_or(86_400);
    if overlap > 30 * 86_400 {
        return Err(ApiError::invalid(
            "overlap_seconds",
            "the overlap is at most 2592000 s (30 days)",
        ));
    }
    let created = store_key(
        &state,
        &caller,
        &org,
        &from,
        |new_id| ApiKeyInfo {
            id: new_id,
            created_at_ms: now,
            last_used_at_ms: None,
            revoked_at_ms: None,
            ..old.clone()
        },
        "key.rotate",
    )
    .await?;
    // Milliseconds of overlap fit an i64: at most 30 days.
    state
        .store
        .expire_api_key(&id, now + overlap as i64 * 1000)
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

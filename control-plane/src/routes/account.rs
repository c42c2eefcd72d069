//! Signing up, signing in and out, and who is signed in.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use streamhouse_core::accounts::{Role, Session, User};
use streamhouse_core::clock::{now_ms, rfc3339};
use streamhouse_core::tenancy::{Plan, Tenant};
use streamhouse_core::{MetadataError, TenantId};
use utoipa::ToSchema;

use crate::auth::{
    CSRF_COOKIE, Caller, SESSION_COOKIE, Source, Who, check_password, cookie, email, hash_password,
    random_token, token_hash, verify_password,
};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::{Body, Shared};

/// A new account and organization.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignUp {
    /// The email address to sign in with.
    #[schema(example = "ann@example.com")]
    pub email: String,
    /// At least 10 characters.
    pub password: String,
    /// The organization's name; its id is made from it.
    #[schema(example = "Acme Inc.")]
    pub organization: String,
}

/// Credentials.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    /// The email address.
    pub email: String,
    /// The password.
    pub password: String,
}

/// A user, without secrets.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    /// The user's id.
    pub id: String,
    /// The email address.
    pub email: String,
    /// Whether the user operates the platform.
    pub operator: bool,
    /// When the account was created (RFC 3339).
    pub created_at: String,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.clone(),
            email: u.email.clone(),
            operator: u.operator,
            created_at: rfc3339(u.created_at_ms),
        }
    }
}

/// An organization the user belongs to, with the user's role there.
#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipView {
    /// The organization's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The user's role: owner, admin, member or read-only.
    pub role: String,
}

/// Who is signed in.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    /// The user.
    pub user: UserView,
    /// The organizations the user belongs to.
    pub organizations: Vec<MembershipView>,
    /// The token to repeat in the `x-csrf-token` header of every change (also in the
    /// `sh_csrf` cookie).
    pub csrf_token: String,
}

/// An organization id made from its name: lowercase letters, digits and dashes, with a
/// random suffix so that two organizations of one name get different ids.
fn org_id(name: &str) -> ApiResult<TenantId> {
    let mut slug = String::new();
    for c in name.trim().chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug: String = slug.trim_end_matches('-').chars().take(40).collect();
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        return Err(ApiError::invalid(
            "organization",
            "an organization's name needs at least one letter or digit",
        ));
    }
    let suffix = &random_token()[..6];
    TenantId::new(format!("{slug}-{suffix}")).map_err(|e| ApiError::invalid("organization", e.0))
}

/// A new user's id.
pub fn user_id() -> String {
    format!("usr_{}", &random_token()[..16])
}

/// Begins a session for `user`: the cookies, and what the dashboard needs.
async fn begin(state: &Shared, user: &User, status: StatusCode) -> ApiResult<Response> {
    let token = random_token();
    let now = now_ms();
    let ttl = state.config.control_plane.session_ttl_ms;
    let session = Session {
        token_hash: token_hash(&token),
        user_id: user.id.clone(),
        csrf_token: random_token(),
        created_at_ms: now,
        expires_at_ms: now + ttl,
    };
    state.store.create_session(&session).await?;
    let view = session_view(state, user, session.csrf_token.clone()).await?;
    let secure = if state.config.control_plane.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let max_age = ttl / 1000;
    let mut headers = HeaderMap::new();
    for c in [
        format!(
            "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
        ),
        format!(
            "{CSRF_COOKIE}={}; Path=/; SameSite=Strict; Max-Age={max_age}{secure}",
            session.csrf_token
        ),
    ] {
        headers.append(
            header::SET_COOKIE,
            HeaderValue::try_from(c).map_err(ApiError::internal)?,
        );
    }
    Ok((status, headers, Json(view)).into_response())
}

async fn session_view(state: &Shared, user: &User, csrf_token: String) -> ApiResult<SessionView> {
    let mut organizations = Vec::new();
    let members = if user.operator {
        Vec::new()
    } else {
        state.store.memberships(&user.id).await?
    };
    for m in members {
        let t = state.store.get_tenant(&m.tenant).await?;
        organizations.push(MembershipView {
            id: t.id.to_string(),
            name: t.name,
            role: m.role.to_string(),
        });
    }
    if user.operator {
        for t in state.store.list_tenants().await? {
            organizations.push(MembershipView {
                id: t.id.to_string(),
                name: t.name,
                role: Role::Owner.to_string(),
            });
        }
    }
    Ok(SessionView {
        user: user.into(),
        organizations,
        csrf_token,
    })
}

/// Creates an account and its organization on the Starter plan, and signs in.
#[utoipa::path(post, path = "/api/v1/signup", tag = "account", request_body = SignUp,
    responses((status = 201, body = SessionView), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn sign_up(
    State(state): State<Shared>,
    Source(from): Source,
    Body(req): Body<SignUp>,
) -> ApiResult<Response> {
    if !state.config.control_plane.allow_sign_up {
        return Err(ApiError::forbidden(
            "sign-up is closed here; ask an operator for an account",
        ));
    }
    let address = email(&req.email)?;
    check_password(&req.password)?;
    let name = req.organization.trim();
    if name.chars().count() > 100 {
        return Err(ApiError::invalid(
            "organization",
            "an organization's name has at most 100 characters",
        ));
    }
    let id = org_id(name)?;
    let now = now_ms();
    let user = User {
        id: user_id(),
        email: address.clone(),
        password_hash: hash_password(req.password).await?,
        operator: false,
        created_at_ms: now,
    };
    let mut tenant = Tenant::new(id.clone(), Plan::Starter, now);
    tenant.name = name.to_owned();
    state
        .store
        .create_organization(&tenant, &user)
        .await
        .map_err(|e| match e {
            MetadataError::AlreadyExists(_) => ApiError::invalid(
                "email",
                format!("an account with {address} exists already; sign in instead"),
            ),
            e => e.into(),
        })?;
    let who = format!("user:{address}");
    state
        .audit(
            &who,
            Some(&id),
            "org.create",
            id.as_str(),
            &from,
            "sign-up".into(),
        )
        .await?;
    begin(&state, &user, StatusCode::CREATED).await
}

/// Signs in with an email address and a password.
#[utoipa::path(post, path = "/api/v1/session", tag = "account", request_body = SignIn,
    responses((status = 200, body = SessionView), (status = 401, body = ErrorBody),
              (status = 429, body = ErrorBody)))]
pub async fn sign_in(
    State(state): State<Shared>,
    Source(from): Source,
    Body(req): Body<SignIn>,
) -> ApiResult<Response> {
    let address = req.email.trim().to_lowercase();
    let ip = from.rsplit_once(':').map_or(from.as_str(), |(ip, _)| ip);
    state
        .limiter
        .attempt(&[format!("email:{address}"), format!("ip:{ip}")])?;
    let user = match state.store.user_by_email(&address).await {
        Ok(u) => Some(u),
        Err(MetadataError::NotFound(_)) => None,
        Err(e) => return Err(e.into()),
    };
    // An unknown email costs a hash too, so the answer's timing does not tell which
    // addresses have accounts.
    let hash = user
        .as_ref()
        .map_or_else(|| DUMMY_HASH.to_owned(), |u| u.password_hash.clone());
    let ok = verify_password(req.password, hash).await? && user.is_some();
    let Some(user) = user.filter(|_| ok) else {
        let who = format!("user:{address}");
        state
            .audit(
                &who,
                None,
                "auth.sign_in_failed",
                &address,
                &from,
                String::new(),
            )
            .await?;
        return Err(ApiError::unauthenticated("wrong email or password"));
    };
    let who = format!("user:{}", user.email);
    for m in state.store.memberships(&user.id).await? {
        state
            .audit(
                &who,
                Some(&m.tenant),
                "auth.sign_in",
                &user.email,
                &from,
                String::new(),
            )
            .await?;
    }
    if user.operator {
        state
            .audit(
                &who,
                None,
                "auth.sign_in",
                &user.email,
                &from,
                "operator".into(),
            )
            .await?;
    }
    begin(&state, &user, StatusCode::OK).await
}

/// An argon2id hash of a password no one has, checked when an email has no account.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c3RyZWFtaG91c2VkdW1teQ$G0pkgoCNi/ao4ABGHWg+0tyW9kJJ/DZt6XBYrTzsDAs";

/// Who is signed in, with the organizations the user belongs to.
#[utoipa::path(get, path = "/api/v1/session", tag = "account",
    responses((status = 200, body = SessionView), (status = 401, body = ErrorBody)))]
pub async fn whoami(
    State(state): State<Shared>,
    caller: Caller,
    headers: HeaderMap,
) -> ApiResult<Json<SessionView>> {
    let Who::User(user) = caller.who else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "not_a_session",
            "an API key has no session; GET /api/v1/orgs lists what it may reach",
        ));
    };
    let csrf = match cookie(&headers, SESSION_COOKIE) {
        Some(t) => state.store.get_session(&token_hash(t)).await?.csrf_token,
        None => String::new(),
    };
    Ok(Json(session_view(&state, &user, csrf).await?))
}

/// Signs out: the session ends on every replica at once.
#[utoipa::path(delete, path = "/api/v1/session", tag = "account",
    responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn sign_out(
    State(state): State<Shared>,
    _caller: Caller,
    headers: HeaderMap,
) -> ApiResult<Response> {
    if let Some(t) = cookie(&headers, SESSION_COOKIE) {
        state.store.delete_session(&token_hash(t)).await?;
    }
    let mut h = HeaderMap::new();
    for name in [SESSION_COOKIE, CSRF_COOKIE] {
        let c = format!("{name}=; Path=/; Max-Age=0");
        h.append(
            header::SET_COOKIE,
            HeaderValue::try_from(c).map_err(ApiError::internal)?,
        );
    }
    Ok((StatusCode::NO_CONTENT, h).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organization_ids_are_made_from_names() {
        let id = org_id("  Acme Inc. (EU) ").unwrap();
        assert!(id.as_str().starts_with("acme-inc-eu-"), "{id}");
        assert_eq!(id.as_str().len(), "acme-inc-eu-".len() + 6);
        assert!(org_id("***").is_err());
        assert!(org_id(&"x".repeat(200)).unwrap().as_str().len() <= 63);
    }

    #[tokio::test]
    async fn the_dummy_hash_is_a_valid_argon2id_hash() {
        assert!(
            !verify_password("anything".into(), DUMMY_HASH.into())
                .await
                .unwrap()
        );
        assert!(argon2::PasswordHash::new(DUMMY_HASH).is_ok());
    }
}

//! Who calls: a signed-in user (a session cookie, and for changes the CSRF token) or a
//! program (an API key, the same keys the agents take), and what each may do in an
//! organization.
//!
//! Passwords are hashed with argon2id; a session token is 256 random bits, of which the store
//! keeps only a SHA-256. The session cookie is `HttpOnly` and `SameSite=Strict`; every
//! mutating request of a session must also repeat the session's CSRF token in the
//! `x-csrf-token` header, which another site's page cannot read (double submit).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use rand::RngCore;
use sha2::{Digest, Sha256};
use streamhouse_core::accounts::{Role, User};
use streamhouse_core::clock::now_ms;
use streamhouse_core::tenancy::key::{PresentedKey, secrets_equal};
use streamhouse_core::tenancy::{ApiKeyInfo, Permissions};
use streamhouse_core::{MetadataError, TenantId};

use crate::error::{ApiError, ApiResult};
use crate::state::Shared;

/// The cookie holding the session token.
pub const SESSION_COOKIE: &str = "sh_session";
/// The cookie holding the CSRF token, readable by the dashboard's scripts.
pub const CSRF_COOKIE: &str = "sh_csrf";
/// The header a mutating request repeats the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 10;
/// Longest password accepted (hashing cost grows with it).
pub const MAX_PASSWORD: usize = 1024;

/// 256 random bits as lowercase hex.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex(&b)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the store keeps of a session token.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// The argon2id hash of a password, as a PHC string (on a blocking thread: it takes tens of
/// milliseconds by design).
pub async fn hash_password(password: String) -> ApiResult<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)
}

/// Whether `password` matches the PHC string `hash`.
pub async fn verify_password(password: String, hash: String) -> ApiResult<bool> {
    tokio::task::spawn_blocking(move || {
        let Ok(parsed) = PasswordHash::new(&hash) else {
            return false;
        };
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
    .await
    .map_err(ApiError::internal)
}

/// Refuses a password too short or too long, naming the field.
pub fn check_password(password: &str) -> ApiResult<()> {
    let n = password.chars().count();
    if n < MIN_PASSWORD || password.len() > MAX_PASSWORD {
        return Err(ApiError::invalid(
            "password",
            format!("a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters; this one has {n}"),
        ));
    }
    Ok(())
}

/// A normalised email address, or a validation error naming the field.
pub fn email(raw: &str) -> ApiResult<String> {
    let e = raw.trim().to_lowercase();
    let ok = e.len() <= 254
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
        })
        && !e.chars().any(char::is_whitespace);
    if !ok {
        return Err(ApiError::invalid(
            "email",
            format!("{raw:?} is not an email address"),
        ));
    }
    Ok(e)
}

/// Counts sign-in attempts per email and per client address in one-minute windows.
#[derive(Debug)]
pub struct SignInLimiter {
    per_minute: u32,
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

/// Most keys the limiter tracks; past it, windows that ended are dropped.
const LIMITER_CAPACITY: usize = 100_000;
const WINDOW: Duration = Duration::from_secs(60);

impl SignInLimiter {
    /// A limiter allowing `per_minute` attempts per key.
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt for each of `keys`; refuses with 429 when any is over its limit.
    pub fn attempt(&self, keys: &[String]) -> ApiResult<()> {
        let now = Instant::now();
        let mut w = self.windows.lock().expect("poisoned");
        if w.len() > LIMITER_CAPACITY {
            w.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let mut wait = None;
        for k in keys {
            let (start, n) = w.entry(k.clone()).or_insert((now, 0));
            if now.duration_since(*start) >= WINDOW {
                *start = now;
                *n = 0;
            }
            *n += 1;
            if *n > self.per_minute {
                let left = WINDOW.saturating_sub(now.duration_since(*start));
                wait = Some(left.as_secs().max(1));
            }
        }
        match wait {
            Some(s) => Err(ApiError::rate_limited(
                format!("too many sign-in attempts; try again in {s} s"),
                s,
            )),
            None => Ok(()),
        }
    }
}

/// Who is calling.
#[derive(Debug, Clone)]
pub enum Who {
    /// A signed-in user.
    User(User),
    /// A program with an API key.
    Key(ApiKeyInfo),
}

/// A request's caller, and its role in the organization the request names once the route's
/// guard has looked it up (so a handler asking again costs no query).
#[derive(Debug, Clone)]
pub struct Caller {
    /// Who it is.
    pub who: Who,
    /// Its role in an organization, already checked for this request.
    resolved: Option<(TenantId, Role)>,
}

impl From<Who> for Caller {
    fn from(who: Who) -> Self {
        Self {
            who,
            resolved: None,
        }
    }
}

impl Caller {
    /// The same caller, remembering its role in `org` for the rest of the request.
    pub fn with_role(self, org: TenantId, role: Role) -> Self {
        Self {
            resolved: Some((org, role)),
            ..self
        }
    }

    /// Who, for the audit log: `user:<email>` or the key's id.
    pub fn actor(&self) -> String {
        match &self.who {
            Who::User(u) => format!("user:{}", u.email),
            Who::Key(k) => k.id.clone(),
        }
    }

    /// Whether the caller operates the platform.
    pub fn is_operator(&self) -> bool {
        matches!(&self.who, Who::User(u) if u.operator)
    }

    /// Refuses unless the caller operates the platform.
    pub fn require_operator(&self) -> ApiResult<()> {
        if self.is_operator() {
            return Ok(());
        }
        Err(ApiError::forbidden(
            "only the platform's operators may do this",
        ))
    }

    /// The caller's role in `org`: its membership (an operator acts as an owner anywhere;
    /// a key as `admin`, `member` or `read-only` after its highest permission). Another
    /// organization is answered exactly as one that does not exist.
    pub async fn role_in(&self, state: &Shared, org: &TenantId) -> ApiResult<Role> {
        if let Some((known, role)) = &self.resolved
            && known == org
        {
            return Ok(*role);
        }
        let role = match &self.who {
            Who::User(u) if u.operator => {
                state.store.get_tenant(org).await.map_err(org_error(org))?;
                Some(Role::Owner)
            }
            Who::User(u) => state
                .store
                .memberships(&u.id)
                .await?
                .into_iter()
                .find(|m| &m.tenant == org)
                .map(|m| m.role),
            Who::Key(k) if &k.tenant == org => {
                Some(if k.permissions.contains(Permissions::ADMIN) {
                    Role::Admin
                } else if k.permissions.contains(Permissions::WRITE) {
                    Role::Member
                } else {
                    Role::ReadOnly
                })
            }
            Who::Key(_) => None,
        };
        role.ok_or_else(|| no_org(org))
    }

    /// The caller's role in `org`, refused with 403 below `need`.
    pub async fn require(&self, state: &Shared, org: &TenantId, need: Role) -> ApiResult<Role> {
        let role = self.role_in(state, org).await?;
        if role < need {
            return Err(ApiError::forbidden(format!(
                "this needs the {need} role in organization {org}; you have {role}"
            )));
        }
        Ok(role)
    }
}

/// The answer for an organization the caller may not see, and for one that does not exist.
pub fn no_org(org: &TenantId) -> ApiError {
    ApiError::not_found(format!("organization {org} not found"))
}

/// Maps a store's `NotFound` for an organization onto [`no_org`].
pub fn org_error(org: &TenantId) -> impl FnOnce(MetadataError) -> ApiError + '_ {
    move |e| match e {
        MetadataError::NotFound(_) => no_org(org),
        e => e.into(),
    }
}

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The client's address.
pub fn source(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.to_string())
        .unwrap_or_default()
}

impl FromRequestParts<Shared> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> ApiResult<Self> {
        // The route's guard authenticated this request already.
        if let Some(c) = parts.extensions.get::<Caller>() {
            return Ok(c.clone());
        }
        if let Some(h) = parts.headers.get(http::header::AUTHORIZATION) {
            return key_caller(state, h).await;
        }
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(ApiError::unauthenticated(
                "sign in (POST /api/v1/session) or send `authorization: Bearer shk_...`",
            ));
        };
        let expired = || ApiError::unauthenticated("your session has ended; sign in again");
        let session = match state.store.get_session(&token_hash(token)).await {
            Err(MetadataError::NotFound(_)) => return Err(expired()),
            s => s?,
        };
        if session.expires_at_ms <= now_ms() {
            return Err(expired());
        }
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .map(|v| v.as_bytes())
                .unwrap_or_default();
            if !secrets_equal(session.csrf_token.as_bytes(), sent) {
                return Err(ApiError::new(
                    http::StatusCode::FORBIDDEN,
                    "csrf_failed",
                    format!(
                        "a change made with a session must repeat its CSRF token (the \
                         {CSRF_COOKIE} cookie) in the {CSRF_HEADER} header"
                    ),
                ));
            }
        }
        match state.store.get_user(&session.user_id).await {
            Err(MetadataError::NotFound(_)) => Err(expired()),
            u => Ok(Who::User(u?).into()),
        }
    }
}

/// The caller an `authorization: Bearer shk_...` header names, if the key is valid.
async fn key_caller(state: &Shared, header: &http::HeaderValue) -> ApiResult<Caller> {
    let bearer = header
        .to_str()
        .ok()
        .and_then(|h| h.strip_prefix("Bearer "))
        .ok_or_else(|| {
            ApiError::unauthenticated("the authorization header must read `Bearer <API key>`")
        })?;
    let key =
        PresentedKey::parse(bearer.trim()).map_err(|e| ApiError::unauthenticated(e.to_string()))?;
    let invalid = || {
        ApiError::unauthenticated(format!(
            "API key {} is not valid: no such key, or a wrong secret",
            key.id
        ))
    };
    let stored = match state.store.get_api_key(key.id).await {
        Err(MetadataError::NotFound(_)) => return Err(invalid()),
        s => s?,
    };
    if !key.verify(&stored.hash) {
        return Err(invalid());
    }
    if let Some(why) = stored.info.unusable(now_ms()) {
        return Err(ApiError::unauthenticated(format!("{why} ({})", key.id)));
    }
    Ok(Who::Key(stored.info).into())
}

/// The client address of a request, as an extractor (for the audit log and rate limits).
#[derive(Debug, Clone)]
pub struct Source(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Source {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Source(source(parts)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passwords_hash_and_verify() {
        let h = hash_password("correct horse battery".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(
            verify_password("correct horse battery".into(), h.clone())
                .await
                .unwrap()
        );
        assert!(
            !verify_password("wrong horse battery".into(), h)
                .await
                .unwrap()
        );
        assert!(
            !verify_password("x".into(), "not a hash".into())
                .await
                .unwrap()
        );
    }

    #[test]
    fn emails_and_passwords_are_checked() {
        assert_eq!(email(" Ann@Example.COM ").unwrap(), "ann@example.com");
        for bad in ["ann", "ann@", "@x.io", "ann@localhost", "a b@x.io"] {
            assert!(email(bad).is_err(), "{bad}");
        }
        assert!(check_password("short").is_err());
        assert!(check_password("long enough!").is_ok());
    }

    #[test]
    fn the_limiter_refuses_past_the_limit_per_key() {
        let l = SignInLimiter::new(2);
        let k = |s: &str| vec![s.to_owned()];
        assert!(l.attempt(&k("a")).is_ok());
        assert!(l.attempt(&k("a")).is_ok());
        assert!(l.attempt(&k("a")).is_err());
        assert!(l.attempt(&k("b")).is_ok(), "another key has its own window");
    }

    #[test]
    fn cookies_are_found_by_name() {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::COOKIE,
            "a=1; sh_session=abc; b=2".parse().unwrap(),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "c"), None);
    }
}

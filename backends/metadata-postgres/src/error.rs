//! Mapping of PostgreSQL and sqlx errors onto the core error kinds. Only this file knows
//! SQLSTATE codes.

use streamhouse_core::{LeaseError, MetadataError};

/// SQLSTATE `unique_violation`.
const UNIQUE_VIOLATION: &str = "23505";
/// SQLSTATE classes and codes that mean "try again": serialization failure, deadlock,
/// statement timeout (query canceled), the server shutting down or starting up, too many
/// connections, and every connection exception (class 08).
const RETRIABLE: &[&str] = &[
    "40001", "40P01", "57014", "57P01", "57P02", "57P03", "53300",
];

/// SQLSTATE codes a retry cannot fix, with what the operator should do.
pub(crate) fn permanent_hint(code: &str) -> Option<&'static str> {
    match code {
        "28P01" | "28000" => {
            Some("the server rejected the credentials; fix the user or password in metadata.url")
        }
        "3D000" => {
            Some("the database does not exist; create it or fix the database name in metadata.url")
        }
        "42501" => Some("the user lacks a privilege StreamHouse needs; grant it on the database"),
        _ => None,
    }
}

enum Kind {
    AlreadyExists,
    Unavailable,
    Other,
}

fn kind(e: &sqlx::Error) -> Kind {
    match e {
        sqlx::Error::Database(db) => match db.code().as_deref() {
            Some(UNIQUE_VIOLATION) => Kind::AlreadyExists,
            Some(c) if RETRIABLE.contains(&c) || c.starts_with("08") => Kind::Unavailable,
            _ => Kind::Other,
        },
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => Kind::Unavailable,
        _ => Kind::Other,
    }
}

pub(crate) fn meta(e: sqlx::Error) -> MetadataError {
    match kind(&e) {
        Kind::AlreadyExists => MetadataError::AlreadyExists(e.to_string()),
        Kind::Unavailable => MetadataError::Unavailable(e.to_string()),
        Kind::Other => MetadataError::Other(e.to_string()),
    }
}

pub(crate) fn lease(e: sqlx::Error) -> LeaseError {
    match kind(&e) {
        Kind::Unavailable => LeaseError::Unavailable(e.to_string()),
        _ => LeaseError::Other(e.to_string()),
    }
}

/// Whether connecting failed for a reason a retry may fix (the server is down or starting).
pub(crate) fn connect_retriable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => db
            .code()
            .as_deref()
            .is_none_or(|c| permanent_hint(c).is_none()),
        sqlx::Error::Configuration(_) | sqlx::Error::Tls(_) => false,
        _ => true,
    }
}

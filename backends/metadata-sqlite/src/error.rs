//! Mapping of SQLite and sqlx errors onto the core error kinds. Only this file knows SQLite
//! result codes.

use streamhouse_core::{LeaseError, MetadataError};

/// SQLite extended result codes that mean "that row already exists".
const SQLITE_CONSTRAINT_PRIMARYKEY: &str = "1555";
const SQLITE_CONSTRAINT_UNIQUE: &str = "2067";
/// Primary result codes (the low byte of extended ones) for a lock held by another
/// connection: SQLITE_BUSY and SQLITE_LOCKED.
const BUSY_OR_LOCKED: [u32; 2] = [5, 6];

/// The kind of an sqlx error.
pub(crate) enum Kind {
    AlreadyExists,
    Unavailable,
    Other,
}

pub(crate) fn kind(e: &sqlx::Error) -> Kind {
    match e {
        sqlx::Error::Database(db) => match db.code().as_deref() {
            Some(SQLITE_CONSTRAINT_PRIMARYKEY | SQLITE_CONSTRAINT_UNIQUE) => Kind::AlreadyExists,
            Some(c)
                if c.parse::<u32>()
                    .is_ok_and(|n| BUSY_OR_LOCKED.contains(&(n & 0xff))) =>
            {
                Kind::Unavailable
            }
            _ => Kind::Other,
        },
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
            Kind::Unavailable
        }
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

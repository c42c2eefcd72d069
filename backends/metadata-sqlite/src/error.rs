//! Mapping of SQLite and sqlx errors onto the core error kinds. Only this file knows SQLite
//! result codes.

use streamhouse_core::metadata::StatementFailure as Kind;
use streamhouse_core::{LeaseError, MetadataError};

/// The kind of an SQLite result code as sqlx reports it (the extended code, in decimal; see
/// <https://sqlite.org/rescode.html>).
fn kind_of_code(code: &str) -> Kind {
    let Ok(n) = code.parse::<u32>() else {
        return Kind::Other;
    };
    match n {
        // SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE
        1555 | 2067 => Kind::AlreadyExists,
        // SQLITE_BUSY and SQLITE_LOCKED with any extended code (the low byte): another
        // connection holds a lock.
        _ if matches!(n & 0xff, 5 | 6) => Kind::Unavailable,
        _ => Kind::Other,
    }
}

fn kind(e: &sqlx::Error) -> Kind {
    match e {
        sqlx::Error::Database(db) => db.code().map_or(Kind::Other, |c| kind_of_code(&c)),
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
            Kind::Unavailable
        }
        _ => Kind::Other,
    }
}

/// A metadata error of the right kind, keeping the sqlx error as its source.
pub(crate) fn meta(e: sqlx::Error) -> MetadataError {
    MetadataError::from_statement(kind(&e), "SQLite", e)
}

/// A lease error of the right kind, keeping the sqlx error as its source.
pub(crate) fn lease(e: sqlx::Error) -> LeaseError {
    LeaseError::from_statement(kind(&e), "SQLite", e)
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case::constraint_primarykey("1555", Kind::AlreadyExists)]
    #[case::constraint_unique("2067", Kind::AlreadyExists)]
    #[case::busy("5", Kind::Unavailable)]
    #[case::busy_recovery("261", Kind::Unavailable)]
    #[case::busy_snapshot("517", Kind::Unavailable)]
    #[case::locked("6", Kind::Unavailable)]
    #[case::locked_sharedcache("262", Kind::Unavailable)]
    #[case::constraint_foreignkey("787", Kind::Other)]
    #[case::constraint_notnull("1299", Kind::Other)]
    #[case::corrupt("11", Kind::Other)]
    #[case::readonly("8", Kind::Other)]
    #[case::not_a_number("SQLITE_BUSY", Kind::Other)]
    fn result_codes_map_to_kinds(#[case] code: &str, #[case] want: Kind) {
        assert_eq!(kind_of_code(code), want, "{code}");
    }

    #[rstest]
    #[case::pool_timed_out(sqlx::Error::PoolTimedOut, true)]
    #[case::pool_closed(sqlx::Error::PoolClosed, true)]
    #[case::io(sqlx::Error::Io(std::io::ErrorKind::Other.into()), true)]
    #[case::row_not_found(sqlx::Error::RowNotFound, false)]
    #[case::protocol(sqlx::Error::Protocol("x".into()), false)]
    fn driver_errors_are_retriable_or_not_and_keep_their_source(
        #[case] e: sqlx::Error,
        #[case] retriable: bool,
    ) {
        let text = e.to_string();
        let m = meta(e);
        assert_eq!(m.is_retriable(), retriable, "{m}");
        assert_eq!(m.source().map(ToString::to_string), Some(text));
    }
}

//! Mapping of PostgreSQL and sqlx errors onto the core error kinds. Only this file knows
//! SQLSTATE codes.

use streamhouse_core::metadata::StatementFailure as Kind;
use streamhouse_core::{LeaseError, MetadataError};

/// The kind of a SQLSTATE code (PostgreSQL, Appendix A "Error Codes").
fn kind_of_code(code: &str) -> Kind {
    match code {
        // unique_violation
        "23505" => Kind::AlreadyExists,
        // serialization_failure, deadlock_detected, query_canceled (statement_timeout),
        // admin_shutdown, crash_shutdown, cannot_connect_now, too_many_connections
        "40001" | "40P01" | "57014" | "57P01" | "57P02" | "57P03" | "53300" => Kind::Unavailable,
        // Class 08: connection exceptions.
        c if c.starts_with("08") => Kind::Unavailable,
        _ => Kind::Other,
    }
}

fn kind(e: &sqlx::Error) -> Kind {
    match e {
        sqlx::Error::Database(db) => db.code().map_or(Kind::Other, |c| kind_of_code(&c)),
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => Kind::Unavailable,
        _ => Kind::Other,
    }
}

/// SQLSTATE codes a retry cannot fix when connecting, with what the operator should do.
pub(crate) fn permanent_hint(code: &str) -> Option<&'static str> {
    match code {
        // invalid_password, invalid_authorization_specification
        "28P01" | "28000" => {
            Some("the server rejected the credentials; fix the user or password in metadata.url")
        }
        // invalid_catalog_name
        "3D000" => {
            Some("the database does not exist; create it or fix the database name in metadata.url")
        }
        // insufficient_privilege
        "42501" => Some("the user lacks a privilege StreamHouse needs; grant it on the database"),
        _ => None,
    }
}

/// A metadata error of the right kind, keeping the sqlx error as its source.
pub(crate) fn meta(e: sqlx::Error) -> MetadataError {
    MetadataError::from_statement(kind(&e), "PostgreSQL", e)
}

/// A lease error of the right kind, keeping the sqlx error as its source.
pub(crate) fn lease(e: sqlx::Error) -> LeaseError {
    LeaseError::from_statement(kind(&e), "PostgreSQL", e)
}

/// Whether connecting failed for a reason a retry may fix (the server is down or starting).
pub(crate) fn connect_retriable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => db
            .code()
            .as_deref()
            .is_none_or(|c| permanent_hint(c).is_none()),
        sqlx::Error::Configuration(_) | sqlx::Error::Tls(_) => false,
        // What the TLS layer reports during the handshake (an untrusted or expired server
        // certificate, a name that does not match): the same on every attempt.
        sqlx::Error::Io(io) => io.kind() != std::io::ErrorKind::InvalidData,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case::unique_violation("23505", Kind::AlreadyExists)]
    #[case::serialization_failure("40001", Kind::Unavailable)]
    #[case::deadlock_detected("40P01", Kind::Unavailable)]
    #[case::statement_timeout("57014", Kind::Unavailable)]
    #[case::admin_shutdown("57P01", Kind::Unavailable)]
    #[case::crash_shutdown("57P02", Kind::Unavailable)]
    #[case::cannot_connect_now("57P03", Kind::Unavailable)]
    #[case::too_many_connections("53300", Kind::Unavailable)]
    #[case::connection_failure("08006", Kind::Unavailable)]
    #[case::connection_does_not_exist("08003", Kind::Unavailable)]
    #[case::undefined_table("42P01", Kind::Other)]
    #[case::syntax_error("42601", Kind::Other)]
    #[case::invalid_password("28P01", Kind::Other)]
    #[case::foreign_key_violation("23503", Kind::Other)]
    fn sqlstates_map_to_kinds(#[case] code: &str, #[case] want: Kind) {
        assert_eq!(kind_of_code(code), want, "{code}");
    }

    #[rstest]
    #[case::pool_timed_out(sqlx::Error::PoolTimedOut, true)]
    #[case::pool_closed(sqlx::Error::PoolClosed, true)]
    #[case::worker_crashed(sqlx::Error::WorkerCrashed, true)]
    #[case::io(sqlx::Error::Io(std::io::ErrorKind::ConnectionReset.into()), true)]
    #[case::protocol(sqlx::Error::Protocol("unexpected message".into()), true)]
    #[case::tls_handshake(
        sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "invalid peer certificate: UnknownIssuer"
        )),
        true
    )]
    #[case::row_not_found(sqlx::Error::RowNotFound, false)]
    #[case::column_not_found(sqlx::Error::ColumnNotFound("x".into()), false)]
    fn driver_errors_are_retriable_or_not_and_keep_their_source(
        #[case] e: sqlx::Error,
        #[case] retriable: bool,
    ) {
        let text = e.to_string();
        let m = meta(e);
        assert_eq!(m.is_retriable(), retriable, "{m}");
        assert!(m.to_string().contains(&text), "{m}");
        assert_eq!(m.source().map(ToString::to_string), Some(text));
    }

    #[rstest]
    #[case::invalid_password("28P01", true)]
    #[case::invalid_authorization("28000", true)]
    #[case::no_such_database("3D000", true)]
    #[case::insufficient_privilege("42501", true)]
    #[case::cannot_connect_now("57P03", false)]
    fn connecting_fails_at_once_only_on_what_a_retry_cannot_fix(
        #[case] code: &str,
        #[case] permanent: bool,
    ) {
        assert_eq!(permanent_hint(code).is_some(), permanent, "{code}");
    }

    #[rstest]
    #[case::refused(std::io::ErrorKind::ConnectionRefused, true)]
    #[case::reset(std::io::ErrorKind::ConnectionReset, true)]
    #[case::tls_handshake(std::io::ErrorKind::InvalidData, false)]
    fn connecting_retries_network_errors_but_not_tls_failures(
        #[case] kind: std::io::ErrorKind,
        #[case] retriable: bool,
    ) {
        let e = sqlx::Error::Io(std::io::Error::new(kind, "x"));
        assert_eq!(connect_retriable(&e), retriable, "{kind:?}");
    }
}

//! Mapping of the Azure client's errors onto the core error kinds. Only this file knows how
//! `object_store`'s Azure client reports a failed HTTP exchange.
//!
//! The client retries throttling (429), server errors (5xx), timeouts and connection errors
//! itself; what reaches StreamHouse as `Generic` is either such a failure that outlasted the
//! retries (the service is unreachable or overloaded: retriable) or a request the service
//! refused for good. `object_store` keeps the HTTP status and the transport error in types it
//! does not export (its `HttpError` is wrapped transparently, so it never shows in the
//! chain), so the status is read from the error's text ("status code: 503"), and a transport
//! failure is found as an I/O error in the chain or, for one without (a timeout), as the
//! text "HTTP error:" that the client gives every failed exchange without a response.

use std::error::Error;

use streamhouse_core::ObjectStoreError;
use streamhouse_object_adapter::map_common;

/// The HTTP status a failed exchange reports in its text, if any.
fn status_in(text: &str) -> Option<u16> {
    let at = text.find("status code: ")? + "status code: ".len();
    text.get(at..at + 3)?.parse().ok()
}

/// Whether the request got no response at all: a refused or cut connection, a timeout.
fn transport_failure(e: &(dyn Error + 'static), text: &str) -> bool {
    let mut cur = Some(e);
    while let Some(e) = cur {
        if e.downcast_ref::<std::io::Error>().is_some() {
            return true;
        }
        cur = e.source();
    }
    text.contains("HTTP error:")
}

/// The kind of an Azure client error.
pub(crate) fn map(e: object_store::Error) -> ObjectStoreError {
    let object_store::Error::Generic { source, .. } = &e else {
        return map_common(e);
    };
    let text = e.to_string();
    match status_in(&text) {
        // Throttled, timed out, or failed on the service's side past the client's retries.
        Some(408 | 429 | 500..=599) => ObjectStoreError::unavailable_from("Azure Blob", e),
        Some(416) => ObjectStoreError::InvalidRange(text),
        None if transport_failure(source.as_ref(), &text) => {
            ObjectStoreError::unavailable_from("Azure Blob", e)
        }
        _ => ObjectStoreError::other_from("Azure Blob", e),
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use object_store::Error as E;
    use rstest::rstest;

    use super::*;

    fn generic(source: Box<dyn std::error::Error + Send + Sync>) -> E {
        E::Generic {
            store: "MicrosoftAzure",
            source,
        }
    }

    fn status(code: &str) -> E {
        generic(
            format!(
                "Error performing PUT http://127.0.0.1:10000/x in 2s, after 4 retries - Server \
                 returned non-2xx status code: {code}: body"
            )
            .into(),
        )
    }

    /// A failed exchange as the client reports it: its text, and the cause under it.
    #[derive(Debug)]
    struct Failed(&'static str, Option<std::io::Error>);

    impl std::fmt::Display for Failed {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Failed {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_ref().map(|e| e as _)
        }
    }

    /// As seen against a closed port: "HTTP error: error sending request" over an I/O error.
    fn refused() -> E {
        generic(Box::new(Failed(
            "Error performing GET http://127.0.0.1:1/x in 100ms, after 2 retries - HTTP error: \
             error sending request",
            Some(std::io::ErrorKind::ConnectionRefused.into()),
        )))
    }

    fn timed_out() -> E {
        generic(Box::new(Failed(
            "Error performing GET http://127.0.0.1:1/x in 3s - HTTP error: operation timed out",
            None,
        )))
    }

    fn credentials() -> E {
        generic(Box::new(Failed(
            "Error reading the federated token file: missing",
            None,
        )))
    }

    #[rstest]
    #[case::service_unavailable(status("503 Service Unavailable"), "Unavailable")]
    #[case::internal_error(status("500 Internal Server Error"), "Unavailable")]
    #[case::throttled(status("429 Too Many Requests"), "Unavailable")]
    #[case::request_timeout(status("408 Request Timeout"), "Unavailable")]
    #[case::range_not_satisfiable(status("416 Range Not Satisfiable"), "InvalidRange")]
    #[case::bad_request(status("400 Bad Request"), "Other")]
    #[case::connection_refused(refused(), "Unavailable")]
    #[case::timed_out(timed_out(), "Unavailable")]
    #[case::no_credentials(credentials(), "Other")]
    #[case::not_found(E::NotFound { path: "a".into(), source: "404".into() }, "NotFound")]
    #[case::exists(E::AlreadyExists { path: "a".into(), source: "409".into() }, "AlreadyExists")]
    #[case::precondition(E::Precondition { path: "a".into(), source: "412".into() }, "Precondition")]
    #[case::forbidden(E::PermissionDenied { path: "a".into(), source: "403".into() }, "Other")]
    fn azure_errors_map_to_kinds(#[case] e: E, #[case] kind: &str) {
        let m = map(e);
        assert!(format!("{m:?}").starts_with(kind), "{m:?}");
        assert_eq!(m.is_retriable(), kind == "Unavailable", "{m:?}");
    }

    #[test]
    fn failures_keep_the_client_error_as_source() {
        let m = map(status("503 Service Unavailable"));
        assert!(m.source().is_some());
        assert!(m.to_string().contains("503"), "{m}");
    }
}

//! Mapping of GCS errors onto the core error kinds. Only this file knows GCS status codes.

use streamhouse_core::ObjectStoreError;

/// The kind of a failed HTTP status; `msg` names the operation and key.
pub(crate) fn from_status(status: u16, msg: String) -> ObjectStoreError {
    match status {
        404 => ObjectStoreError::NotFound(msg),
        412 => ObjectStoreError::Precondition(msg),
        416 => ObjectStoreError::InvalidRange(msg),
        s if is_retriable_status(s) => ObjectStoreError::unavailable(msg),
        _ => ObjectStoreError::other(msg),
    }
}

/// Statuses worth retrying: timeouts, throttling and server errors (GCS's own guidance).
pub(crate) fn is_retriable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500..=599)
}

/// The kind of a failed `google-cloud-storage` request (after the client's own retries),
/// keeping the client's error as `source`.
pub(crate) fn map(what: &str, e: google_cloud_gax::error::Error) -> ObjectStoreError {
    if let Some(status) = e.http_status_code() {
        return match from_status(status, format!("{what}: {e}")) {
            ObjectStoreError::Unavailable { message, .. } => ObjectStoreError::Unavailable {
                message,
                source: Some(Box::new(e)),
            },
            ObjectStoreError::Other { message, .. } => ObjectStoreError::Other {
                message,
                source: Some(Box::new(e)),
            },
            kind => kind,
        };
    }
    if e.is_timeout() || e.is_io() || e.is_connect() || e.is_transport() || e.is_exhausted() {
        return ObjectStoreError::unavailable_from(what, e);
    }
    ObjectStoreError::other_from(what, e)
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case::not_found(404, "NotFound", false)]
    #[case::generation_mismatch(412, "Precondition", false)]
    #[case::range_not_satisfiable(416, "InvalidRange", false)]
    #[case::request_timeout(408, "Unavailable", true)]
    #[case::throttled(429, "Unavailable", true)]
    #[case::internal_error(500, "Unavailable", true)]
    #[case::service_unavailable(503, "Unavailable", true)]
    #[case::bad_request(400, "Other", false)]
    #[case::unauthorized(401, "Other", false)]
    #[case::forbidden(403, "Other", false)]
    fn statuses_map_to_kinds(#[case] status: u16, #[case] kind: &str, #[case] retriable: bool) {
        let e = from_status(status, format!("GET k: HTTP {status}"));
        assert!(format!("{e:?}").starts_with(kind), "{e:?}");
        assert_eq!(e.is_retriable(), retriable, "{status}");
        assert_eq!(is_retriable_status(status), retriable, "{status}");
    }
}

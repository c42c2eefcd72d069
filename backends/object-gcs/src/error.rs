//! Mapping of GCS errors onto the core error kinds. Only this file knows GCS status codes.

use streamhouse_core::ObjectStoreError;

/// The kind of a failed HTTP status; `msg` names the operation and key.
pub(crate) fn from_status(status: u16, msg: String) -> ObjectStoreError {
    match status {
        404 => ObjectStoreError::NotFound(msg),
        412 => ObjectStoreError::Precondition(msg),
        416 => ObjectStoreError::InvalidRange(msg),
        s if is_retriable_status(s) => ObjectStoreError::Unavailable(msg),
        _ => ObjectStoreError::Other(msg),
    }
}

/// Statuses worth retrying: timeouts, throttling and server errors (GCS's own guidance).
pub(crate) fn is_retriable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500..=599)
}

/// The kind of a failed `google-cloud-storage` request (after the client's own retries).
pub(crate) fn map(what: &str, e: google_cloud_gax::error::Error) -> ObjectStoreError {
    let msg = format!("{what}: {e}");
    if let Some(status) = e.http_status_code() {
        return from_status(status, msg);
    }
    if e.is_timeout() || e.is_io() || e.is_connect() || e.is_transport() || e.is_exhausted() {
        return ObjectStoreError::Unavailable(msg);
    }
    ObjectStoreError::Other(msg)
}

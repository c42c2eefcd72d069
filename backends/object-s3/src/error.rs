//! Mapping of S3 SDK errors onto the core error kinds. Only this file knows S3 error codes.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use streamhouse_core::ObjectStoreError;

/// The kind of a failed S3 request; `what` (operation and key) leads the message.
pub(crate) fn map<E>(what: &str, e: SdkError<E, HttpResponse>) -> ObjectStoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let status = e.raw_response().map(|r| r.status().as_u16());
    let code = e.code().map(str::to_owned);
    let msg = format!("{what}: {}", aws_sdk_s3::error::DisplayErrorContext(&e));
    match (&e, status, code.as_deref()) {
        (_, _, Some("NoSuchKey" | "NotFound" | "NoSuchBucket")) | (_, Some(404), _) => {
            ObjectStoreError::NotFound(msg)
        }
        (_, Some(412), _) | (_, _, Some("PreconditionFailed")) => {
            ObjectStoreError::Precondition(msg)
        }
        (_, Some(416), _) | (_, _, Some("InvalidRange")) => ObjectStoreError::InvalidRange(msg),
        (_, Some(409), _) | (_, _, Some("ConditionalRequestConflict")) => {
            // A concurrent conditional write won the race; retrying may succeed.
            ObjectStoreError::Unavailable(msg)
        }
        (_, Some(s), _) if s == 429 || s >= 500 => ObjectStoreError::Unavailable(msg),
        (
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_),
            _,
            _,
        ) => ObjectStoreError::Unavailable(msg),
        _ => ObjectStoreError::Other(msg),
    }
}

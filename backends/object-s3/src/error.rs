//! Mapping of S3 SDK errors onto the core error kinds. Only this file knows S3 error codes.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use streamhouse_core::ObjectStoreError;

/// What a failed S3 request means to StreamHouse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    NotFound,
    Precondition,
    InvalidRange,
    Unavailable,
    Other,
}

/// The kind of a failed request from its HTTP status, its S3 error code, and whether it
/// failed without a usable response (a timeout, a refused or cut connection).
fn classify(status: Option<u16>, code: Option<&str>, transport: bool) -> Kind {
    match (status, code) {
        (_, Some("NoSuchKey" | "NotFound" | "NoSuchBucket")) | (Some(404), _) => Kind::NotFound,
        (Some(412), _) | (_, Some("PreconditionFailed")) => Kind::Precondition,
        (Some(416), _) | (_, Some("InvalidRange")) => Kind::InvalidRange,
        // A concurrent conditional write won the race; retrying may succeed.
        (Some(409), _) | (_, Some("ConditionalRequestConflict")) => Kind::Unavailable,
        // Throttling ("SlowDown" is a 503) and server errors, after the SDK's retries.
        (Some(s), _) if s == 429 || s >= 500 => Kind::Unavailable,
        _ if transport => Kind::Unavailable,
        _ => Kind::Other,
    }
}

/// The kind of a failed S3 request; `what` (operation and key) leads the message, which
/// carries the SDK's whole error chain, and the SDK error is kept as `source`.
pub(crate) fn map<E>(what: &str, e: SdkError<E, HttpResponse>) -> ObjectStoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = e.raw_response().map(|r| r.status().as_u16());
    let code = e.code().map(str::to_owned);
    let transport = matches!(
        e,
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_)
    );
    let message = format!("{what}: {}", aws_sdk_s3::error::DisplayErrorContext(&e));
    match classify(status, code.as_deref(), transport) {
        Kind::NotFound => ObjectStoreError::NotFound(message),
        Kind::Precondition => ObjectStoreError::Precondition(message),
        Kind::InvalidRange => ObjectStoreError::InvalidRange(message),
        Kind::Unavailable => ObjectStoreError::Unavailable {
            message,
            source: Some(Box::new(e)),
        },
        Kind::Other => ObjectStoreError::Other {
            message,
            source: Some(Box::new(e)),
        },
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case::no_such_key(Some(404), Some("NoSuchKey"), Kind::NotFound)]
    #[case::head_not_found(Some(404), None, Kind::NotFound)]
    #[case::no_such_bucket(Some(404), Some("NoSuchBucket"), Kind::NotFound)]
    #[case::if_none_match_failed(Some(412), Some("PreconditionFailed"), Kind::Precondition)]
    #[case::range_past_the_end(Some(416), Some("InvalidRange"), Kind::InvalidRange)]
    #[case::conditional_conflict(Some(409), Some("ConditionalRequestConflict"), Kind::Unavailable)]
    #[case::slow_down(Some(503), Some("SlowDown"), Kind::Unavailable)]
    #[case::internal_error(Some(500), Some("InternalError"), Kind::Unavailable)]
    #[case::too_many_requests(Some(429), None, Kind::Unavailable)]
    #[case::access_denied(Some(403), Some("AccessDenied"), Kind::Other)]
    #[case::bad_request(Some(400), Some("InvalidArgument"), Kind::Other)]
    fn responses_map_to_kinds(
        #[case] status: Option<u16>,
        #[case] code: Option<&str>,
        #[case] want: Kind,
    ) {
        assert_eq!(classify(status, code, false), want);
    }

    #[rstest]
    #[case::timed_out_or_refused(true, Kind::Unavailable)]
    #[case::failed_to_build_the_request(false, Kind::Other)]
    fn failures_without_a_response(#[case] transport: bool, #[case] want: Kind) {
        assert_eq!(classify(None, None, transport), want);
    }
}

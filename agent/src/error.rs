//! Agent errors and their gRPC status codes. Every message says what to do about it.

use streamhouse_core::format::FormatError;
use streamhouse_core::{LeaseError, MetadataError, ObjectStoreError, ValidationError};
use tonic::Status;

use crate::cache::LoadError;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The request is malformed or over a limit.
    #[error("{0}")]
    InvalidArgument(String),
    /// The topic or partition does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The topic exists.
    #[error("{0}")]
    AlreadyExists(String),
    /// The offset is outside the partition's log.
    #[error("{0}")]
    OutOfRange(String),
    /// Retriable: leadership is moving, a flush failed, a store is unreachable.
    #[error("{0}")]
    Unavailable(String),
    /// A limit of the agent (not of the request) is reached; retry later.
    #[error("{0}")]
    ResourceExhausted(String),
    /// The request went to the wrong agent group.
    #[error("{0}")]
    FailedPrecondition(String),
    /// The leader this produce was forwarded to answered with this status.
    #[error("{}", .0.message())]
    Forwarded(Status),
    /// Stored data failed its integrity checks; it is reported, never served.
    #[error("{0}")]
    DataLoss(String),
    /// The agent is shutting down.
    #[error("the agent is shutting down; retry on another agent or after it restarts")]
    ShuttingDown,
    /// The request carries no valid credentials.
    #[error("{0}")]
    Unauthenticated(String),
    /// The credentials do not allow the call.
    #[error("{0}")]
    PermissionDenied(String),
    /// A bug or an unexpected store error.
    #[error("{0}")]
    Internal(String),
}

/// Result of agent operations.
pub type AgentResult<T> = Result<T, AgentError>;

impl From<MetadataError> for AgentError {
    fn from(e: MetadataError) -> Self {
        match e {
            MetadataError::NotFound(m) => AgentError::NotFound(m),
            MetadataError::AlreadyExists(m) => AgentError::AlreadyExists(m),
            MetadataError::InvalidInput(m) => AgentError::InvalidArgument(m),
            e if e.is_retriable() => AgentError::Unavailable(format!("{e}; retry")),
            e => AgentError::Internal(e.to_string()),
        }
    }
}

impl From<ObjectStoreError> for AgentError {
    fn from(e: ObjectStoreError) -> Self {
        AgentError::from(&e)
    }
}

impl From<&ObjectStoreError> for AgentError {
    fn from(e: &ObjectStoreError) -> Self {
        match e {
            // An indexed object that is gone is lost data, not a missing topic.
            ObjectStoreError::NotFound(m) => AgentError::DataLoss(format!(
                "indexed object is missing from the object store: {m}"
            )),
            e if e.is_retriable() => AgentError::Unavailable(format!("{e}; retry")),
            e => AgentError::Internal(e.to_string()),
        }
    }
}

impl From<LoadError> for AgentError {
    fn from(e: LoadError) -> Self {
        AgentError::from(&*e.0)
    }
}

impl From<ValidationError> for AgentError {
    fn from(e: ValidationError) -> Self {
        AgentError::InvalidArgument(e.0)
    }
}

impl From<LeaseError> for AgentError {
    fn from(e: LeaseError) -> Self {
        AgentError::Unavailable(format!("{e}; retry"))
    }
}

impl AgentError {
    /// A corrupt batch, with where it is.
    pub fn corrupt(what: impl std::fmt::Display, e: FormatError) -> Self {
        AgentError::DataLoss(format!("{what} is corrupt ({e}); it is not served"))
    }
}

impl From<AgentError> for Status {
    fn from(e: AgentError) -> Self {
        let msg = e.to_string();
        match e {
            AgentError::InvalidArgument(_) => Status::invalid_argument(msg),
            AgentError::NotFound(_) => Status::not_found(msg),
            AgentError::AlreadyExists(_) => Status::already_exists(msg),
            AgentError::OutOfRange(_) => Status::out_of_range(msg),
            AgentError::Unavailable(_) | AgentError::ShuttingDown => Status::unavailable(msg),
            AgentError::DataLoss(_) => Status::data_loss(msg),
            AgentError::ResourceExhausted(_) => Status::resource_exhausted(msg),
            AgentError::Internal(_) => Status::internal(msg),
            AgentError::FailedPrecondition(_) => Status::failed_precondition(msg),
            AgentError::Unauthenticated(_) => Status::unauthenticated(msg),
            AgentError::PermissionDenied(_) => Status::permission_denied(msg),
            AgentError::Forwarded(s) => s,
        }
    }
}

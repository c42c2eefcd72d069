//! What a client call can fail with.

use tonic::{Code, Status};

use crate::RecordAck;

/// A failed call: the agent's gRPC status, or a connection problem.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The agent answered with an error status.
    #[error("{}: {}", code_name(.0.code()), .0.message())]
    Status(Status),
    /// The agent could not be reached.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// Address tried.
        addr: String,
        /// Cause.
        source: tonic::transport::Error,
    },
    /// Some of a produce's records were acknowledged and the others failed, retries
    /// included: `acks` has the acknowledged ones, in request order (`None` for the others).
    #[error("{} of {} records were not written: {}: {}", .acks.iter().filter(|a| a.is_none()).count(), .acks.len(), code_name(.status.code()), .status.message())]
    PartlyWritten {
        /// Per record, where it was written, if it was.
        acks: Vec<Option<RecordAck>>,
        /// Why the others were not.
        status: Status,
    },
    /// The request could not be built.
    #[error("{0}")]
    Invalid(String),
}

impl ClientError {
    /// The gRPC status code, if the agent answered.
    pub fn code(&self) -> Option<Code> {
        match self {
            ClientError::Status(s) | ClientError::PartlyWritten { status: s, .. } => Some(s.code()),
            _ => None,
        }
    }

    /// Whether a retry may succeed: the agent said `UNAVAILABLE`, or the connection broke
    /// mid-call (the agent died: `UNKNOWN` or `CANCELLED` raised locally, with a transport
    /// error as the cause). A produce whose
    /// connection broke may have been written, so its retry can duplicate it (at-least-once).
    pub fn is_retriable(&self) -> bool {
        match self {
            ClientError::Status(s) => match s.code() {
                Code::Unavailable => true,
                Code::Unknown | Code::Cancelled => std::error::Error::source(s).is_some(),
                _ => false,
            },
            _ => false,
        }
    }
}

impl From<Status> for ClientError {
    fn from(s: Status) -> Self {
        ClientError::Status(s)
    }
}

fn code_name(c: Code) -> &'static str {
    match c {
        Code::InvalidArgument => "invalid argument",
        Code::NotFound => "not found",
        Code::AlreadyExists => "already exists",
        Code::OutOfRange => "out of range",
        Code::ResourceExhausted => "resource exhausted",
        Code::Unavailable => "unavailable",
        Code::DataLoss => "data loss",
        Code::Internal => "internal error",
        Code::DeadlineExceeded => "deadline exceeded",
        Code::Cancelled => "cancelled",
        _ => "error",
    }
}

/// Result of client calls.
pub type ClientResult<T> = Result<T, ClientError>;

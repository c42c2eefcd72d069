//! The `streamhouse.internal.v1.AgentInternal` gRPC service: what the agents of a cluster ask
//! each other. Today that is one aligned chunk of an object, from the agent that caches it
//! for its zone.

use std::sync::Arc;

use streamhouse_proto::internal::v1::agent_internal_server::AgentInternal;
use streamhouse_proto::internal::v1::{ReadChunkRequest, ReadChunkResponse};
use tonic::{Request, Response, Status};

use crate::error::AgentError;
use crate::object_reader::ObjectReader;

/// Serves other agents.
#[derive(Debug, Clone)]
pub struct InternalService {
    objects: Arc<ObjectReader>,
}

impl InternalService {
    /// Serves chunks read through `objects`.
    pub fn new(objects: Arc<ObjectReader>) -> Self {
        Self { objects }
    }
}

#[tonic::async_trait]
impl AgentInternal for InternalService {
    async fn read_chunk(
        &self,
        request: Request<ReadChunkRequest>,
    ) -> Result<Response<ReadChunkResponse>, Status> {
        let r = request.into_inner();
        let data = self
            .objects
            .serve_chunk(&r.object_key, r.object_size, r.chunk_bytes, r.index)
            .await
            .map_err(|e| Status::from(AgentError::from(e)))?;
        Ok(Response::new(ReadChunkResponse { data }))
    }
}

//! The `streamhouse.internal.v1.AgentInternal` gRPC service: what the agents of a cluster ask
//! each other. Today that is one aligned chunk of an object, from the agent that caches it
//! for its zone. Every call must carry the cluster secret (see [`crate::auth`]): a chunk of
//! any tenant's object is served to whoever proves to be an agent.

use std::sync::Arc;

use streamhouse_proto::internal::v1::agent_internal_server::AgentInternal;
use streamhouse_proto::internal::v1::{ReadChunkRequest, ReadChunkResponse};
use tonic::{Request, Response, Status};

use streamhouse_core::ObjectStoreError;

use crate::auth::Authenticator;
use crate::error::AgentError;
use crate::object_reader::ObjectReader;

/// Keys of objects agents write; no other key is served.
const OBJECT_KEY_PREFIX: &str = "tenants/";
/// The chunk sizes `read.chunk_bytes` allows.
const CHUNK_BYTES: std::ops::RangeInclusive<u64> = 64 << 10..=64 << 20;

/// `INVALID_ARGUMENT` unless the request names a chunk of an agent-written object that the
/// object's stated size holds.
fn check(r: &ReadChunkRequest) -> Result<(), Status> {
    if !r.object_key.starts_with(OBJECT_KEY_PREFIX) {
        return Err(Status::invalid_argument(format!(
            "{:?} is not an object key of this cluster (they start with {OBJECT_KEY_PREFIX:?})",
            r.object_key
        )));
    }
    if !CHUNK_BYTES.contains(&r.chunk_bytes) {
        return Err(Status::invalid_argument(format!(
            "chunk_bytes = {} is outside {}..={}",
            r.chunk_bytes,
            CHUNK_BYTES.start(),
            CHUNK_BYTES.end()
        )));
    }
    if r.index.saturating_mul(r.chunk_bytes) >= r.object_size {
        return Err(Status::invalid_argument(format!(
            "chunk {} of {} bytes starts past the end of a {}-byte object",
            r.index, r.chunk_bytes, r.object_size
        )));
    }
    Ok(())
}

/// Serves other agents.
#[derive(Debug, Clone)]
pub struct InternalService {
    objects: Arc<ObjectReader>,
    auth: Arc<Authenticator>,
}

impl InternalService {
    /// Serves chunks read through `objects` to the agents `auth` admits.
    pub fn new(objects: Arc<ObjectReader>, auth: Arc<Authenticator>) -> Self {
        Self { objects, auth }
    }
}

#[tonic::async_trait]
impl AgentInternal for InternalService {
    async fn read_chunk(
        &self,
        request: Request<ReadChunkRequest>,
    ) -> Result<Response<ReadChunkResponse>, Status> {
        self.auth.check_agent(request.metadata())?;
        let r = request.into_inner();
        check(&r)?;
        let data = self
            .objects
            .serve_chunk(&r.object_key, r.object_size, r.chunk_bytes, r.index)
            .await
            .map_err(|e| match &*e.0 {
                // The asking agent reads the store itself and tells its client what happened.
                ObjectStoreError::NotFound(m) => Status::not_found(m.clone()),
                ObjectStoreError::InvalidRange(m) => Status::invalid_argument(format!(
                    "the object is shorter than object_size says: {m}"
                )),
                _ => Status::from(AgentError::from(e)),
            })?;
        Ok(Response::new(ReadChunkResponse { data }))
    }
}

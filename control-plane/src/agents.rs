//! Calls from the control plane to agents: reading a partition's latest messages for the
//! message browser. The control plane acts for a tenant with the agents' cluster secret, as
//! agents do between themselves; it never holds a tenant's keys.

use std::time::Duration;

use streamhouse_core::TenantId;
use streamhouse_proto::TENANT_HEADER;
use streamhouse_proto::v1::stream_house_client::StreamHouseClient;
use streamhouse_proto::v1::{ConsumedRecord, FetchRequest};
use tonic::metadata::AsciiMetadataValue;
use tonic::transport::{ClientTlsConfig, Endpoint};

use crate::error::{ApiError, ApiResult};

/// The header agents check the cluster secret in (the agent's `CLUSTER_AUTH_HEADER`).
const CLUSTER_AUTH_HEADER: &str = "x-streamhouse-cluster-auth";
/// Longest a call to an agent takes before the control plane tries another.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// How the control plane calls agents.
#[derive(Debug)]
pub struct Agents {
    cluster_secret: Option<String>,
}

impl Agents {
    /// Calls agents with `cluster_secret` (none: agents in development mode).
    pub fn new(cluster_secret: Option<String>) -> Self {
        Self { cluster_secret }
    }

    /// Records of `topic`'s `partition` from `offset`, at most about `max_bytes` of them,
    /// read through the first of `addrs` (agent URLs) that answers.
    pub async fn fetch(
        &self,
        addrs: &[String],
        tenant: &TenantId,
        topic: &str,
        partition: u32,
        offset: u64,
        max_bytes: u32,
    ) -> ApiResult<Vec<ConsumedRecord>> {
        if addrs.is_empty() {
            return Err(ApiError::unavailable(
                "no agent of this organization's group is running, so no message can be read",
            ));
        }
        let mut last = String::new();
        for addr in addrs {
            match self
                .fetch_from(addr, tenant, topic, partition, offset, max_bytes)
                .await
            {
                Ok(r) => return Ok(r),
                Err(Failure::Refused(status)) => return Err(refused(status)),
                Err(Failure::Unreachable(e)) => last = format!("{addr}: {e}"),
            }
        }
        Err(ApiError::unavailable(format!(
            "no agent answered the read ({last}); try again shortly"
        )))
    }

    async fn fetch_from(
        &self,
        addr: &str,
        tenant: &TenantId,
        topic: &str,
        partition: u32,
        offset: u64,
        max_bytes: u32,
    ) -> Result<Vec<ConsumedRecord>, Failure> {
        let unreachable = |e: &dyn std::fmt::Display| Failure::Unreachable(e.to_string());
        let mut endpoint = Endpoint::from_shared(addr.to_owned())
            .map_err(|e| unreachable(&e))?
            .connect_timeout(CALL_TIMEOUT)
            .timeout(CALL_TIMEOUT);
        if addr.starts_with("https://") {
            endpoint = endpoint
                .tls_config(ClientTlsConfig::new().with_native_roots())
                .map_err(|e| unreachable(&e))?;
        }
        let channel = endpoint.connect().await.map_err(|e| unreachable(&e))?;
        let mut req = tonic::Request::new(FetchRequest {
            topic: topic.to_owned(),
            partition,
            offset,
            max_bytes,
            max_wait_ms: 0,
        });
        let md = req.metadata_mut();
        md.insert(
            TENANT_HEADER,
            AsciiMetadataValue::try_from(tenant.as_str()).map_err(|e| unreachable(&e))?,
        );
        // Always sent, so that agents tell the control plane's reads from a tenant's own;
        // without a secret only agents in development mode take it.
        let secret = self.cluster_secret.as_deref().unwrap_or("development");
        md.insert(
            CLUSTER_AUTH_HEADER,
            AsciiMetadataValue::try_from(secret).map_err(|e| unreachable(&e))?,
        );
        match StreamHouseClient::new(channel).fetch(req).await {
            Ok(r) => Ok(r.into_inner().records),
            Err(s)
                if matches!(
                    s.code(),
                    tonic::Code::Unavailable | tonic::Code::DeadlineExceeded
                ) =>
            {
                Err(unreachable(&s.message()))
            }
            Err(s) => Err(Failure::Refused(s)),
        }
    }
}

enum Failure {
    /// The agent did not answer; another may.
    Unreachable(String),
    /// The agent answered with an error every agent would give.
    Refused(tonic::Status),
}

fn refused(s: tonic::Status) -> ApiError {
    match s.code() {
        tonic::Code::NotFound => ApiError::not_found(s.message().to_owned()),
        tonic::Code::InvalidArgument | tonic::Code::OutOfRange => ApiError::new(
            http::StatusCode::BAD_REQUEST,
            "invalid_request",
            s.message(),
        ),
        _ => ApiError::internal(format!("agent refused a read: {s}")),
    }
}

use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use http_body::Body as _;
use prost::Message;
use streamhouse_proto::v1::{ProduceRecord, ProduceRequest};
use tokio::sync::Semaphore;

use super::*;
use crate::admission::{AdmissionLimits, RequestLimits};

/// A request body that yields the given frames.
struct Frames(VecDeque<Bytes>);

impl http_body::Body for Frames {
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, tonic::Status>>> {
        Poll::Ready(self.0.pop_front().map(|b| Ok(Frame::data(b))))
    }
}

const BUDGET: usize = 64 << 20;

fn layer(max_records_per_request: usize) -> (AdmissionLayer, Arc<Semaphore>) {
    let writer_budget = Arc::new(Semaphore::new(BUDGET));
    let limits = AdmissionLimits {
        max_concurrent_requests: 10,
        max_request_bytes_in_flight: BUDGET,
        max_message_bytes: 4 << 20,
        request: RequestLimits {
            max_records_per_request,
            max_headers_per_request: 1000,
        },
    };
    (
        AdmissionLayer::new(limits, writer_budget.clone(), BUDGET),
        writer_budget,
    )
}

/// A gRPC message (header and body) of a produce request of `records` records.
fn produce_message(records: usize) -> Bytes {
    let req = ProduceRequest {
        topic: "orders".into(),
        records: (0..records)
            .map(|i| ProduceRecord::new(vec![b'v'; 1000]).with_key(format!("key-{i}")))
            .collect(),
    };
    let body = req.encode_to_vec();
    let mut m = BytesMut::new();
    m.put_u8(0);
    m.put_u32(body.len() as u32);
    m.put_slice(&body);
    m.freeze()
}

/// Runs `message`, cut into frames of `frame` bytes, through a charged body; returns the
/// frames it yields, or the status it fails with.
async fn pass(
    message: &Bytes,
    frame: usize,
    layer: AdmissionLayer,
    produce: Option<DecodeCharge>,
) -> Result<Vec<Bytes>, tonic::Status> {
    let frames = message.chunks(frame).map(Bytes::copy_from_slice).collect();
    let mut body = ChargedBody::new(Body::new(Frames(frames)), layer, produce);
    let mut out = Vec::new();
    while let Some(f) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        out.push(f?.into_data().expect("only data"));
    }
    Ok(out)
}

#[tokio::test]
async fn a_produce_message_passes_uncopied_with_its_header_apart_once_charged() {
    let message = produce_message(100);
    // Whole, in HTTP/2's default frames, in small ones, and in ones that split the header.
    for frame in [message.len(), 16384, 1000, 3] {
        let (layer, writer_budget) = layer(1000);
        let charge = DecodeCharge::default();
        let out = pass(&message, frame, layer, Some(charge.clone()))
            .await
            .unwrap();
        assert_eq!(
            out[0],
            message[..5],
            "frames of {frame}: the header comes alone"
        );
        assert_eq!(out.concat(), message, "frames of {frame}");
        // The frames after the header are the ones that arrived: nothing was joined.
        assert!(out[1..].iter().all(|f| f.len() <= frame));
        let permit = charge.take().expect("charged before decoding");
        let charged = BUDGET - writer_budget.available_permits();
        assert!(charged > message.len() && charged == permit.num_permits());
    }
}

#[tokio::test]
async fn a_produce_message_over_the_record_limit_is_refused_whole_or_in_pieces() {
    let message = produce_message(11);
    for frame in [message.len(), 16384, 7] {
        let (layer, writer_budget) = layer(10);
        let refused = pass(&message, frame, layer, Some(DecodeCharge::default()))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), tonic::Code::InvalidArgument);
        assert!(
            refused.message().contains("agent.max_records_per_request"),
            "{refused:?}"
        );
        assert_eq!(writer_budget.available_permits(), BUDGET);
    }
}

#[tokio::test]
async fn other_messages_pass_as_they_arrived() {
    let message = produce_message(20);
    for frame in [message.len(), 1000, 3] {
        let (layer, writer_budget) = layer(10);
        let out = pass(&message, frame, layer, None).await.unwrap();
        assert_eq!(out.concat(), message);
        assert_eq!(writer_budget.available_permits(), BUDGET);
    }
}

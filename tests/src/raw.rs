//! Requests built byte by byte, as a hostile client sends them: a produce request of millions
//! of records costs the test process only its wire bytes, never the records' structs.

use bytes::{BufMut, Bytes, BytesMut};
use streamhouse_client::proto::ProduceResponse;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::Channel;
use tonic::{Request, Status};

/// An encoded `ProduceRequest` to `topic` of `records` empty records (two bytes each), each
/// with `headers` empty headers.
pub fn empty_records_request(topic: &str, records: usize, headers: usize) -> Bytes {
    let record_len = 2 * headers;
    let mut b = BytesMut::with_capacity(topic.len() + 2 + records * (record_len + 4));
    b.put_u8(0x0a);
    put_varint(&mut b, topic.len() as u64);
    b.put_slice(topic.as_bytes());
    let mut record = BytesMut::with_capacity(record_len);
    for _ in 0..headers {
        record.put_slice(&[0x22, 0x00]);
    }
    for _ in 0..records {
        b.put_u8(0x12);
        put_varint(&mut b, record.len() as u64);
        b.put_slice(&record);
    }
    b.freeze()
}

fn put_varint(b: &mut BytesMut, mut v: u64) {
    while v >= 0x80 {
        b.put_u8((v as u8) | 0x80);
        v >>= 7;
    }
    b.put_u8(v as u8);
}

/// Sends an encoded `ProduceRequest` as it is.
pub async fn raw_produce(url: &str, wire: Bytes) -> Result<ProduceResponse, Status> {
    use prost::Message;
    let mut grpc = connect(url).await?;
    let path = http::uri::PathAndQuery::from_static("/streamhouse.v1.StreamHouse/Produce");
    let reply = grpc
        .unary(Request::new(wire), path, BytesCodec)
        .await?
        .into_inner();
    ProduceResponse::decode(reply).map_err(|e| Status::internal(e.to_string()))
}

/// A gRPC client of the agent at `url`, ready to call.
async fn connect(url: &str) -> Result<tonic::client::Grpc<Channel>, Status> {
    let channel = Channel::from_shared(url.to_owned())
        .map_err(|e| Status::internal(e.to_string()))?
        .connect()
        .await
        .map_err(|e| Status::unavailable(e.to_string()))?;
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|e| Status::unavailable(e.to_string()))?;
    Ok(grpc)
}

/// Sends `wire` as the request message of the unary (or server-streaming) method `path`,
/// such as `/streamhouse.v1.StreamHouse/Fetch`, with `headers`; answers once the agent does
/// (its response headers), without waiting for messages a stream may send much later.
pub async fn raw_call(
    url: &str,
    path: &'static str,
    wire: Bytes,
    headers: &[(&'static str, String)],
) -> Result<(), Status> {
    let mut grpc = connect(url).await?;
    let mut req = Request::new(wire);
    for (k, v) in headers {
        req.metadata_mut()
            .insert(*k, v.parse().map_err(|_| Status::internal("header value"))?);
    }
    let path = http::uri::PathAndQuery::from_static(path);
    grpc.server_streaming(req, path, BytesCodec).await?;
    Ok(())
}

/// Sends bytes as they are; reads messages as bytes.
struct BytesCodec;

impl Codec for BytesCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = BytesCodec;
    type Decoder = BytesCodec;

    fn encoder(&mut self) -> BytesCodec {
        BytesCodec
    }

    fn decoder(&mut self) -> BytesCodec {
        BytesCodec
    }
}

impl Encoder for BytesCodec {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for BytesCodec {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        use bytes::Buf;
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

//! The request body admission hands tonic: it charges a message's bytes before yielding any
//! of them, and holds a produce message, in the frames it arrived in, until its records are
//! counted and its decoded size charged.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes, BytesMut};
use http_body::Frame;
use tokio::sync::{AcquireError, OwnedSemaphorePermit};
use tonic::body::Body;

use super::AdmissionLayer;

/// Bytes of a gRPC message header: a compression flag and a big-endian length.
const HEADER: usize = 5;

/// Memory one record and one header take once decoded, beside their wire bytes: the
/// protobuf struct and the domain struct the broker converts it to.
const RECORD_MEMORY: usize = 2 * 112;
const HEADER_MEMORY: usize = 2 * 56;

type Acquire = Pin<Box<dyn Future<Output = Result<OwnedSemaphorePermit, AcquireError>> + Send>>;

/// The produce path's charge to the writer's buffer budget, taken before the request is
/// decoded and handed to the handler in the request's extensions.
#[derive(Debug, Clone, Default)]
pub struct DecodeCharge(Arc<Mutex<Option<OwnedSemaphorePermit>>>);

impl DecodeCharge {
    /// The charge, once; `None` if the request was not charged (the broker then charges it).
    pub fn take(&self) -> Option<OwnedSemaphorePermit> {
        self.0.lock().expect("poisoned").take()
    }
}

enum State {
    /// Reading the message header; what arrived so far.
    Head(Pieces),
    /// Waiting for the message's bytes to be charged: its header, what arrived of the rest,
    /// and its length.
    Charging(Acquire, Bytes, Pieces, usize),
    /// A produce message: holding its frames until it is whole, to count its records before
    /// it is decoded.
    Filling(Bytes, Pieces, usize),
    /// Waiting for a produce message's decoded size to be charged to the writer's budget.
    Pricing(Acquire, Bytes, Pieces),
    /// Charged (or nothing to charge): the body passes through.
    Flowing,
}

/// Bytes as they arrived, in their frames' own buffers: holding a message costs no copy,
/// and tonic copies it once, into the buffer it decodes from.
#[derive(Default)]
struct Pieces {
    chunks: VecDeque<Bytes>,
    len: usize,
}

impl Pieces {
    fn push(&mut self, chunk: Bytes) {
        if !chunk.is_empty() {
            self.len += chunk.len();
            self.chunks.push_back(chunk);
        }
    }

    /// Splits off the first `n` bytes (there are at least `n`), copying them only if they
    /// span frames.
    fn split_front(&mut self, n: usize) -> Bytes {
        self.len -= n;
        let first = self.chunks.front_mut().expect("at least n bytes");
        if first.len() > n {
            return first.split_to(n);
        }
        let mut front = BytesMut::with_capacity(n);
        while front.len() < n {
            let chunk = self.chunks.front_mut().expect("at least n bytes");
            let take = chunk.len().min(n - front.len());
            front.extend_from_slice(&chunk.split_to(take));
            if chunk.is_empty() {
                self.chunks.pop_front();
            }
        }
        front.freeze()
    }

    /// The bytes, read in place.
    fn reader(&self) -> PiecesReader<'_> {
        let mut chunks = self.chunks.iter();
        let current = chunks.next().map_or(&[][..], |c| &c[..]);
        PiecesReader {
            chunks,
            current,
            left: self.len,
        }
    }

    /// Queues `head` and the pieces as data frames, in order.
    fn send(self, head: Option<Bytes>, out: &mut VecDeque<Frame<Bytes>>) {
        out.extend(head.into_iter().chain(self.chunks).map(Frame::data));
    }
}

/// A [`Buf`] over [`Pieces`] that leaves them as they are.
struct PiecesReader<'a> {
    chunks: std::collections::vec_deque::Iter<'a, Bytes>,
    current: &'a [u8],
    left: usize,
}

impl Buf for PiecesReader<'_> {
    fn remaining(&self) -> usize {
        self.left
    }

    fn chunk(&self) -> &[u8] {
        self.current
    }

    fn advance(&mut self, mut n: usize) {
        assert!(n <= self.left, "advanced past the end");
        self.left -= n;
        while n > 0 {
            let k = n.min(self.current.len());
            self.current = &self.current[k..];
            n -= k;
            // Pieces hold no empty chunks, so the next one has bytes (or there is none).
            if self.current.is_empty() {
                self.current = self.chunks.next().map_or(&[][..], |c| &c[..]);
            }
        }
    }
}

/// A request body that charges its message's size to the byte budget before yielding any of
/// it, and keeps the charge until it is dropped (once tonic has decoded it). A produce
/// message is also counted and its decoded size charged to the writer's buffer budget.
pub(super) struct ChargedBody {
    inner: Body,
    state: State,
    layer: AdmissionLayer,
    produce: Option<DecodeCharge>,
    /// The charge to the byte budget, held until the body is dropped.
    permit: Option<OwnedSemaphorePermit>,
    /// Frames to yield before reading on.
    out: VecDeque<Frame<Bytes>>,
}

impl AdmissionLayer {
    /// The bytes charged for a message whose header is `head`: twice its size (it is
    /// buffered by tonic and, for produce messages, here), at most the whole budget.
    fn charge(&self, len: usize) -> u32 {
        let most = self.max_request_bytes;
        (2 * (len + HEADER)).min(most).min(u32::MAX as usize) as u32
    }

    /// What a produce message takes once decoded: `Ok(None)` when it is malformed (prost's
    /// decode then says how), `INVALID_ARGUMENT` when it is over the record limits.
    fn decoded_size(&self, message: impl Buf) -> Result<Option<u32>, tonic::Status> {
        let len = message.remaining();
        let Some((records, headers)) = streamhouse_proto::wire::count_produce_entries(message)
        else {
            return Ok(None);
        };
        self.request
            .check(records, headers)
            .map_err(tonic::Status::invalid_argument)?;
        let size = len + records * RECORD_MEMORY + headers * HEADER_MEMORY;
        Ok(Some(
            size.min(self.max_buffered_bytes).min(u32::MAX as usize) as u32,
        ))
    }
}

impl http_body::Body for ChargedBody {
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, tonic::Status>>> {
        let this = &mut *self;
        loop {
            if let Some(f) = this.out.pop_front() {
                return Poll::Ready(Some(Ok(f)));
            }
            match &mut this.state {
                State::Flowing => return Pin::new(&mut this.inner).poll_frame(cx),
                State::Charging(acquire, head, _, _) => {
                    this.permit = ready!(acquire.as_mut().poll(cx)).ok();
                    let uncompressed = head[0] == 0;
                    let State::Charging(_, head, rest, len) =
                        std::mem::replace(&mut this.state, State::Flowing)
                    else {
                        unreachable!("matched above");
                    };
                    if this.produce.is_some() && uncompressed {
                        // The message may be whole already.
                        this.state = State::Filling(head, rest, len);
                        if let Err(refused) = this.step() {
                            return Poll::Ready(Some(Err(refused)));
                        }
                    } else {
                        rest.send(Some(head), &mut this.out);
                    }
                }
                State::Pricing(acquire, _, _) => {
                    let permit = ready!(acquire.as_mut().poll(cx)).ok();
                    if let (Some(charge), Some(permit)) = (&this.produce, permit) {
                        *charge.0.lock().expect("poisoned") = Some(permit);
                    }
                    let State::Pricing(_, head, message) =
                        std::mem::replace(&mut this.state, State::Flowing)
                    else {
                        unreachable!("matched above");
                    };
                    // The header in a frame of its own: tonic then sizes its buffer for the
                    // message before any of it arrives, and copies it once.
                    message.send(Some(head), &mut this.out);
                }
                State::Head(pieces) | State::Filling(_, pieces, _) => {
                    match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                        Some(Ok(frame)) => match frame.into_data() {
                            Ok(data) => pieces.push(data),
                            // Trailers: whatever was held goes first.
                            Err(frame) => {
                                this.release_held();
                                this.out.push_back(frame);
                                continue;
                            }
                        },
                        Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                        None => {
                            this.release_held();
                            if let Some(f) = this.out.pop_front() {
                                return Poll::Ready(Some(Ok(f)));
                            }
                            return Poll::Ready(None);
                        }
                    }
                    if let Err(refused) = this.step() {
                        return Poll::Ready(Some(Err(refused)));
                    }
                }
            }
        }
    }
}

impl ChargedBody {
    /// `inner`, charged to `layer`'s budgets; `produce` when it is a produce request.
    pub(super) fn new(inner: Body, layer: AdmissionLayer, produce: Option<DecodeCharge>) -> Self {
        Self {
            inner,
            state: State::Head(Pieces::default()),
            layer,
            produce,
            permit: None,
            out: VecDeque::new(),
        }
    }

    /// Moves on once the header, or the whole of a produce message, is held; a produce
    /// message over the request limits is refused.
    fn step(&mut self) -> Result<(), tonic::Status> {
        let next = match &mut self.state {
            State::Head(pieces) if pieces.len >= HEADER => {
                let mut pieces = std::mem::take(pieces);
                let head = pieces.split_front(HEADER);
                let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]);
                let len = len as usize;
                if len > self.layer.max_message_bytes {
                    // tonic refuses it on reading the header.
                    pieces.send(Some(head), &mut self.out);
                    State::Flowing
                } else {
                    let n = self.layer.charge(len);
                    let acquire = Box::pin(self.layer.bytes.clone().acquire_many_owned(n));
                    State::Charging(acquire, head, pieces, len)
                }
            }
            State::Filling(_, pieces, len) if pieces.len >= *len => {
                let len = *len;
                let State::Filling(head, message, _) =
                    std::mem::replace(&mut self.state, State::Flowing)
                else {
                    unreachable!("matched above");
                };
                match self.layer.decoded_size(message.reader().take(len)) {
                    Ok(Some(n)) => {
                        let acquire =
                            Box::pin(self.layer.writer_budget.clone().acquire_many_owned(n));
                        State::Pricing(acquire, head, message)
                    }
                    Ok(None) => {
                        message.send(Some(head), &mut self.out);
                        State::Flowing
                    }
                    // tonic answers a request whose body fails with the body's
                    // status: nothing of it is decoded.
                    Err(refused) => return Err(refused),
                }
            }
            _ => return Ok(()),
        };
        self.state = next;
        Ok(())
    }

    /// Queues what the body holds (the body ended or trailers came before the message was
    /// whole) and lets the rest pass through.
    fn release_held(&mut self) {
        match std::mem::replace(&mut self.state, State::Flowing) {
            State::Head(pieces) => pieces.send(None, &mut self.out),
            State::Filling(head, pieces, _) => pieces.send(Some(head), &mut self.out),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests;

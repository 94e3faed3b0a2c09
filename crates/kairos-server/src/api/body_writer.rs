//! A blocking `Write` whose bytes become an HTTP answer's body as they are
//! written, in chunks through a small channel: a large answer (a whole
//! snapshot) is streamed, never held in memory.

use std::io::Write;

use axum::body::Bytes;
use tokio::sync::mpsc;

/// Bytes gathered before a chunk is sent.
const CHUNK: usize = 1 << 20;
/// Chunks in flight: what a slow reader makes the writer hold at most.
const IN_FLIGHT: usize = 4;

/// The writing end; [`BodyWriter::channel`] gives the body's end too.
pub struct BodyWriter {
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    buf: Vec<u8>,
}

impl BodyWriter {
    /// A writer, and the body that streams what it writes.
    pub fn channel() -> (BodyWriter, axum::body::Body) {
        let (tx, mut rx) = mpsc::channel(IN_FLIGHT);
        // A receiver answers None again when polled after its end, which a
        // compressing layer does (a stream built with `unfold` panicked there).
        let stream = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
        (
            BodyWriter {
                tx,
                buf: Vec::with_capacity(CHUNK),
            },
            axum::body::Body::from_stream(stream),
        )
    }

    /// Ends the body with an error: the reader sees the answer cut short, never
    /// a complete-looking one.
    pub fn fail(self, error: String) {
        let _ = self.tx.blocking_send(Err(std::io::Error::other(error)));
    }

    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.tx
            .blocking_send(Ok(Bytes::from(chunk)))
            .map_err(|_| std::io::Error::other("the reader went away"))
    }
}

impl Write for &mut BodyWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

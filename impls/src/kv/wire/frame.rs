//! Length-prefixed framing over a byte stream, read in batches.

use super::{WireError, MAX_FRAME_BYTES};
use std::ops::Range;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Bytes of the frame header: the body length as a little-endian `u32`.
pub const FRAME_HEADER_BYTES: usize = 4;

/// Reads frames from a stream through one reusable buffer.
///
/// A read system call usually returns many frames at once; [`FrameReader::next_frame`]
/// hands them out one by one without reading again, and [`FrameReader::has_buffered`]
/// tells the caller whether it can process a whole batch before blocking.
///
/// Memory follows the bytes that arrived, never the lengths that headers announce: a
/// header that claims more than [`MAX_FRAME_BYTES`] is rejected before anything is
/// allocated for it, and a buffer grows at most to twice the bytes buffered (and at least
/// by [`READ_CHUNK_BYTES`]) per read, so a peer that announces a 4 MiB frame and sends
/// nothing more costs [`INITIAL_BUFFER_BYTES`], not 4 MiB. A buffer that grew for a large
/// frame shrinks back once the frame has been handed out and nothing else is buffered.
pub struct FrameReader<R> {
    inner: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Set while part of a frame is buffered: since when. Lets the owner bound how long a
    /// frame may take to arrive ([`FrameReader::partial_since`]).
    partial_since: Option<tokio::time::Instant>,
}

/// A new reader's buffer, in bytes: enough for a batch of small frames per read, small
/// enough that a few hundred idle connections cost little.
pub const INITIAL_BUFFER_BYTES: usize = 16 << 10;

/// The least a buffer grows by when a frame does not fit: reads are at most this much
/// ahead of the bytes that have arrived.
pub const READ_CHUNK_BYTES: usize = 64 << 10;

impl<R: AsyncRead + Unpin> FrameReader<R> {
    /// A reader over `inner`.
    pub fn new(inner: R) -> FrameReader<R> {
        FrameReader {
            inner,
            buf: vec![0; INITIAL_BUFFER_BYTES],
            start: 0,
            end: 0,
            partial_since: None,
        }
    }

    /// Since when part of a frame has been waiting in the buffer for the rest of it (`None`
    /// when the buffer holds only whole frames or nothing). Measured by `tokio::time`, so
    /// it runs on simulated time under turmoil.
    pub fn partial_since(&self) -> Option<tokio::time::Instant> {
        self.partial_since
    }

    /// Bytes of memory the reader's buffer holds now.
    pub fn buffer_bytes(&self) -> usize {
        self.buf.len()
    }

    /// The next frame's body. Reads from the stream only if no complete frame is buffered.
    /// `Ok(None)` is a clean end of stream (between frames); an end of stream inside a
    /// frame, an oversized header or an I/O error is an error.
    ///
    /// Cancel-safe: bytes already read stay buffered, so a call dropped before it
    /// completes (by a timeout, say) loses nothing and the next call carries on.
    pub async fn next_frame(&mut self) -> Result<Option<&[u8]>, WireError> {
        loop {
            if let Some(range) = self.buffered_frame()? {
                return Ok(Some(&self.buf[range]));
            }
            if !self.fill().await? {
                return if self.start == self.end {
                    Ok(None)
                } else {
                    Err(WireError::Malformed(format!(
                        "connection closed in the middle of a frame ({} bytes buffered)",
                        self.end - self.start
                    )))
                };
            }
        }
    }

    /// Waits until a complete frame is buffered (`Ok(true)`; [`FrameReader::try_next_frame`]
    /// then returns it) or the stream ends cleanly between frames (`Ok(false)`). Errors as
    /// [`FrameReader::next_frame`] does, and is cancel-safe like it, so a caller can wait
    /// under a timeout and look at [`FrameReader::partial_since`] when it fires.
    pub async fn wait_frame(&mut self) -> Result<bool, WireError> {
        loop {
            if let Some(len) = self.peek_len()? {
                if self.end - self.start >= FRAME_HEADER_BYTES + len {
                    return Ok(true);
                }
            }
            if !self.fill().await? {
                return if self.start == self.end {
                    Ok(false)
                } else {
                    Err(WireError::Malformed(format!(
                        "connection closed in the middle of a frame ({} bytes buffered)",
                        self.end - self.start
                    )))
                };
            }
        }
    }

    /// The next complete frame already in the buffer, without reading.
    pub fn try_next_frame(&mut self) -> Result<Option<&[u8]>, WireError> {
        Ok(self.buffered_frame()?.map(|r| &self.buf[r]))
    }

    /// Whether a complete frame is buffered (the next `next_frame` will not block).
    pub fn has_buffered(&self) -> bool {
        matches!(self.peek_len(), Ok(Some(len)) if self.end - self.start >= FRAME_HEADER_BYTES + len)
    }

    fn peek_len(&self) -> Result<Option<usize>, WireError> {
        if self.end - self.start < FRAME_HEADER_BYTES {
            return Ok(None);
        }
        let header: [u8; 4] = self.buf[self.start..self.start + FRAME_HEADER_BYTES]
            .try_into()
            .expect("four header bytes");
        let len = u32::from_le_bytes(header) as usize;
        if len > MAX_FRAME_BYTES {
            return Err(WireError::TooLarge { len });
        }
        Ok(Some(len))
    }

    fn buffered_frame(&mut self) -> Result<Option<Range<usize>>, WireError> {
        let Some(len) = self.peek_len()? else {
            return Ok(None);
        };
        let body = self.start + FRAME_HEADER_BYTES;
        if self.end - body < len {
            return Ok(None);
        }
        self.start = body + len;
        if self.start == self.end {
            // Everything consumed: the next read starts at the front, with no copying.
            self.start = 0;
            self.end = 0;
            self.partial_since = None;
            // The slice stays valid: the bytes are still there until the next read (a
            // shrink happens at the next read, too).
            return Ok(Some(body..body + len));
        }
        if self.partial_since.is_some() {
            // What is left began to arrive no earlier than the frame just handed out, which
            // is complete: its deadline starts over.
            self.partial_since = Some(tokio::time::Instant::now());
        }
        Ok(Some(body..body + len))
    }

    /// Reads more bytes; false on end of stream.
    async fn fill(&mut self) -> Result<bool, WireError> {
        if self.start == self.end && self.buf.len() > INITIAL_BUFFER_BYTES {
            // A large frame has been handed out: give its memory back rather than hold it
            // for the life of the connection.
            self.buf = vec![0; INITIAL_BUFFER_BYTES];
            self.start = 0;
            self.end = 0;
        }
        // Room for at least the frame being assembled (its header is known once four bytes
        // are in), moving the partial frame to the front first. The buffer grows towards
        // that size only as bytes arrive: never past twice what is buffered, plus a chunk.
        let need = match self.peek_len()? {
            Some(len) => FRAME_HEADER_BYTES + len,
            None => FRAME_HEADER_BYTES,
        };
        if self.buf.len() - self.start < need || self.end == self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if self.end == self.buf.len() && self.buf.len() < need {
                let grown = (self.buf.len() * 2)
                    .max(self.end + READ_CHUNK_BYTES)
                    .min(need);
                self.buf.resize(grown, 0);
            }
        }
        let n = self.inner.read(&mut self.buf[self.end..]).await?;
        if n > 0 && self.start == self.end {
            self.partial_since = Some(tokio::time::Instant::now());
        }
        self.end += n;
        Ok(n > 0)
    }
}

/// Appends one frame to `buf`: a header, then whatever `body` writes.
pub(crate) fn write_frame(buf: &mut Vec<u8>, body: impl FnOnce(&mut Vec<u8>)) {
    let start = buf.len();
    buf.extend_from_slice(&[0; FRAME_HEADER_BYTES]);
    body(buf);
    let len = buf.len() - start - FRAME_HEADER_BYTES;
    // Every field is bounded when it enters the system (keys, values, addresses, error
    // texts), and those bounds add up to less than the frame limit.
    debug_assert!(len <= MAX_FRAME_BYTES, "frame of {len} bytes");
    buf[start..start + FRAME_HEADER_BYTES].copy_from_slice(&(len as u32).to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(parts: &[&[u8]]) -> Vec<u8> {
        let mut buf = Vec::new();
        for p in parts {
            write_frame(&mut buf, |b| b.extend_from_slice(p));
        }
        buf
    }

    #[tokio::test]
    async fn reads_frames_in_order_then_a_clean_end() {
        let bytes = frames(&[b"one", b"", b"three"]);
        let mut r = FrameReader::new(&bytes[..]);
        assert_eq!(r.next_frame().await.unwrap(), Some(&b"one"[..]));
        assert!(r.has_buffered());
        assert_eq!(r.next_frame().await.unwrap(), Some(&b""[..]));
        assert_eq!(r.next_frame().await.unwrap(), Some(&b"three"[..]));
        assert!(r.next_frame().await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_frame_larger_than_the_initial_buffer_is_assembled() {
        let big = vec![7u8; 3 * INITIAL_BUFFER_BYTES + 5];
        let bytes = frames(&[b"a", &big, b"b"]);
        let mut r = FrameReader::new(&bytes[..]);
        assert_eq!(r.next_frame().await.unwrap().unwrap(), b"a");
        assert_eq!(r.next_frame().await.unwrap().unwrap(), &big[..]);
        assert_eq!(r.next_frame().await.unwrap().unwrap(), b"b");
    }

    #[tokio::test]
    async fn an_oversized_header_is_rejected_without_allocating() {
        let bytes = u32::MAX.to_le_bytes();
        let mut r = FrameReader::new(&bytes[..]);
        assert!(matches!(
            r.next_frame().await,
            Err(WireError::TooLarge { len }) if len == u32::MAX as usize
        ));
    }

    #[tokio::test]
    async fn an_announced_frame_is_not_allocated_before_its_bytes_arrive() {
        // A header announcing the largest frame, and 10 bytes of it.
        let mut bytes = (MAX_FRAME_BYTES as u32).to_le_bytes().to_vec();
        bytes.extend_from_slice(&[1; 10]);
        let (mut tx, rx) = tokio::io::duplex(1 << 20);
        tokio::io::AsyncWriteExt::write_all(&mut tx, &bytes)
            .await
            .unwrap();
        let mut r = FrameReader::new(rx);
        let pending = tokio::time::timeout(std::time::Duration::from_millis(20), r.next_frame());
        assert!(pending.await.is_err(), "the frame is incomplete");
        assert_eq!(r.buffer_bytes(), INITIAL_BUFFER_BYTES);
        assert!(r.partial_since().is_some());

        // Sent in full, it is assembled (growing in steps), and the memory is given back
        // once it has been handed out.
        let body = vec![7u8; MAX_FRAME_BYTES];
        let sender = tokio::spawn(async move {
            tokio::io::AsyncWriteExt::write_all(&mut tx, &body[10..])
                .await
                .unwrap();
            let mut small = Vec::new();
            write_frame(&mut small, |b| b.extend_from_slice(b"next"));
            tokio::io::AsyncWriteExt::write_all(&mut tx, &small)
                .await
                .unwrap();
        });
        assert_eq!(
            r.next_frame().await.unwrap().unwrap().len(),
            MAX_FRAME_BYTES
        );
        assert_eq!(r.next_frame().await.unwrap().unwrap(), b"next");
        sender.await.unwrap();
        assert!(r.partial_since().is_none());
        let _ = tokio::time::timeout(std::time::Duration::from_millis(5), r.next_frame()).await;
        assert_eq!(r.buffer_bytes(), INITIAL_BUFFER_BYTES);
    }

    #[tokio::test]
    async fn an_end_of_stream_inside_a_frame_is_an_error() {
        let mut bytes = frames(&[b"hello"]);
        bytes.pop();
        let mut r = FrameReader::new(&bytes[..]);
        assert!(matches!(r.next_frame().await, Err(WireError::Malformed(_))));
    }
}

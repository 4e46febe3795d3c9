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
/// tells the caller whether it can process a whole batch before blocking. A header that
/// claims more than [`MAX_FRAME_BYTES`] is rejected before anything is allocated for it.
pub struct FrameReader<R> {
    inner: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

const INITIAL_BUFFER_BYTES: usize = 64 << 10;

impl<R: AsyncRead + Unpin> FrameReader<R> {
    /// A reader over `inner`.
    pub fn new(inner: R) -> FrameReader<R> {
        FrameReader {
            inner,
            buf: vec![0; INITIAL_BUFFER_BYTES],
            start: 0,
            end: 0,
        }
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
            // The slice stays valid: the bytes are still there until the next read.
            return Ok(Some(body..body + len));
        }
        Ok(Some(body..body + len))
    }

    /// Reads more bytes; false on end of stream.
    async fn fill(&mut self) -> Result<bool, WireError> {
        // Make room for at least the frame being assembled (its header is known once four
        // bytes are in), moving the partial frame to the front when that suffices.
        let need = match self.peek_len()? {
            Some(len) => FRAME_HEADER_BYTES + len,
            None => FRAME_HEADER_BYTES,
        };
        if self.buf.len() - self.start < need || self.end == self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if self.buf.len() < need {
                self.buf.resize(need, 0);
            }
        }
        let n = self.inner.read(&mut self.buf[self.end..]).await?;
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
    async fn an_end_of_stream_inside_a_frame_is_an_error() {
        let mut bytes = frames(&[b"hello"]);
        bytes.pop();
        let mut r = FrameReader::new(&bytes[..]);
        assert!(matches!(r.next_frame().await, Err(WireError::Malformed(_))));
    }
}

//! The primitive encodings every frame and log record is built from: single bytes,
//! LEB128 varints and length-prefixed byte strings.
//!
//! Decoding never panics and never allocates more than the input holds: every length is
//! checked against the bytes that remain and against a caller-given limit before it is
//! used.

use super::WireError;
use crate::kv::core::{Consistency, Version, Versioned};

/// Appends encodings to a byte buffer. Encoding cannot fail.
pub(crate) struct Enc<'a>(pub(crate) &'a mut Vec<u8>);

impl Enc<'_> {
    pub(crate) fn u8(&mut self, v: u8) {
        self.0.push(v);
    }

    /// LEB128: 7 bits a byte, low bits first; 1 byte below 128, at most 10.
    pub(crate) fn var(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    pub(crate) fn bool(&mut self, v: bool) {
        self.u8(u8::from(v));
    }

    pub(crate) fn bytes(&mut self, v: &[u8]) {
        self.var(v.len() as u64);
        self.0.extend_from_slice(v);
    }

    pub(crate) fn str(&mut self, v: &str) {
        self.bytes(v.as_bytes());
    }

    pub(crate) fn opt_node(&mut self, v: Option<u32>) {
        // 0 is never a valid encoding of `Some`, so `None` costs one byte.
        self.var(v.map_or(0, |n| u64::from(n) + 1));
    }

    pub(crate) fn version(&mut self, v: &Version) {
        self.var(v.counter);
        self.var(u64::from(v.node));
        self.var(u64::from(v.incarnation));
    }

    pub(crate) fn versioned(&mut self, v: &Versioned<String>) {
        self.version(&v.version);
        self.str(&v.value);
    }

    pub(crate) fn opt_versioned(&mut self, v: Option<&Versioned<String>>) {
        match v {
            None => self.u8(0),
            Some(v) => {
                self.u8(1);
                self.versioned(v);
            }
        }
    }

    pub(crate) fn consistency(&mut self, c: Consistency) {
        self.u8(match c {
            Consistency::One => 1,
            Consistency::Quorum => 2,
            Consistency::All => 3,
        });
    }
}

/// Reads encodings from a byte slice, front to back.
pub(crate) struct Dec<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Dec<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Dec<'a> {
        Dec { buf, pos: 0 }
    }

    /// Fails unless every byte was consumed: trailing garbage means the sender and we
    /// disagree about the format, and guessing would be worse than refusing.
    pub(crate) fn finish(self) -> Result<(), WireError> {
        if self.pos == self.buf.len() {
            Ok(())
        } else {
            Err(WireError::Malformed(format!(
                "{} unexpected bytes after the end of the message",
                self.buf.len() - self.pos
            )))
        }
    }

    pub(crate) fn u8(&mut self) -> Result<u8, WireError> {
        let b = *self.buf.get(self.pos).ok_or_else(truncated)?;
        self.pos += 1;
        Ok(b)
    }

    pub(crate) fn var(&mut self) -> Result<u64, WireError> {
        let mut v: u64 = 0;
        for i in 0..10 {
            let b = self.u8()?;
            let bits = u64::from(b & 0x7f);
            if i == 9 && bits > 1 {
                return Err(WireError::Malformed("varint overflows 64 bits".into()));
            }
            v |= bits << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(WireError::Malformed("varint longer than 10 bytes".into()))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, WireError> {
        let v = self.var()?;
        u32::try_from(v).map_err(|_| WireError::Malformed(format!("{v} does not fit in 32 bits")))
    }

    pub(crate) fn bool(&mut self) -> Result<bool, WireError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(WireError::Malformed(format!("{b} is not a boolean"))),
        }
    }

    /// A length-prefixed byte string of at most `max` bytes; `what` names it in errors.
    pub(crate) fn bytes(&mut self, max: usize, what: &str) -> Result<&'a [u8], WireError> {
        let len = self.var()?;
        if len > max as u64 {
            return Err(WireError::Malformed(format!(
                "{what} of {len} bytes exceeds the limit of {max} bytes"
            )));
        }
        let len = len as usize;
        let end = self.pos.checked_add(len).ok_or_else(truncated)?;
        let bytes = self.buf.get(self.pos..end).ok_or_else(truncated)?;
        self.pos = end;
        Ok(bytes)
    }

    pub(crate) fn str(&mut self, max: usize, what: &str) -> Result<String, WireError> {
        let bytes = self.bytes(max, what)?;
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(s.to_owned()),
            Err(_) => Err(WireError::Malformed(format!("{what} is not valid UTF-8"))),
        }
    }

    pub(crate) fn opt_node(&mut self) -> Result<Option<u32>, WireError> {
        match self.var()? {
            0 => Ok(None),
            n => u32::try_from(n - 1)
                .map(Some)
                .map_err(|_| WireError::Malformed(format!("node id {} out of range", n - 1))),
        }
    }

    pub(crate) fn version(&mut self) -> Result<Version, WireError> {
        Ok(Version {
            counter: self.var()?,
            node: self.u32()?,
            incarnation: self.u32()?,
        })
    }

    pub(crate) fn versioned(&mut self) -> Result<Versioned<String>, WireError> {
        let version = self.version()?;
        let value = self.str(super::MAX_VALUE_BYTES, "value")?;
        Ok(Versioned { version, value })
    }

    pub(crate) fn opt_versioned(&mut self) -> Result<Option<Versioned<String>>, WireError> {
        match self.u8()? {
            0 => Ok(None),
            1 => self.versioned().map(Some),
            b => Err(WireError::Malformed(format!(
                "{b} is not an optional-value tag"
            ))),
        }
    }

    pub(crate) fn consistency(&mut self) -> Result<Consistency, WireError> {
        match self.u8()? {
            1 => Ok(Consistency::One),
            2 => Ok(Consistency::Quorum),
            3 => Ok(Consistency::All),
            b => Err(WireError::Malformed(format!(
                "{b} is not a consistency level (1 one, 2 quorum, 3 all)"
            ))),
        }
    }
}

fn truncated() -> WireError {
    WireError::Malformed("message ends in the middle of a field".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_at_every_width() {
        let values = [0, 1, 127, 128, 300, u32::MAX as u64, u64::MAX - 1, u64::MAX];
        for v in values {
            let mut buf = Vec::new();
            Enc(&mut buf).var(v);
            let mut d = Dec::new(&buf);
            assert_eq!(d.var().unwrap(), v);
            d.finish().unwrap();
        }
    }

    #[test]
    fn overlong_and_overflowing_varints_are_rejected() {
        assert!(Dec::new(&[0xff; 11]).var().is_err());
        // Ten bytes whose last one carries more than the 64th bit.
        let mut buf = vec![0xff; 9];
        buf.push(0x02);
        assert!(Dec::new(&buf).var().is_err());
    }

    #[test]
    fn a_length_beyond_the_input_or_the_limit_is_an_error_not_an_allocation() {
        let mut buf = Vec::new();
        Enc(&mut buf).var(u64::MAX / 2);
        assert!(Dec::new(&buf).bytes(usize::MAX, "key").is_err());
        let mut buf = Vec::new();
        Enc(&mut buf).str("hello");
        let err = Dec::new(&buf).bytes(4, "key").unwrap_err();
        assert!(err
            .to_string()
            .contains("key of 5 bytes exceeds the limit of 4"));
    }

    #[test]
    fn invalid_utf8_is_rejected() {
        let mut buf = Vec::new();
        Enc(&mut buf).bytes(&[0xc3, 0x28]);
        assert!(Dec::new(&buf).str(10, "key").is_err());
    }
}

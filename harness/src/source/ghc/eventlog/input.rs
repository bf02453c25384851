//! `Input`: a read buffer that keeps one whole event contiguous and knows its byte offset.
//!
//! It does what a `BufReader` does, plus two things the event loop needs: `fill(n)` guarantees
//! `n` contiguous bytes (an event is at most 2 + 8 + 2 + 65535 bytes, so a fixed buffer always
//! suffices and memory stays constant), and EOF before `n` bytes is reported as `false` rather
//! than an error, because a short read at the end is a truncated log, not a failure.

use std::io::{self, Read};

/// Large enough for any event (≤ 65547 bytes), and small enough that what a read copies in is
/// still in the L2 cache when it is parsed (1 MiB was measurably slower).
const CAPACITY: usize = 1 << 18;

pub(crate) struct Input<R> {
    inner: R,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    /// Absolute offset of `buf[start]` in the stream.
    offset: u64,
    eof: bool,
}

impl<R: Read> Input<R> {
    pub(crate) fn new(inner: R) -> Self {
        Input {
            inner,
            buf: vec![0; CAPACITY].into_boxed_slice(),
            start: 0,
            end: 0,
            offset: 0,
            eof: false,
        }
    }

    /// Makes `n` (≤ the capacity) contiguous bytes available; `false` if the stream ends first.
    #[inline]
    pub(crate) fn fill(&mut self, n: usize) -> io::Result<bool> {
        debug_assert!(n <= CAPACITY);
        if self.end - self.start >= n {
            return Ok(true);
        }
        self.refill(n)
    }

    /// `fill`'s slow path, kept out of line so that the per-event check inlines.
    #[cold]
    #[inline(never)]
    fn refill(&mut self, n: usize) -> io::Result<bool> {
        if self.start + n > CAPACITY {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        while self.end - self.start < n {
            if self.eof {
                return Ok(false);
            }
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(k) => self.end += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// The buffered bytes from the current offset on.
    #[inline]
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Advances past `n` buffered bytes.
    #[inline]
    pub(crate) fn consume(&mut self, n: usize) {
        debug_assert!(n <= self.end - self.start);
        self.start += n;
        self.offset += n as u64;
    }

    /// Skips `n` bytes, buffered or not; `false` if the stream ends first.
    pub(crate) fn skip(&mut self, mut n: u64) -> io::Result<bool> {
        loop {
            let have = (self.end - self.start) as u64;
            if have >= n {
                self.consume(n as usize);
                return Ok(true);
            }
            self.consume(have as usize);
            n -= have;
            if !self.fill(1)? {
                return Ok(false);
            }
        }
    }

    /// The absolute offset of the next unread byte.
    #[inline]
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// Reads a big-endian u32; `None` at the end of the stream.
    pub(crate) fn u32(&mut self) -> io::Result<Option<u32>> {
        if !self.fill(4)? {
            return Ok(None);
        }
        let v = be_u32(self.bytes());
        self.consume(4);
        Ok(Some(v))
    }

    /// Reads a big-endian u16; `None` at the end of the stream.
    pub(crate) fn u16(&mut self) -> io::Result<Option<u16>> {
        if !self.fill(2)? {
            return Ok(None);
        }
        let v = be_u16(self.bytes());
        self.consume(2);
        Ok(Some(v))
    }
}

#[inline]
pub(crate) fn be_u16(b: &[u8]) -> u16 {
    // One bounds check, then none.
    let b = &b[..2];
    u16::from_be_bytes([b[0], b[1]])
}

#[inline]
pub(crate) fn be_u32(b: &[u8]) -> u32 {
    let b = &b[..4];
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

#[inline]
pub(crate) fn be_u64(b: &[u8]) -> u64 {
    let b = &b[..8];
    u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out one byte per call, to exercise refills.
    struct Trickle<'a>(&'a [u8]);
    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() || buf.is_empty() {
                return Ok(0);
            }
            buf[0] = self.0[0];
            self.0 = &self.0[1..];
            Ok(1)
        }
    }

    #[test]
    fn fills_skips_and_counts() {
        let data: Vec<u8> = (0..=255).collect();
        let mut input = Input::new(Trickle(&data));
        assert_eq!(input.u16().unwrap(), Some(0x0001));
        assert!(input.skip(100).unwrap());
        assert_eq!(input.offset(), 102);
        assert!(input.fill(10).unwrap());
        assert_eq!(input.bytes()[0], 102);
        assert!(!input.fill(1000).unwrap());
        assert!(!input.skip(1000).unwrap());
    }
}

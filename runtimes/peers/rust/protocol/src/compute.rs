//! Compute (runtimes/protocol/compute.cpp): each client line `<kib>` (decimal, 0..65536) asks for
//! `compute_digest(kib)`, answered as 16 lowercase hex digits; a malformed line gets `ERR <reason>`; a line over the
//! limit closes the connection. The digest must be bit-identical to tvt::protocol::compute_digest (tests check the
//! shared vectors).
use crate::chat::append_error;
use crate::line_splitter::{LineSplitter, Split};
use crate::session::{Session, Verdict};
use crate::Limits;

pub const MAX_COMPUTE_KIB: u32 = 65536;

const FNV_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

const fn make_pattern() -> [u8; 1024] {
    let mut p = [0u8; 1024];
    let mut i = 0;
    while i < p.len() {
        p[i] = ((i * 167 + 13) & 0xff) as u8;
        i += 1;
    }
    p
}
const PATTERN: [u8; 1024] = make_pattern();

/// FNV-1a (64-bit) over `kib` KiB of a fixed byte pattern: a serial multiply chain no compiler can vectorise.
pub fn compute_digest(kib: u32) -> u64 {
    let mut h = FNV_OFFSET_BASIS;
    for _ in 0..kib {
        for &byte in PATTERN.iter() {
            h ^= u64::from(byte);
            h = h.wrapping_mul(FNV_PRIME);
        }
    }
    h
}

/// `line` without its '\n'. Accepts only decimal digits (no sign, no spaces), value 0..MAX_COMPUTE_KIB.
pub fn parse_compute_line(line: &[u8]) -> Result<u32, &'static str> {
    if line.is_empty() {
        return Err("empty request");
    }
    if line.len() > 10 {
        return Err("kib out of range");
    }
    if !line.iter().all(u8::is_ascii_digit) {
        return Err("kib must be decimal digits");
    }
    let kib = line.iter().fold(0u64, |n, &c| n * 10 + u64::from(c - b'0'));
    if kib > u64::from(MAX_COMPUTE_KIB) {
        return Err("kib out of range");
    }
    Ok(kib as u32)
}

/// Appends `<16 lowercase hex digits>\n`.
pub fn append_digest(out: &mut Vec<u8>, mut digest: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut text = [b'\n'; 17];
    for digit in text[..16].iter_mut().rev() {
        *digit = HEX[(digest & 0xf) as usize];
        digest >>= 4;
    }
    out.extend_from_slice(&text);
}

/// The whole compute protocol as a Session, computing inline (no offload in the peers).
pub struct ComputeSession {
    lines: LineSplitter,
    close_reason: &'static str,
}

impl ComputeSession {
    pub fn new(limits: &Limits) -> Self {
        ComputeSession { lines: LineSplitter::new(limits.max_line_bytes), close_reason: "" }
    }
}

impl Session for ComputeSession {
    fn consume(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> Verdict {
        loop {
            match self.lines.next(&mut input) {
                Split::NeedMore => return Verdict::KeepOpen,
                Split::TooLong => {
                    self.close_reason = "compute line over the limit";
                    return Verdict::Close;
                }
                Split::Line(line) => match parse_compute_line(line) {
                    Ok(kib) => append_digest(out, compute_digest(kib)),
                    Err(reason) => append_error(out, reason),
                },
            }
        }
    }
    fn close_reason(&self) -> &'static str {
        self.close_reason
    }
    fn has_partial(&self) -> bool {
        self.lines.has_partial()
    }
}

//! Masking output as it streams: a secret may arrive in two reads. Output is
//! let through a line at a time (as the log was written before masking); a line
//! longer than [`HOLD_LIMIT`] is let through in pieces, holding back what could
//! still be the start of a secret and never cutting through one.

use super::Masker;

/// The most of an unfinished line held back before part of it is written.
pub const HOLD_LIMIT: usize = 64 * 1024;

pub struct MaskedStream {
    masker: Masker,
    pending: Vec<u8>,
    hold_limit: usize,
}

impl MaskedStream {
    pub fn new(masker: Masker) -> MaskedStream {
        MaskedStream::with_hold_limit(masker, HOLD_LIMIT)
    }

    fn with_hold_limit(masker: Masker, hold_limit: usize) -> MaskedStream {
        MaskedStream {
            masker,
            pending: Vec::new(),
            hold_limit,
        }
    }

    /// Takes the next bytes of output; returns what can be written now, masked.
    pub fn push(&mut self, data: &[u8]) -> Vec<u8> {
        self.masker = self.masker.refreshed();
        self.pending.extend_from_slice(data);
        let len = self.pending.len();
        let mut cut = self
            .pending
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
        if len - cut > self.hold_limit {
            // A long line: keep back only what could be the start of a secret.
            cut = len - self.masker.longest().saturating_sub(1).min(len);
        }
        let cut = self.masker.safe_cut(&self.pending, cut);
        let out = self.masker.mask(&self.pending[..cut]).into_owned();
        self.pending.drain(..cut);
        out
    }

    /// The output ended: whatever is left, masked.
    pub fn finish(&mut self) -> Vec<u8> {
        self.masker = self.masker.refreshed();
        let out = self.masker.mask(&self.pending).into_owned();
        self.pending.clear();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::Secrets;
    use super::*;

    fn run(stream: &mut MaskedStream, pieces: &[&str]) -> String {
        let mut out = Vec::new();
        for piece in pieces {
            out.extend(stream.push(piece.as_bytes()));
        }
        out.extend(stream.finish());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_secret_split_between_reads_is_still_masked() {
        let secrets = Secrets::new();
        secrets.add("hunter22", true);
        let mut stream = MaskedStream::new(secrets.masker());
        assert_eq!(stream.push(b"pw=hun"), b"", "an unfinished line waits");
        assert_eq!(stream.push(b"ter22\nnext "), b"pw=***\n");
        assert_eq!(stream.finish(), b"next ");
    }

    #[test]
    fn a_long_line_goes_out_in_pieces_without_cutting_a_secret() {
        let secrets = Secrets::new();
        secrets.add("hunter22", true);
        let mut stream = MaskedStream::with_hold_limit(secrets.masker(), 16);
        let first = stream.push(b"aaaaaaaaaaaaaaaaaaaahunt");
        assert!(
            !first.is_empty(),
            "past the limit, part of the line is written"
        );
        assert!(!String::from_utf8_lossy(&first).contains("hunt"));
        let rest = run(&mut stream, &["er22bbbbbbbbbbbbbbbbbbbbhunter", "22"]);
        let all = format!("{}{rest}", String::from_utf8_lossy(&first));
        assert_eq!(all, format!("{}***{}***", "a".repeat(20), "b".repeat(20)));
    }

    #[test]
    fn lines_of_a_multi_line_secret_are_masked_one_by_one() {
        let secrets = Secrets::new();
        secrets.add("-----BEGIN-----\nMIIEvQIBADANBg\n-----END-----", true);
        let mut stream = MaskedStream::new(secrets.masker());
        let out = run(
            &mut stream,
            &["key:\n-----BEGIN-----\nMIIE", "vQIBADANBg\n-----END-----\n"],
        );
        assert_eq!(out, "key:\n***\n***\n***\n");
    }
}

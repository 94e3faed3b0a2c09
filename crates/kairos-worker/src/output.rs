//! An attempt's stdout and stderr copied into its log through the secrets
//! masker (a secret split between two reads is still masked), stdout's last
//! line kept as Airflow's BashOperator `return_value`.

use std::path::PathBuf;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use crate::mask::{MaskedStream, Masker};

/// Copies `from` into `log` until it ends; returns the last non-empty line read
/// when `keep_last` (unmasked: it is the task's return value, data the task chose
/// to hand on, as in Airflow).
pub async fn pump<R: AsyncRead + Unpin>(
    mut from: R,
    log: std::fs::File,
    log_path: PathBuf,
    masker: Masker,
    keep_last: bool,
) -> Option<String> {
    let mut log = LogWriter {
        file: tokio::fs::File::from_std(log),
        path: log_path,
        failed: false,
    };
    let mut stream = MaskedStream::new(masker);
    let mut last = LastLine::default();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match from.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => {
                if keep_last {
                    last.push(&buf[..n]);
                }
                log.write(&stream.push(&buf[..n])).await;
            }
            Err(e) => {
                tracing::warn!(log = %log.path.display(), "cannot read an attempt's output any further: {e}");
                break;
            }
        }
    }
    log.write(&stream.finish()).await;
    if let Err(e) = log.file.flush().await {
        tracing::warn!(log = %log.path.display(), "cannot write an attempt's output to its log: {e}");
    }
    last.take()
}

/// The log, whose first failed write is logged; the output is still read to the
/// end after one (the process must not block on a full pipe).
struct LogWriter {
    file: tokio::fs::File,
    path: PathBuf,
    failed: bool,
}

impl LogWriter {
    async fn write(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if let Err(e) = self.file.write_all(bytes).await {
            if !self.failed {
                tracing::warn!(log = %self.path.display(), "cannot write an attempt's output to its log: {e}");
                self.failed = true;
            }
        }
    }
}

/// The last line of a byte stream, holding no more than one line.
#[derive(Default)]
struct LastLine {
    /// The line being read.
    current: Vec<u8>,
    /// The last complete line.
    done: Option<Vec<u8>>,
}

impl LastLine {
    fn push(&mut self, bytes: &[u8]) {
        for piece in bytes.split_inclusive(|b| *b == b'\n') {
            self.current.extend_from_slice(piece);
            if piece.ends_with(b"\n") {
                self.done = Some(std::mem::take(&mut self.current));
            }
        }
    }

    /// As the line reader before it: the last line, trailing whitespace trimmed.
    fn take(self) -> Option<String> {
        let line = if self.current.is_empty() {
            self.done?
        } else {
            self.current
        };
        Some(String::from_utf8_lossy(&line).trim_end().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_line_is_kept_across_reads() {
        let mut last = LastLine::default();
        last.push(b"one\ntw");
        last.push(b"o\n");
        assert_eq!(last.take().as_deref(), Some("two"));
        let mut last = LastLine::default();
        last.push(b"one\ntwo");
        assert_eq!(last.take().as_deref(), Some("two"));
        assert_eq!(LastLine::default().take(), None);
    }
}

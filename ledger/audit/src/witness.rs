//! The signed checkpoints outside the database: every checkpoint, once Vault signed it, is
//! appended (and synced) to a file that the database's owner cannot rewrite along with the
//! chain (another disk, another machine's mount, an append-only file). Verification holds the
//! chain to the checkpoints found there as well as those in `audit_checkpoints`, so deleting
//! recent checkpoints from the database and rewriting the tail of the chain is caught.
//!
//! One line per checkpoint: `<size> <head hash, hex> <signature>`.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::chain::ChainHash;

/// A signed checkpoint as the witness file holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessedCheckpoint {
    pub size: u64,
    pub head: ChainHash,
    /// Vault's signature of [`crate::checkpoint_message`].
    pub signature: String,
}

impl WitnessedCheckpoint {
    /// Its line in the file.
    pub fn line(&self) -> String {
        format!("{} {} {}\n", self.size, self.head.to_hex(), self.signature)
    }
}

/// The checkpoints in a witness file's text; a line that cannot be read is named (1-based).
pub fn parse(text: &str) -> Result<Vec<WitnessedCheckpoint>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = || {
            format!(
                "line {} of the checkpoint witness is not SIZE HEAD SIGNATURE",
                n + 1
            )
        };
        let mut parts = line.split_whitespace();
        let (Some(size), Some(head), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        out.push(WitnessedCheckpoint {
            size: size.parse().map_err(|_| bad())?,
            head: ChainHash::from_hex(head).ok_or_else(bad)?,
            signature: signature.to_owned(),
        });
    }
    Ok(out)
}

/// The witness file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointLog {
    path: PathBuf,
}

impl CheckpointLog {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        CheckpointLog { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `checkpoint` and waits until it is on disk.
    pub fn append(&self, checkpoint: &WitnessedCheckpoint) -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        file.write_all(checkpoint.line().as_bytes())?;
        file.sync_data()
    }

    /// Every checkpoint in the file (none while there is no file).
    pub fn read(&self) -> std::io::Result<Vec<WitnessedCheckpoint>> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        parse(&text).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_read_back_and_a_bad_line_is_named() {
        let checkpoint = WitnessedCheckpoint {
            size: 42,
            head: ChainHash([7; 32]),
            signature: "vault:v1:c2lnbmF0dXJl".into(),
        };
        let text = format!("{}\n{}", checkpoint.line(), checkpoint.line());
        assert_eq!(parse(&text), Ok(vec![checkpoint.clone(), checkpoint]));
        for bad in ["42", "x 0707 vault:v1:a", "42 nothex vault:v1:a", "1 2 3 4"] {
            let refused = parse(&format!("\n{bad}\n")).expect_err(bad);
            assert!(refused.contains("line 2"), "{refused}");
        }
    }

    #[test]
    fn a_file_is_appended_to_and_read_whole() {
        let dir = std::env::temp_dir().join(format!("witness-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).expect("dir");
        let log = CheckpointLog::new(dir.join("checkpoints"));
        assert_eq!(log.read().expect("none yet"), Vec::new());
        let first = WitnessedCheckpoint {
            size: 1,
            head: ChainHash([1; 32]),
            signature: "vault:v1:AA".into(),
        };
        let second = WitnessedCheckpoint {
            size: 2,
            head: ChainHash([2; 32]),
            signature: "vault:v1:AB".into(),
        };
        log.append(&first).expect("append");
        log.append(&second).expect("append");
        assert_eq!(log.read().expect("read"), vec![first, second]);
        std::fs::remove_dir_all(&dir).expect("clean");
    }
}

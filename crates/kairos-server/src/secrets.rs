//! Variables encrypted at rest: the API (and nothing inside the state machine)
//! seals a value with AES-256-GCM before proposing it, so the Raft log, the
//! RocksDB state and snapshots hold only ciphertext. The key comes from the
//! servers' `variables_key_file` (64 hex digits); the variable's name is bound in
//! as associated data, so a sealed value cannot be moved to another name.

use std::path::Path;

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

/// Sealed values start with this, so a format change can be told apart.
const PREFIX: &str = "v1:";

#[derive(Clone)]
pub struct VariableKey {
    key: std::sync::Arc<LessSafeKey>,
}

impl std::fmt::Debug for VariableKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VariableKey(..)")
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

impl VariableKey {
    pub fn from_hex(text: &str) -> Result<VariableKey, String> {
        let bytes = unhex(text.trim())
            .filter(|b| b.len() == 32)
            .ok_or("the variables key must be 64 hex digits (32 bytes); make one with `openssl rand -hex 32`")?;
        let unbound =
            UnboundKey::new(&AES_256_GCM, &bytes).map_err(|_| "the variables key is not usable")?;
        Ok(VariableKey {
            key: std::sync::Arc::new(LessSafeKey::new(unbound)),
        })
    }

    pub fn from_file(path: &Path) -> Result<VariableKey, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        VariableKey::from_hex(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The name a Variable is sealed under (bound in as associated data): its
    /// key, or `TEAM\0KEY` for a team's, so a sealed value cannot be moved from
    /// one team to another, or to a cluster-wide Variable, and still open.
    pub fn sealed_name(team: Option<&str>, key: &str) -> String {
        match team {
            None => key.to_string(),
            Some(team) => format!("{team}\0{key}"),
        }
    }

    /// `v1:<hex of nonce and ciphertext>`.
    pub fn seal(&self, name: &str, value: &str) -> Result<String, String> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| "no randomness for a nonce")?;
        let mut data = value.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(name.as_bytes()),
                &mut data,
            )
            .map_err(|_| "sealing the variable failed")?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(format!("{PREFIX}{}", hex(&out)))
    }

    pub fn open(&self, name: &str, sealed: &str) -> Result<String, String> {
        let bad = || {
            format!(
                "variable `{name}` cannot be decrypted with this key (a different key, or damaged)"
            )
        };
        let bytes = sealed
            .strip_prefix(PREFIX)
            .and_then(unhex)
            .ok_or_else(bad)?;
        if bytes.len() < NONCE_LEN {
            return Err(bad());
        }
        let (nonce, data) = bytes.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| bad())?;
        let mut data = data.to_vec();
        let plain = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(name.as_bytes()),
                &mut data,
            )
            .map_err(|_| bad())?;
        String::from_utf8(plain.to_vec()).map_err(|_| bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_name() {
        let key = VariableKey::from_hex(&"ab".repeat(32)).unwrap();
        let sealed = key.seal("db_password", "hunter2").unwrap();
        assert!(sealed.starts_with("v1:") && !sealed.contains("hunter2"));
        assert_ne!(
            sealed,
            key.seal("db_password", "hunter2").unwrap(),
            "a fresh nonce each time"
        );
        assert_eq!(key.open("db_password", &sealed).unwrap(), "hunter2");
        assert!(key.open("other_name", &sealed).is_err());
        let other = VariableKey::from_hex(&"cd".repeat(32)).unwrap();
        assert!(
            other
                .open("db_password", &sealed)
                .unwrap_err()
                .contains("cannot be decrypted")
        );
        assert!(
            VariableKey::from_hex("1234")
                .unwrap_err()
                .contains("64 hex digits")
        );
    }
}

//! Attempt tokens: 128 bits from the operating system's secure random source,
//! drawn by the leader where it builds a `Dispatch` and replicated in the log, so
//! that nobody who sees the log position or the try number can forge a report.

use ring::rand::{SecureRandom, SystemRandom};

/// A new attempt token: 32 lowercase hex digits.
pub fn attempt_token() -> Result<String, String> {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| "the system's random source failed; no attempt token was drawn".to_string())?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

pub use kairos_dag::identity::token_tag;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_128_bit_hex_and_differ() {
        let a = attempt_token().unwrap();
        let b = attempt_token().unwrap();
        assert_eq!(a.len(), 32);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_ne!(a, b);
    }

    #[test]
    fn a_tag_names_a_token_without_containing_it() {
        let token = attempt_token().unwrap();
        let tag = token_tag(&token);
        assert_eq!(tag.len(), 8);
        assert!(!token.contains(&tag) || token_tag(&token) == tag);
        assert_eq!(token_tag(&token), tag);
    }
}

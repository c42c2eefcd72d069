//! API key secrets: generation, parsing and hashing.
//!
//! A key reads `shk_<id>_<secret>`: `shk_` makes leaked keys greppable (secret scanners
//! match it), `<id>` is 12 hex digits that name the key in listings, logs and the audit log,
//! and `<secret>` is 256 random bits in hex, shown once at creation. The store keeps only
//! HMAC-SHA256(key = id, message = secret).
//!
//! A fast hash is enough here because the secret is random, not chosen by a person: there
//! is no dictionary to try, so a stolen hash can only be attacked by guessing 2^256 secrets,
//! and a slow password hash (argon2, bcrypt) would add nothing but milliseconds to every
//! uncached authentication. Keying the hash with the id binds each hash to its key, so a
//! hash copied onto another key's row verifies nothing.

use std::fmt;

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The prefix every API key starts with.
pub const KEY_PREFIX: &str = "shk_";
/// Hex digits of a key's id.
const ID_LEN: usize = 12;
/// Bytes of randomness in a key's secret.
const SECRET_BYTES: usize = 32;
/// Length of a whole key: prefix, id, `_`, secret in hex.
pub const KEY_LEN: usize = KEY_PREFIX.len() + ID_LEN + 1 + 2 * SECRET_BYTES;

/// A key as a client presents it, parsed but not yet verified. Its `Debug` hides the secret.
pub struct PresentedKey<'a> {
    /// The key's public id, such as `shk_0123456789ab`.
    pub id: &'a str,
    secret: &'a str,
}

impl fmt::Debug for PresentedKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PresentedKey({}_…)", self.id)
    }
}

/// Why a presented key is not even well-formed. The message never repeats the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed API key: {0}")]
pub struct MalformedKey(&'static str);

impl<'a> PresentedKey<'a> {
    /// Parses `shk_<12 hex>_<64 hex>`, refusing anything else without reading past
    /// [`KEY_LEN`] bytes.
    pub fn parse(key: &'a str) -> Result<Self, MalformedKey> {
        if key.len() != KEY_LEN {
            return Err(MalformedKey("wrong length: keys are 81 characters long"));
        }
        if !key.starts_with(KEY_PREFIX) {
            return Err(MalformedKey("keys start with shk_"));
        }
        let id_end = KEY_PREFIX.len() + ID_LEN;
        if key.as_bytes()[id_end] != b'_' {
            return Err(MalformedKey("expected shk_<id>_<secret>"));
        }
        let (id, secret) = (&key[..id_end], &key[id_end + 1..]);
        let hex = |s: &str| s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !hex(&id[KEY_PREFIX.len()..]) || !hex(secret) {
            return Err(MalformedKey("the id and secret are lowercase hex"));
        }
        Ok(Self { id, secret })
    }

    /// Whether the secret hashes to `stored`, compared in constant time.
    pub fn verify(&self, stored: &[u8]) -> bool {
        key_hash(self.id, self.secret).ct_eq(stored).into()
    }
}

/// A freshly generated key: the whole key (to show once) and what the store keeps.
pub struct NewKey {
    /// The whole key, `shk_<id>_<secret>`; shown to its owner once and never stored.
    pub key: String,
    /// The public id, `shk_<id>`.
    pub id: String,
    /// HMAC-SHA256 of the secret, keyed by the id.
    pub hash: Vec<u8>,
}

impl fmt::Debug for NewKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewKey").field("id", &self.id).finish()
    }
}

impl NewKey {
    /// A new key from the operating system's random generator.
    pub fn generate() -> Self {
        let mut rng = rand::rngs::OsRng;
        let mut id = [0u8; ID_LEN / 2];
        let mut secret = [0u8; SECRET_BYTES];
        rng.fill_bytes(&mut id);
        rng.fill_bytes(&mut secret);
        let id = format!("{KEY_PREFIX}{}", hex(&id));
        let secret = hex(&secret);
        Self {
            key: format!("{id}_{secret}"),
            hash: key_hash(&id, &secret),
            id,
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn key_hash(id: &str, secret: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(id.as_bytes()).expect("HMAC takes any key");
    mac.update(secret.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Whether two secrets are equal, in time that depends only on their lengths.
pub fn secrets_equal(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_generated_key_parses_and_verifies_against_its_hash_only() {
        let k = NewKey::generate();
        assert_eq!(k.key.len(), KEY_LEN);
        let p = PresentedKey::parse(&k.key).unwrap();
        assert_eq!(p.id, k.id);
        assert!(p.verify(&k.hash));
        let other = NewKey::generate();
        assert!(!p.verify(&other.hash));
        assert_ne!(k.key, other.key);
        // The secret appears in no formatted form of either type.
        let secret = &k.key[k.id.len() + 1..];
        assert!(!format!("{k:?} {p:?}").contains(secret));
    }

    #[test]
    fn a_hash_is_bound_to_its_id() {
        let k = NewKey::generate();
        let secret = &k.key[k.id.len() + 1..];
        let moved = format!("shk_000000000000_{secret}");
        assert!(!PresentedKey::parse(&moved).unwrap().verify(&k.hash));
    }

    #[test]
    fn malformed_keys_are_refused() {
        let k = NewKey::generate().key;
        for bad in [
            String::new(),
            "shk_".into(),
            k.replace("shk_", "sk_x"),
            k.to_uppercase(),
            format!("{}-{}", &k[..16], &k[17..]),
            format!("{k}0"),
        ] {
            assert!(PresentedKey::parse(&bad).is_err(), "{bad}");
        }
    }

    proptest! {
        /// Parsing never panics, whatever the input, and accepts only the exact shape.
        #[test]
        fn parsing_any_string_never_panics(s in "\\PC{0,100}") {
            if let Ok(p) = PresentedKey::parse(&s) {
                prop_assert_eq!(s.len(), KEY_LEN);
                prop_assert!(p.id.starts_with(KEY_PREFIX));
            }
        }

        /// Any single-character change to a key's secret fails verification.
        #[test]
        fn a_changed_secret_does_not_verify(pos in 17usize..KEY_LEN, c in "[0-9a-f]") {
            let k = NewKey::generate();
            let mut changed = k.key.clone();
            changed.replace_range(pos..pos + 1, &c);
            let p = PresentedKey::parse(&changed).unwrap();
            prop_assert_eq!(p.verify(&k.hash), changed == k.key);
        }
    }
}

//! Anonymity: participant keys, pseudonyms and encrypted contact addresses.
//!
//! A participant is known only as `HMAC-SHA256(secret, platform ":" user_id)`. Pseudonyms
//! are derived per discussion from the key, so they are stable inside a discussion and
//! unlinkable across discussions. Contact addresses are sealed with XChaCha20-Poly1305
//! under a key derived from the same secret.

mod opened;
mod secret;
mod words;

pub use opened::Opened;
pub use secret::{load_secret, SecretSource};

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::error::{Error, Result};
use crate::ids::ParticipantKey;

type HmacSha256 = Hmac<Sha256>;

/// Keys derived from the deployment's secret.
#[derive(Clone)]
pub struct Identity {
    /// Each MAC keyed once: a clone starts from the key's padded blocks already hashed,
    /// which halves the hashing of a short input.
    participant: HmacSha256,
    pseudonym: HmacSha256,
    stores: HmacSha256,
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Identity(<secret>)")
    }
}

/// Lower-case hex of `bytes`, written into one buffer (`hex::encode` collects characters
/// one by one, and this runs for every message).
fn to_hex(bytes: &[u8]) -> String {
    let mut out = vec![0u8; bytes.len() * 2];
    // The buffer is exactly twice as long, so this cannot fail; hex digits are ASCII.
    if hex::encode_to_slice(bytes, &mut out).is_err() {
        return hex::encode(bytes);
    }
    String::from_utf8(out).unwrap_or_else(|_| hex::encode(bytes))
}

fn keyed(key: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!())
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    mac(&keyed(key), parts)
}

fn mac(keyed: &HmacSha256, parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = keyed.clone();
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

impl Identity {
    /// Derives the working keys from the secret's bytes.
    pub fn new(secret: &[u8]) -> Identity {
        let enc = hmac(secret, &[b"parley/contact-encryption/v1"]);
        Identity {
            participant: keyed(&hmac(secret, &[b"parley/participant-key/v1"])),
            pseudonym: keyed(&hmac(secret, &[b"parley/pseudonym/v1"])),
            stores: keyed(&hmac(secret, &[b"parley/adapter-stores/v1"])),
            cipher: XChaCha20Poly1305::new(&enc.into()),
        }
    }

    /// The participant key for a platform user: `HMAC(secret, platform ":" user_id)`.
    pub fn participant_key(&self, platform: chat::Platform, user_id: &str) -> ParticipantKey {
        let mac = mac(&self.participant, &[platform.as_str().as_bytes(), b":", user_id.as_bytes()]);
        ParticipantKey(to_hex(&mac))
    }

    /// The `attempt`-th candidate pseudonym of `key` in discussion `slug`. Attempt 0 is the
    /// usual name; later attempts resolve collisions inside the discussion.
    pub fn pseudonym(&self, key: &ParticipantKey, slug: &str, attempt: u32) -> String {
        let mac = mac(&self.pseudonym, &[key.0.as_bytes(), b":", slug.as_bytes(), b":", &attempt.to_be_bytes()]);
        let a = u32::from_be_bytes([mac[0], mac[1], mac[2], mac[3]]) as usize;
        let b = u32::from_be_bytes([mac[4], mac[5], mac[6], mac[7]]) as usize;
        let adjective = words::ADJECTIVES[a % words::ADJECTIVES.len()];
        let animal = words::ANIMALS[b % words::ANIMALS.len()];
        if attempt < 8 {
            format!("{adjective} {animal}")
        } else {
            // Astronomically unlikely; a number keeps the name unique whatever happens.
            format!("{adjective} {animal} {}", attempt - 7)
        }
    }

    /// A random candidate pseudonym, for when the participant's own is taken in a
    /// discussion (another participant has it, or they used `!forget` and it stays
    /// reserved). Random, so that successive names of one person cannot be linked and
    /// finding a free one costs the same however often they return; after `tries` failed
    /// candidates a random number is added, so a crowded discussion still finds one fast.
    pub fn random_pseudonym(&self, tries: u32) -> String {
        use rand::Rng;
        let mut rng = rand::rngs::OsRng;
        let adjective = words::ADJECTIVES[rng.gen_range(0..words::ADJECTIVES.len())];
        let animal = words::ANIMALS[rng.gen_range(0..words::ANIMALS.len())];
        if tries < 16 {
            format!("{adjective} {animal}")
        } else {
            format!("{adjective} {animal} {}", rng.gen_range(10..10_000))
        }
    }

    /// A passphrase for an adapter's own local store (e.g. the Matrix state and crypto
    /// stores, which hold member lists), derived from the secret so that nothing else has
    /// to be kept safe.
    pub fn adapter_store_passphrase(&self, adapter: &str) -> String {
        hex::encode(mac(&self.stores, &[adapter.as_bytes()]))
    }

    /// Encrypts a contact address for storage (hex of nonce ‖ ciphertext).
    pub fn seal(&self, plaintext: &str) -> String {
        let mut nonce = [0u8; 24];
        rand::thread_rng().fill_bytes(&mut nonce);
        // Encryption with a valid key and nonce only fails for absurd lengths.
        let ct = self.cipher.encrypt(XNonce::from_slice(&nonce), plaintext.as_bytes()).unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        to_hex(&out)
    }

    /// Decrypts what [`Identity::seal`] produced.
    pub fn open(&self, sealed: &str) -> Result<String> {
        let bytes = hex::decode(sealed).map_err(|_| Error::Decrypt)?;
        if bytes.len() < 24 {
            return Err(Error::Decrypt);
        }
        let (nonce, ct) = bytes.split_at(24);
        let pt = self.cipher.decrypt(XNonce::from_slice(nonce), ct).map_err(|_| Error::Decrypt)?;
        String::from_utf8(pt).map_err(|_| Error::Decrypt)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use chat::Platform;

    #[test]
    fn keys_are_stable_and_platform_scoped() {
        let id = Identity::new(b"0123456789abcdef0123456789abcdef");
        let a = id.participant_key(Platform::Matrix, "@alice:example.org");
        assert_eq!(a, id.participant_key(Platform::Matrix, "@alice:example.org"));
        assert_ne!(a, id.participant_key(Platform::Discord, "@alice:example.org"));
        assert!(!a.0.contains("alice"));
        let other = Identity::new(b"another secret another secret!!!");
        assert_ne!(a, other.participant_key(Platform::Matrix, "@alice:example.org"));
    }

    /// Stored keys must keep matching: the derivation is HMAC-SHA256 as documented
    /// (the expected values computed with Python's `hmac` module).
    #[test]
    fn keys_are_the_documented_hmac() {
        let id = Identity::new(b"0123456789abcdef0123456789abcdef");
        assert_eq!(
            id.participant_key(Platform::Matrix, "@alice:example.org").0,
            "41923557fc0cb0361f98ab1b7717ad86f5e73ef6c1b17ee0fcf84f5b857c2e80"
        );
        assert_eq!(
            id.adapter_store_passphrase("matrix"),
            "5800187b1b7776a4d82c19fc565deb3af2e7742381d67e9ba0b041d75451e395"
        );
    }

    #[test]
    fn pseudonyms_are_per_discussion() {
        let id = Identity::new(b"s3cret-s3cret-s3cret-s3cret-s3cr");
        let k = id.participant_key(Platform::Console, "alice");
        let p1 = id.pseudonym(&k, "gp-access", 0);
        assert_eq!(p1, id.pseudonym(&k, "gp-access", 0));
        assert_eq!(p1.split(' ').count(), 2);
        // Different discussions almost always differ; check over many keys.
        let differ = (0..100)
            .filter(|i| {
                let k = id.participant_key(Platform::Console, &format!("user{i}"));
                id.pseudonym(&k, "gp-access", 0) != id.pseudonym(&k, "urgent-care", 0)
            })
            .count();
        assert!(differ >= 99);
        assert_ne!(id.pseudonym(&k, "gp-access", 0), id.pseudonym(&k, "gp-access", 1));
    }

    #[test]
    fn seal_round_trips_and_hides_plaintext() {
        let id = Identity::new(b"s3cret-s3cret-s3cret-s3cret-s3cr");
        let sealed = id.seal("!dm-room:example.org");
        assert!(!sealed.contains("dm-room"));
        assert_ne!(sealed, id.seal("!dm-room:example.org"), "nonces must differ");
        assert_eq!(id.open(&sealed).unwrap(), "!dm-room:example.org");
        let other = Identity::new(b"another secret another secret!!!");
        assert!(other.open(&sealed).is_err());
    }
}

//! Sealed addresses already opened. Whether a stored sealed address opens to the address
//! a message came from never changes (a sealed text is fixed, and a new address is sealed
//! anew), so the answer is kept instead of decrypting the stored address at every message
//! of the same person (about 2 % of a group commit's instructions in callgrind). A fixed
//! table of hashes of both texts, made with the standard library's randomly keyed hasher
//! (a key random to the process): nothing in clear, never written anywhere, and a slot
//! taken over by another sealed address costs only a decryption. A slot outlives a
//! `!forget` until it is taken over or the process ends: a hash of the address under a
//! key that dies with the process, never the address. One table for one [`Identity`]
//! (the engine's): what it remembers holds only for the key it decrypted with.

use std::hash::BuildHasher;
use std::sync::{Mutex, PoisonError};

use super::Identity;

/// Slots in the table (16 bytes each, 2 MiB): about one for each participant of a large
/// consultation.
const SLOTS: usize = 1 << 17;

/// The sealed addresses known to open to a given address.
pub struct Opened {
    /// By the sealed text's hash: that hash and the address's (0: empty).
    slots: Mutex<Vec<(u64, u64)>>,
    hasher: std::collections::hash_map::RandomState,
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Opened(..)")
    }
}

impl Default for Opened {
    fn default() -> Opened {
        Opened { slots: Mutex::new(Vec::new()), hasher: Default::default() }
    }
}

impl Opened {
    /// Whether `sealed` opens (under `identity`, always the same one for a table) to
    /// `address`.
    pub fn opens_to(&self, identity: &Identity, sealed: &str, address: &str) -> bool {
        // 0 marks an empty slot.
        let (s, a) = (self.hasher.hash_one(sealed).max(1), self.hasher.hash_one(address).max(1));
        let at = (s as usize) % SLOTS;
        {
            let slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            if slots.get(at) == Some(&(s, a)) {
                return true;
            }
        }
        let opens = identity.open(sealed).is_ok_and(|known| known == address);
        if opens {
            let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            if slots.is_empty() {
                slots.resize(SLOTS, (0, 0));
            }
            slots[at] = (s, a);
        }
        opens
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_is_the_decryptions_whether_kept_or_not() {
        let id = Identity::new(b"0123456789abcdef0123456789abcdef");
        let other = Identity::new(b"another secret another secret!!!");
        let opened = Opened::default();
        let sealed = id.seal("!dm-room:example.org");
        for _ in 0..2 {
            assert!(opened.opens_to(&id, &sealed, "!dm-room:example.org"));
            assert!(!opened.opens_to(&id, &sealed, "!another-room:example.org"));
            assert!(!opened.opens_to(&id, "not hex", "!dm-room:example.org"));
            // Sealed under another secret: never opens, kept or not.
            assert!(!opened.opens_to(&other, &other.seal("x"), "!dm-room:example.org"));
        }
        // A new address sealed anew is a new sealed text, found by decrypting.
        let moved = id.seal("!new-room:example.org");
        assert!(opened.opens_to(&id, &moved, "!new-room:example.org"));
        assert!(!opened.opens_to(&id, &moved, "!dm-room:example.org"));
        assert!(opened.opens_to(&id, &sealed, "!dm-room:example.org"));
    }
}

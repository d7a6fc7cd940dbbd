//! Text → hashed sparse features: word 1–2 grams and character 3–5 grams inside word
//! boundaries (each word padded with a space on both sides), as in scikit-learn's
//! `char_wb` analyser. Feature keys are FNV-1a hashes folded to `BUCKET_BITS` bits, with
//! the block (word or character) in the bit above, so no vocabulary strings ship.

/// Shortest character n-gram.
pub(crate) const MIN_CHAR_GRAM: usize = 3;
/// Longest character n-gram.
pub(crate) const MAX_CHAR_GRAM: usize = 5;
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0100_0000_01b3;

/// Bits of a feature key that come from the hash.
pub(crate) const BUCKET_BITS: u32 = 20;
const BUCKET_MASK: u64 = (1 << BUCKET_BITS) - 1;
/// Key bit marking a character n-gram (word n-grams have it clear).
pub(crate) const CHAR_BLOCK: u32 = 1 << BUCKET_BITS;

/// The words of a text: lower case, letters and digits; apostrophes are dropped
/// ("couldn't" → "couldnt"), everything else separates words.
pub(crate) fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            cur.push(c.to_ascii_lowercase());
        } else if c.is_alphanumeric() {
            cur.extend(c.to_lowercase());
        } else if matches!(c, '\'' | '\u{2019}' | '\u{2018}') {
            // inside a word: skip
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = FNV_OFFSET;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            h ^= 0x1f;
            h = h.wrapping_mul(FNV_PRIME);
        }
        for &b in *part {
            h ^= u64::from(b);
            h = h.wrapping_mul(FNV_PRIME);
        }
    }
    h
}

fn fold(h: u64) -> u32 {
    ((h ^ (h >> 29) ^ (h >> 47)) & BUCKET_MASK) as u32
}

/// One occurrence of a feature, and the word or word pair it came from (an index into
/// the text's words; a bigram points at its first word).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Occurrence {
    pub key: u32,
    pub word: u32,
    pub bigram: bool,
}

/// Every feature occurrence of a list of words, in text order.
pub(crate) fn occurrences(words: &[String], out: &mut Vec<Occurrence>) {
    out.clear();
    each_key(words, |key, word, bigram| out.push(Occurrence { key, word, bigram }));
}

/// Every feature key of a list of words, in text order, with the word (or first word of
/// the pair) it came from and whether it is a word pair.
pub(crate) fn each_key(words: &[String], mut emit: impl FnMut(u32, u32, bool)) {
    let mut padded = String::new();
    let mut bounds: Vec<usize> = Vec::new();
    for (i, w) in words.iter().enumerate() {
        let wi = u32::try_from(i).unwrap_or(u32::MAX);
        emit(fold(fnv1a(&[w.as_bytes()])), wi, false);
        if let Some(next) = words.get(i + 1) {
            emit(fold(fnv1a(&[w.as_bytes(), next.as_bytes()])), wi, true);
        }
        padded.clear();
        padded.push(' ');
        padded.push_str(w);
        padded.push(' ');
        bounds.clear();
        bounds.extend(padded.char_indices().map(|(b, _)| b));
        bounds.push(padded.len());
        let chars = bounds.len() - 1;
        let bytes = padded.as_bytes();
        // FNV-1a runs left to right, so the hash of an n-gram extends that of the (n-1)-gram
        // starting at the same character.
        for s in 0..chars.saturating_sub(MIN_CHAR_GRAM - 1) {
            let mut h = FNV_OFFSET;
            for (n, end) in (s + 1..=chars.min(s + MAX_CHAR_GRAM)).enumerate() {
                for &byte in &bytes[bounds[end - 1]..bounds[end]] {
                    h = (h ^ u64::from(byte)).wrapping_mul(FNV_PRIME);
                }
                if n + 1 >= MIN_CHAR_GRAM {
                    emit(fold(h) | CHAR_BLOCK, wi, false);
                }
            }
        }
    }
}

/// Term counts of one text: sorted (key, count) pairs.
pub(crate) fn counts(occ: &[Occurrence]) -> Vec<(u32, u32)> {
    let mut keys: Vec<u32> = occ.iter().map(|o| o.key).collect();
    keys.sort_unstable();
    let mut out: Vec<(u32, u32)> = Vec::with_capacity(keys.len());
    for k in keys {
        match out.last_mut() {
            Some((last, c)) if *last == k => *c += 1,
            _ => out.push((k, 1)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_drop_apostrophes_and_split_on_punctuation() {
        assert_eq!(words("Couldn't fault   the A&E staff!"), ["couldnt", "fault", "the", "a", "e", "staff"]);
        assert_eq!(words("Nurse’s care, 10/10"), ["nurses", "care", "10", "10"]);
        assert!(words(" ... ").is_empty());
    }

    #[test]
    fn occurrences_cover_words_bigrams_and_char_grams() {
        let w = words("good care");
        let mut occ = Vec::new();
        occurrences(&w, &mut occ);
        let word_keys = occ.iter().filter(|o| o.key & CHAR_BLOCK == 0).count();
        // "good", "good care", "care"
        assert_eq!(word_keys, 3);
        // " good " has 6 chars: 4 + 3 + 2 grams of 3, 4 and 5 chars; " care " the same.
        assert_eq!(occ.len() - word_keys, 18);
        assert!(occ.iter().filter(|o| o.bigram).all(|o| o.word == 0));
        let c = counts(&occ);
        assert!(c.windows(2).all(|p| p[0].0 < p[1].0));
        assert_eq!(c.iter().map(|(_, n)| *n as usize).sum::<usize>(), occ.len());
    }
}

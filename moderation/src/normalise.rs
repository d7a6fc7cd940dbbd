//! Normalisation against evasion, used only for matching word lists.
//!
//! The output is a *match stream*: lower-case words separated by single spaces, with a
//! space at each end (`" you are a twat "`), so that list entries padded the same way
//! match whole words only ("Scunthorpe" never contains the word it contains).
//!
//! Steps, in order: compatibility decomposition (NFKD, which includes every NFKC folding:
//! fullwidth, mathematical and circled letters) with combining marks and invisible
//! characters dropped, lower-casing, confusable letters (Cyrillic, Greek, small capitals)
//! mapped to Latin, tokenising, joining runs of three or more single-character tokens
//! (`f u c k`, `f.u.c.k`, `f-u-c-k`), leetspeak inside tokens that contain a letter
//! (`sh1t`, `$hit`, `@ss`), masked letters resolved against the vocabulary (`c*nt`), and
//! letter runs of three or more collapsed (`fuuuuck`).
//!
//! Because a run can stand for a single or a double letter (`fuuuck`, `kiiill`) and `1`
//! for `i` or `l`, a second *alternate* stream is made when either ambiguity occurs.
//! The stream is never shown to anyone; redaction works on the raw text.

use unicode_normalization::char::{decompose_compatible, is_combining_mark};

/// The match streams of one text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Normalised {
    /// Runs collapsed to one letter, `1` read as `i`.
    pub(crate) primary: String,
    /// Runs collapsed to two letters, `1` read as `l`; only when that differs.
    pub(crate) alternate: Option<String>,
}

/// Characters that render as nothing and are used to split words invisibly.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}' | '\u{034F}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}'
    )
}

/// Maps a lower-case look-alike to its Latin letter.
fn confusable(c: char) -> char {
    match c {
        // Cyrillic
        'а' => 'a',
        'в' => 'b',
        'е' | 'ё' | 'є' => 'e',
        'к' => 'k',
        'м' => 'm',
        'н' | 'һ' => 'h',
        'о' => 'o',
        'р' => 'p',
        'с' => 'c',
        'т' => 't',
        'у' | 'ў' => 'y',
        'х' => 'x',
        'і' | 'ї' => 'i',
        'ј' => 'j',
        'ѕ' => 's',
        'ԁ' => 'd',
        'ӏ' => 'l',
        'ԛ' => 'q',
        'ԝ' => 'w',
        'п' => 'n',
        // Greek
        'α' => 'a',
        'β' => 'b',
        'γ' => 'y',
        'ε' => 'e',
        'η' => 'n',
        'ι' => 'i',
        'κ' => 'k',
        'μ' => 'u',
        'ν' => 'v',
        'ο' => 'o',
        'ρ' => 'p',
        'τ' => 't',
        'υ' => 'u',
        'χ' => 'x',
        'ω' => 'w',
        // Latin look-alikes and small capitals
        'ı' => 'i',
        'ł' => 'l',
        'ø' => 'o',
        'đ' => 'd',
        'ɡ' => 'g',
        'ᴀ' => 'a',
        'ʙ' => 'b',
        'ᴄ' => 'c',
        'ᴅ' => 'd',
        'ᴇ' => 'e',
        'ғ' => 'f',
        'ɢ' => 'g',
        'ʜ' => 'h',
        'ɪ' => 'i',
        'ᴊ' => 'j',
        'ᴋ' => 'k',
        'ʟ' => 'l',
        'ᴍ' => 'm',
        'ɴ' => 'n',
        'ᴏ' => 'o',
        'ᴘ' => 'p',
        'ʀ' => 'r',
        'ᴛ' => 't',
        'ᴜ' => 'u',
        'ᴠ' => 'v',
        'ᴡ' => 'w',
        'ʏ' => 'y',
        'ᴢ' => 'z',
        other => other,
    }
}

fn push_folded(c: char, out: &mut String) {
    if is_combining_mark(c) || is_invisible(c) {
        return;
    }
    for lower in c.to_lowercase() {
        out.push(confusable(lower));
    }
}

/// Lower-cases and folds `text` into `out`: compatibility forms, marks, look-alikes.
pub(crate) fn fold(text: &str, out: &mut String) {
    out.clear();
    if text.is_ascii() {
        out.extend(text.chars().map(|c| c.to_ascii_lowercase()));
        return;
    }
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            decompose_compatible(c, |d| push_folded(d, out));
        }
    }
}

/// `sh!t`: a `!` between two letters stands for `i`.
fn bang_as_i(folded: &str) -> String {
    let chars: Vec<char> = folded.chars().collect();
    let mut out = String::with_capacity(folded.len());
    for (i, &c) in chars.iter().enumerate() {
        let between =
            c == '!' && i > 0 && chars[i - 1].is_alphabetic() && chars.get(i + 1).is_some_and(|n| n.is_alphabetic());
        out.push(if between { 'i' } else { c });
    }
    out
}

fn is_token_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '*' | '$' | '@')
}

fn leet(c: char, one: char) -> char {
    match c {
        '0' => 'o',
        '1' => one,
        '3' => 'e',
        '4' | '@' => 'a',
        '5' | '$' => 's',
        '7' => 't',
        other => other,
    }
}

/// Resolves masked tokens (`c*nt`, `f**k`, `*fuck*`) against single-word vocabulary.
pub(crate) trait MaskVocabulary {
    /// A vocabulary word that `masked` (containing `*`) could stand for.
    fn unmask(&self, masked: &str) -> Option<&str>;
}

/// Normalises `text` into match streams. `vocab` resolves masked words.
pub(crate) fn normalise(text: &str, vocab: &dyn MaskVocabulary) -> Normalised {
    let mut folded = String::with_capacity(text.len() + 8);
    fold(text, &mut folded);
    if folded.contains('!') {
        folded = bang_as_i(&folded);
    }

    // Tokens as slices of `folded`.
    let mut tokens: Vec<&str> = Vec::with_capacity(folded.len() / 4 + 1);
    let mut start = None;
    for (i, c) in folded.char_indices() {
        match (is_token_char(c), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                tokens.push(&folded[s..i]);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        tokens.push(&folded[s..]);
    }

    // Join runs of three or more single-character tokens: spacing tricks.
    let mut words: Vec<std::borrow::Cow<'_, str>> = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        let single = |t: &str| t.chars().count() == 1;
        if single(tokens[i]) {
            let mut j = i;
            while j < tokens.len() && single(tokens[j]) {
                j += 1;
            }
            if j - i >= 3 {
                words.push(std::borrow::Cow::Owned(tokens[i..j].concat()));
                i = j;
                continue;
            }
        }
        words.push(std::borrow::Cow::Borrowed(tokens[i]));
        i += 1;
    }

    let mut ambiguous = false;
    let primary = render(&words, vocab, false, &mut ambiguous);
    let alternate = if ambiguous {
        let mut unused = false;
        let alt = render(&words, vocab, true, &mut unused);
        (alt != primary).then_some(alt)
    } else {
        None
    };
    Normalised { primary, alternate }
}

/// Renders words into a padded stream. `alternate` reads `1` as `l` and keeps runs as
/// two letters; `ambiguous` is set when that reading could differ.
fn render(
    words: &[std::borrow::Cow<'_, str>],
    vocab: &dyn MaskVocabulary,
    alternate: bool,
    ambiguous: &mut bool,
) -> String {
    let mut out = String::with_capacity(words.iter().map(|w| w.len() + 1).sum::<usize>() + 2);
    out.push(' ');
    let mut word = String::new();
    for raw in words {
        let has_letter = raw.chars().any(char::is_alphabetic);
        word.clear();
        if has_letter {
            let one = if alternate { 'l' } else { 'i' };
            for c in raw.chars() {
                if c == '1' {
                    *ambiguous = true;
                }
                word.push(leet(c, one));
            }
        } else {
            word.push_str(raw);
        }
        if word.contains('*') {
            let trimmed_lead = word.trim_start_matches('*');
            let trimmed = trimmed_lead.trim_end_matches('*');
            let resolved = if !trimmed.is_empty() && !trimmed.contains('*') {
                Some(trimmed.to_string())
            } else if trimmed_lead.chars().any(char::is_alphabetic) {
                vocab.unmask(trimmed_lead).or_else(|| vocab.unmask(trimmed)).map(str::to_string)
            } else {
                None
            };
            if let Some(r) = resolved {
                word = r;
            }
        }
        // Collapse letter runs of three or more.
        let keep = if alternate { 2 } else { 1 };
        let mut prev = '\0';
        let mut run = 0usize;
        let mut chars = word.chars().peekable();
        let mut collapsed = String::with_capacity(word.len());
        while let Some(c) = chars.next() {
            if c == prev {
                run += 1;
            } else {
                prev = c;
                run = 1;
            }
            collapsed.push(c);
            // At the end of a run, trim it if it was long.
            if chars.peek() != Some(&c) && run >= 3 && c.is_alphabetic() {
                *ambiguous = true;
                let remove = run - keep;
                for _ in 0..remove {
                    collapsed.pop();
                }
            }
        }
        if collapsed.is_empty() {
            continue;
        }
        out.push_str(&collapsed);
        out.push(' ');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Vocab(&'static [&'static str]);
    impl MaskVocabulary for Vocab {
        fn unmask(&self, masked: &str) -> Option<&str> {
            self.0
                .iter()
                .copied()
                .find(|w| w.len() == masked.len() && w.chars().zip(masked.chars()).all(|(a, b)| b == '*' || a == b))
        }
    }
    const V: Vocab = Vocab(&["fuck", "cunt", "shit"]);

    fn p(text: &str) -> String {
        normalise(text, &V).primary
    }

    #[test]
    fn pads_and_lowercases() {
        assert_eq!(p("Hello, World!"), " hello world ");
        assert_eq!(p(""), " ");
    }

    #[test]
    fn folds_fullwidth_and_confusables() {
        assert_eq!(p("ｆｕｃｋ"), " fuck ");
        assert_eq!(p("fսck"), " fսck "); // Armenian, not in the table: left alone
        assert_eq!(p("ѕһіт"), " shit "); // Cyrillic
        assert_eq!(p("fück"), " fuck ");
        assert_eq!(p("f\u{200B}uck"), " fuck ");
        assert_eq!(p("𝐟𝐮𝐜𝐤"), " fuck ");
    }

    #[test]
    fn leetspeak_only_inside_words() {
        assert_eq!(p("sh1t"), " shit ");
        assert_eq!(p("$h1t"), " shit ");
        assert_eq!(p("@ss"), " ass ");
        assert_eq!(p("sh!te! wow!"), " shite wow ");
        assert_eq!(p("call 111 at 5"), " call 111 at 5 ");
        let n = normalise("1diot", &V);
        assert_eq!(n.primary, " idiot ");
        assert_eq!(n.alternate.as_deref(), Some(" ldiot "));
        assert_eq!(p("k1ll"), " kill ");
    }

    #[test]
    fn spacing_tricks() {
        assert_eq!(p("f u c k off"), " fuck off ");
        assert_eq!(p("f.u.c.k"), " fuck ");
        assert_eq!(p("f-u-c-k"), " fuck ");
        assert_eq!(p("A and E"), " a and e ");
    }

    #[test]
    fn repeated_letters() {
        let n = normalise("fuuuuuck", &V);
        assert_eq!(n.primary, " fuck ");
        let n = normalise("kiiiill", &V);
        assert_eq!(n.alternate.as_deref(), Some(" kiill "));
        assert_eq!(p("bloody"), " bloody ");
        assert_eq!(normalise("bloody", &V).alternate, None);
    }

    #[test]
    fn masks() {
        assert_eq!(p("c*nt"), " cunt ");
        assert_eq!(p("f**k off"), " fuck off ");
        assert_eq!(p("*really* cross"), " really cross ");
        assert_eq!(p("s**"), " s ");
    }
}

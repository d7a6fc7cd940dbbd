//! How participant text is shown in public: made inert so that nobody can ping a room or
//! a user through the bot, whatever the adapter does on top.

/// Stands in for `@` where it would start a mention: the fullwidth commercial at reads the
/// same to people, and no platform takes it for a mention.
const AT: char = '\u{FF20}';
/// Stands in for `<` where it would open Discord mention syntax (`<@…>`, `<#…>`, `<:…>`).
const ANGLE: char = '\u{2039}';

/// Neutralises mentions: `@everyone`, `@here`, `@room`, `@user:server`, Discord's
/// `<@123>`, `<@&123>`, `<#123>`, and drops what has no business in a post: control
/// characters other than newlines and tabs, and the invisible format characters (zero-width
/// spaces, bidi controls, tag characters), which could hide or reorder text. The joiners
/// and selectors that shape emoji and scripts stay where they do that and nothing else
/// (`moderation::normalise::without_invisible`: between non-ASCII characters, so never
/// inside a mention). The text reads the same to people.
pub fn inert(text: &str) -> String {
    // Most posts: printable ASCII, new lines and tabs, with no `@` or `<` to break and no
    // control or invisible character (those are never ASCII) to drop: as they are.
    if text.bytes().all(|b| matches!(b, b' '..=b'~' | b'\n' | b'\t') && b != b'@' && b != b'<') {
        return text.to_string();
    }
    inert_changed(text)
}

/// [`inert`] character by character.
fn inert_changed(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let controls = |c: char| c.is_control() && c != '\n' && c != '\t';
    let text: std::borrow::Cow<'_, str> = if text.contains(controls) {
        text.chars().filter(|&c| !controls(c)).collect::<String>().into()
    } else {
        text.into()
    };
    let shown = moderation::normalise::without_invisible(&text);
    let mut chars = shown.chars().peekable();
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        match (c, next) {
            ('@', Some(n)) if n.is_alphanumeric() || n == '_' => out.push(AT),
            ('<', Some('@' | '#' | ':' | '\u{FF20}')) => out.push(ANGLE),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_broken_but_text_reads_the_same() {
        for raw in ["@everyone look", "hi @here", "@room", "<@123456>", "<@&42>", "<#9>", "@alice:example.org"] {
            let out = inert(raw);
            assert_ne!(out, raw);
            assert_eq!(out.replace(AT, "@").replace(ANGLE, "<"), raw);
        }
        assert_eq!(inert("email me @ 5pm"), "email me @ 5pm");
        assert_eq!(inert("a\u{7}b\nc"), "ab\nc");
    }

    #[test]
    fn plain_ascii_comes_back_as_the_slow_path_gives_it() {
        for text in [
            "The wait at my GP was three weeks.\nNo one rang back.\tSad.",
            "~ all printable: !\"#$%&'()*+,-./0123456789:;=>?[\\]^_`{|}",
            "",
            "a@b",
            "x < y",
            "bell\u{7}",
            "del\u{7f}",
            "cr\r\nlf",
        ] {
            assert_eq!(inert(text), inert_changed(text), "{text:?}");
        }
    }

    #[test]
    fn emoji_sequences_flags_and_joined_scripts_read_as_typed() {
        let nurse = "\u{1F469}\u{200D}\u{2695}\u{FE0F}";
        let scotland = "\u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}";
        let persian = "\u{645}\u{6CC}\u{200C}\u{62E}\u{648}\u{627}\u{647}\u{645}";
        let text = format!("Thanks to the {nurse} in {scotland}: {persian}");
        assert_eq!(inert(&text), text);
        // Between ASCII characters a joiner only splits: it goes, and the mention is broken.
        assert_eq!(inert("@\u{200D}everyone"), "\u{FF20}everyone");
        assert_eq!(inert("<\u{200C}@123>"), "\u{2039}\u{FF20}123>");
    }

    #[test]
    fn invisible_characters_cannot_rebuild_a_mention() {
        assert_eq!(inert("@\u{200B}everyone"), "\u{FF20}everyone");
        assert_eq!(inert("<\u{2060}@123>"), "\u{2039}\u{FF20}123>");
        assert_eq!(inert("kill your\u{202E}self"), "kill yourself");
    }
}

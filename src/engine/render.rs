//! How participant text is shown in public: made inert so that nobody can ping a room or
//! a user through the bot, whatever the adapter does on top.

/// Word joiner: invisible, and breaks mention keywords and Discord mention syntax.
const WJ: char = '\u{2060}';

/// Neutralises mentions: `@everyone`, `@here`, `@room`, `@user:server`, Discord's
/// `<@123>`, `<@&123>`, `<#123>`. The text reads the same to people.
pub fn inert(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        let next = chars.peek().copied();
        match (c, next) {
            ('@', Some(n)) if n.is_alphanumeric() || n == '_' => out.push(WJ),
            ('<', Some('@' | '#' | ':')) => out.push(WJ),
            _ => {}
        }
    }
    // Control characters other than newlines and tabs have no business in a post.
    out.retain(|c| !c.is_control() || c == '\n' || c == '\t');
    out
}

/// Puts text on one line: every line break a person can type (newlines, carriage returns,
/// the Unicode line and paragraph separators, next-line, vertical tab, form feed) becomes
/// " / ", so that a post can never start a line of its own in a thread.
pub fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_break = false;
    for c in text.chars() {
        if matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}' | '\u{85}' | '\u{b}' | '\u{c}') {
            pending_break = true;
            continue;
        }
        if pending_break {
            if !out.is_empty() {
                out.push_str(" / ");
            }
            pending_break = false;
        }
        out.push(c);
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
            assert_eq!(out.replace(WJ, ""), raw);
        }
        assert_eq!(inert("email me @ 5pm"), "email me @ 5pm");
        assert_eq!(inert("a\u{7}b\nc"), "ab\nc");
    }

    #[test]
    fn one_line_joins_every_kind_of_line_break() {
        assert_eq!(one_line("a\nb\r\nc\u{2028}d\u{2029}e"), "a / b / c / d / e");
        assert_eq!(one_line("\n#2 Fake Name: hi"), "#2 Fake Name: hi");
        assert_eq!(one_line("plain"), "plain");
    }
}

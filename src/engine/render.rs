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
}

//! Making text inert on Discord: no pings, no formatting, no link previews; and the few
//! things derived from text (thread names).

/// Stands in for `@` where it would start a mention: the fullwidth commercial at reads the
/// same to people, and Discord takes it for no mention (as the core's own rendering does).
const AT: char = '\u{FF20}';
/// Stands in for `<` where it would open mention syntax (`<@…>`, `<#…>`, `<:…>`, `</…>`).
const ANGLE: char = '\u{2039}';

/// Discord's longest message.
pub const MAX_CHARS: usize = 2_000;
/// Discord's longest thread name.
const MAX_THREAD_NAME: usize = 100;

/// Breaks `@everyone`, `@here`, `@name`, `<@123>`, `<@&456>`, `<#789>` and custom emoji
/// syntax with look-alike characters, adding no invisible character. Idempotent, the same
/// length, and the text reads the same.
pub fn neutralise(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        match (c, next) {
            ('@', Some(n)) if n.is_alphanumeric() || n == '_' => out.push(AT),
            ('<', Some('@' | '#' | ':' | '/' | AT)) => out.push(ANGLE),
            _ => out.push(c),
        }
    }
    out
}

/// Escapes Discord markdown so that participant text shows as typed: `*bold*`, `_`, `~~`,
/// `` ` ``, `||spoiler||`, `[masked](links)`, and headings, quotes and lists at a line start.
pub fn escape_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        out.push_str(indent);
        if trimmed.starts_with('#') || trimmed.starts_with('>') || trimmed.starts_with("- ") {
            out.push('\\');
        }
        for c in trimmed.chars() {
            if matches!(c, '\\' | '*' | '_' | '~' | '`' | '|' | '[' | ']') {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out
}

/// What the bot sends as message content: mentions broken and markdown escaped, unless
/// that would take the text over Discord's limit (the core already shaped the text to
/// fit); then mentions only, and failing that the core's own (already inert) text.
/// `allowed_mentions` with nothing to parse is what really stops pings.
pub fn content(text: &str) -> String {
    let inert = neutralise(text);
    let escaped = escape_markdown(&inert);
    if escaped.chars().count() <= MAX_CHARS {
        escaped
    } else if inert.chars().count() <= MAX_CHARS {
        inert
    } else {
        text.to_owned()
    }
}

/// A thread name from a thread root's text: its first line, within Discord's 100
/// characters.
pub fn thread_name(root_text: &str, slug: &str) -> String {
    let first = root_text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or(slug);
    let name: String = first.chars().take(MAX_THREAD_NAME).collect();
    if name.trim().is_empty() {
        slug.chars().take(MAX_THREAD_NAME).collect()
    } else {
        name
    }
}

/// Milliseconds since the Unix epoch at which a snowflake was made.
pub fn snowflake_ms(id: u64) -> u64 {
    (id >> 22) + 1_420_070_400_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_cannot_ping_and_read_the_same() {
        for raw in ["@everyone look", "hi @here", "<@123>", "<@!123>", "<@&456>", "<#9>", "</cmd:1>"] {
            let out = neutralise(raw);
            assert_ne!(out, raw);
            assert_eq!(out.replace(AT, "@").replace(ANGLE, "<"), raw);
            assert_eq!(neutralise(&out), out, "idempotent");
        }
        assert!(!neutralise("@everyone").contains("@everyone"));
        assert_eq!(neutralise("email me @ 5pm"), "email me @ 5pm");
    }

    #[test]
    fn markdown_is_escaped() {
        assert_eq!(escape_markdown("**bold** _it_ ||x||"), "\\*\\*bold\\*\\* \\_it\\_ \\|\\|x\\|\\|");
        assert_eq!(escape_markdown("# big\n> quote\n- item"), "\\# big\n\\> quote\n\\- item");
        assert_eq!(escape_markdown("[click](http://x)"), "\\[click\\](http://x)");
        assert_eq!(escape_markdown("#1 Amber Otter: hi"), "\\#1 Amber Otter: hi");
    }

    #[test]
    fn content_never_exceeds_the_limit() {
        let long = "*".repeat(2_000);
        assert_eq!(content(&long).chars().count(), 2_000);
        assert_eq!(content("ok *x*"), "ok \\*x\\*");
    }

    #[test]
    fn thread_names() {
        assert_eq!(
            thread_name("gp-access — Getting a GP appointment\nTell us", "gp-access"),
            "gp-access — Getting a GP appointment"
        );
        assert_eq!(thread_name("", "gp-access"), "gp-access");
        assert_eq!(thread_name(&"x".repeat(300), "s").chars().count(), 100);
    }

    #[test]
    fn snowflake_time() {
        // Discord's documented example: 175928847299117063 → 2016-04-30 11:18:25.796 UTC.
        assert_eq!(snowflake_ms(175_928_847_299_117_063), 1_462_015_105_796);
    }
}

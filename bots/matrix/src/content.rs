//! Building the Matrix message content for an outbound text: plain body plus escaped HTML,
//! empty mentions, and the relation (thread or reply) it needs.

use matrix_sdk::ruma::events::relation::{InReplyTo, Thread};
use matrix_sdk::ruma::events::room::message::{
    MessageType, NoticeMessageEventContent, Relation, RoomMessageEventContent, TextMessageEventContent,
};
use matrix_sdk::ruma::events::Mentions;
use matrix_sdk::ruma::OwnedEventId;

/// Escapes text for `org.matrix.custom.html`: the five HTML special characters, and
/// newlines as `<br>`. Nothing the participant types can become markup, a link or a pill.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' => out.push_str("<br>"),
            '\r' => {}
            _ => out.push(c),
        }
    }
    out
}

/// The kind of Matrix message to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `m.text`: published posts and thread roots.
    Text,
    /// `m.notice`: the bot talking (DM replies, staff rooms); other bots ignore notices.
    Notice,
}

/// How the message relates to earlier ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Relates {
    /// A new message.
    None,
    /// A rich reply outside threads.
    Reply(OwnedEventId),
    /// In the thread of `root`; `reply_to` is the event answered (`is_falling_back =
    /// false`), otherwise `latest` is the fallback for clients without threads.
    Thread {
        /// Thread root.
        root: OwnedEventId,
        /// The event this one answers, if any.
        reply_to: Option<OwnedEventId>,
        /// The latest event in the thread known to the adapter (the root if none).
        latest: OwnedEventId,
    },
}

/// The full content for `text`.
pub fn message(text: &str, kind: Kind, relates: Relates) -> RoomMessageEventContent {
    let html = escape_html(text);
    let msgtype = match kind {
        Kind::Text => MessageType::Text(TextMessageEventContent::html(text, html)),
        Kind::Notice => MessageType::Notice(NoticeMessageEventContent::html(text, html)),
    };
    let mut content = RoomMessageEventContent::new(msgtype);
    // An explicit empty `m.mentions` turns off the legacy body-matching push rules, so
    // participant text such as "@room" or a user's name cannot notify anyone.
    content.mentions = Some(Mentions::new());
    content.relates_to = match relates {
        Relates::None => None,
        Relates::Reply(event) => {
            Some(Relation::Reply(matrix_sdk::ruma::events::relation::Reply::new(InReplyTo::new(event))))
        }
        Relates::Thread { root, reply_to: Some(reply_to), .. } => Some(Relation::Thread(Thread::reply(root, reply_to))),
        Relates::Thread { root, reply_to: None, latest } => Some(Relation::Thread(Thread::plain(root, latest))),
    };
    content
}

#[cfg(test)]
mod tests {
    use matrix_sdk::ruma::owned_event_id;
    use serde_json::json;

    use super::*;

    #[test]
    fn escapes_markup_and_newlines() {
        assert_eq!(
            escape_html("<b>@room</b> & \"x\" 'y'\nnext"),
            "&lt;b&gt;@room&lt;/b&gt; &amp; &quot;x&quot; &#39;y&#39;<br>next"
        );
    }

    #[test]
    fn content_has_escaped_html_and_no_mentions() {
        let content = message("<a href=x>hi</a> @room", Kind::Text, Relates::None);
        let value = serde_json::to_value(&content).unwrap();
        assert_eq!(value["msgtype"], "m.text");
        assert_eq!(value["body"], "<a href=x>hi</a> @room");
        assert_eq!(value["format"], "org.matrix.custom.html");
        assert_eq!(value["formatted_body"], "&lt;a href=x&gt;hi&lt;/a&gt; @room");
        assert_eq!(value["m.mentions"], json!({}));
        assert!(value.get("m.relates_to").is_none());
    }

    #[test]
    fn thread_relations() {
        let root = owned_event_id!("$root:localhost");
        let reply = owned_event_id!("$reply:localhost");
        let content = message(
            "x",
            Kind::Text,
            Relates::Thread { root: root.clone(), reply_to: Some(reply), latest: root.clone() },
        );
        let rel = &serde_json::to_value(&content).unwrap()["m.relates_to"];
        assert_eq!(rel["rel_type"], "m.thread");
        assert_eq!(rel["event_id"], "$root:localhost");
        assert_eq!(rel["m.in_reply_to"]["event_id"], "$reply:localhost");
        assert_ne!(rel["is_falling_back"], true);

        let latest = owned_event_id!("$latest:localhost");
        let content = message("x", Kind::Notice, Relates::Thread { root, reply_to: None, latest });
        let value = serde_json::to_value(&content).unwrap();
        assert_eq!(value["msgtype"], "m.notice");
        let rel = &value["m.relates_to"];
        assert_eq!(rel["m.in_reply_to"]["event_id"], "$latest:localhost");
        assert_eq!(rel["is_falling_back"], true);
    }
}

//! A fake Discord for the tests: the real gateway protocol over WebSocket (Hello, Identify,
//! Ready, heartbeats and their acks, dispatch with sequence numbers, Reconnect, Resume with
//! the replay of missed events, Invalid Session) and the REST routes the bot calls, on
//! loopback only. Every REST request and every gateway payload from the bot is recorded.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Notify};
use tokio_tungstenite::tungstenite::Message as Ws;

/// Long enough for slow builders; every wait is bounded by it.
pub const WAIT: Duration = Duration::from_secs(120);

pub const APP_ID: u64 = 900_000_000_000_000_001;
pub const BOT_ID: u64 = 900_000_000_000_000_002;
pub const GUILD: u64 = 900_000_000_000_000_003;
pub const CHANNEL: u64 = 900_000_000_000_000_010;
pub const MODERATORS: u64 = 900_000_000_000_000_011;
pub const COMMISSIONERS: u64 = 900_000_000_000_000_012;
pub const MOD_ROLE: u64 = 900_000_000_000_000_020;

/// A REST request as the fake received it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub body: Value,
    /// The status the fake answered with.
    pub status: u16,
}

/// A message that exists on the fake.
#[derive(Debug, Clone)]
pub struct Posted {
    pub id: String,
    pub channel: String,
    pub content: String,
    pub body: Value,
    pub deleted: bool,
}

/// A person on the fake Discord.
#[derive(Debug, Clone)]
pub struct Person {
    pub id: u64,
    pub username: String,
    pub global_name: String,
    pub roles: Vec<u64>,
}

impl Person {
    pub fn new(id: u64, username: &str, global_name: &str) -> Person {
        Person { id, username: username.into(), global_name: global_name.into(), roles: Vec::new() }
    }

    fn user(&self) -> Value {
        json!({ "id": self.id.to_string(), "username": self.username, "discriminator": "0",
                "global_name": self.global_name, "avatar": null, "bot": false })
    }

    fn member(&self) -> Value {
        json!({ "user": self.user(), "roles": self.roles.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
                "joined_at": "2025-01-01T00:00:00.000000+00:00", "deaf": false, "mute": false, "flags": 0,
                "pending": false, "nick": null })
    }
}

enum Out {
    Send(Value),
    /// Close the connection abruptly (no close frame).
    Drop,
}

#[derive(Default)]
struct Gateway {
    session_id: Option<String>,
    seq: u64,
    /// Every dispatch of the current session, for replay on Resume.
    log: Vec<(u64, Value)>,
    conn: Option<mpsc::UnboundedSender<Out>>,
    identifies: usize,
    resumes: usize,
    heartbeats: usize,
    ready: usize,
}

#[derive(Default)]
struct State {
    next: u64,
    requests: Vec<Request>,
    messages: Vec<Posted>,
    /// channel id → parent id (threads).
    parents: HashMap<String, Option<String>>,
    dm_channels: HashMap<String, String>,
    /// The next this many message sends get 429 with `retry_after`.
    rate_limit: usize,
    retry_after: f64,
    gateway: Gateway,
    /// Payloads received from the bot on the gateway.
    received: Vec<Value>,
    /// Component interactions sent: interaction id → the message clicked.
    clicks: HashMap<String, String>,
}

#[derive(Clone)]
pub struct FakeDiscord {
    pub api_url: String,
    pub ws_url: String,
    state: Arc<Mutex<State>>,
    pub changed: Arc<Notify>,
}

impl FakeDiscord {
    pub async fn start() -> FakeDiscord {
        let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let ws = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let api_url = format!("http://{}", http.local_addr().unwrap());
        let ws_url = format!("ws://{}", ws.local_addr().unwrap());
        let fake = FakeDiscord {
            api_url,
            ws_url,
            state: Arc::new(Mutex::new(State { next: 1, ..State::default() })),
            changed: Arc::new(Notify::new()),
        };
        {
            let mut s = fake.state.lock().unwrap();
            s.parents.insert(CHANNEL.to_string(), None);
            s.parents.insert(MODERATORS.to_string(), None);
            s.parents.insert(COMMISSIONERS.to_string(), None);
        }
        let f = fake.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = http.accept().await {
                let f = f.clone();
                tokio::spawn(async move { f.serve_http(stream).await });
            }
        });
        let f = fake.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = ws.accept().await {
                let f = f.clone();
                tokio::spawn(async move { f.serve_ws(stream).await });
            }
        });
        fake
    }

    /// A fresh snowflake with the current time in it.
    pub fn snowflake(&self) -> u64 {
        let mut s = self.state.lock().unwrap();
        s.next += 1;
        let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
        ((ms - 1_420_070_400_000) << 22) | (s.next & 0x3f_ffff)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().requests.clone()
    }

    pub fn messages(&self) -> Vec<Posted> {
        self.state.lock().unwrap().messages.clone()
    }

    /// Every dispatch of the current session.
    pub fn dispatched(&self) -> Vec<Value> {
        self.state.lock().unwrap().gateway.log.iter().map(|(_, v)| v.clone()).collect()
    }

    pub fn received(&self) -> Vec<Value> {
        self.state.lock().unwrap().received.clone()
    }

    pub fn gateway_counts(&self) -> (usize, usize, usize, usize) {
        let s = self.state.lock().unwrap();
        (s.gateway.identifies, s.gateway.resumes, s.gateway.heartbeats, s.gateway.ready)
    }

    pub fn connected(&self) -> bool {
        self.state.lock().unwrap().gateway.conn.is_some()
    }

    /// The next `n` message sends are answered 429 with `retry_after` seconds.
    pub fn rate_limit_next(&self, n: usize, retry_after: f64) {
        let mut s = self.state.lock().unwrap();
        s.rate_limit = n;
        s.retry_after = retry_after;
    }

    /// Asks the bot to reconnect (op 7), as Discord does before moving a session.
    pub fn ask_reconnect(&self) {
        if let Some(c) = &self.state.lock().unwrap().gateway.conn {
            let _ = c.send(Out::Send(json!({ "op": 7, "d": null })));
        }
    }

    /// Drops the connection without a close frame.
    pub fn drop_connection(&self) {
        let mut s = self.state.lock().unwrap();
        if let Some(c) = s.gateway.conn.take() {
            let _ = c.send(Out::Drop);
        }
    }

    /// Sends a dispatch (op 0) with the next sequence number; while the bot is not
    /// connected it waits in the session's log for a Resume.
    pub fn dispatch(&self, event: &str, data: Value) {
        let mut s = self.state.lock().unwrap();
        s.gateway.seq += 1;
        let payload = json!({ "op": 0, "t": event, "s": s.gateway.seq, "d": data });
        let seq = s.gateway.seq;
        s.gateway.log.push((seq, payload.clone()));
        if let Some(c) = &s.gateway.conn {
            let _ = c.send(Out::Send(payload));
        }
    }

    /// A DM from `who`; returns the message id.
    pub fn dm(&self, who: &Person, text: &str) -> String {
        let channel = self.dm_channel_of(who.id);
        let id = self.snowflake().to_string();
        self.dispatch("MESSAGE_CREATE", message(&id, &channel, who.user(), text, None));
        id
    }

    /// A message from `who` in a guild channel (or thread).
    pub fn guild_message(&self, who: &Person, channel: &str, text: &str) -> String {
        let id = self.snowflake().to_string();
        let mut m = message(&id, channel, who.user(), text, None);
        m["guild_id"] = json!(GUILD.to_string());
        let mut member = who.member();
        member.as_object_mut().unwrap().remove("user");
        m["member"] = member;
        self.dispatch("MESSAGE_CREATE", m);
        id
    }

    /// A click by `who` on a component of the bot's DM `message` (INTERACTION_CREATE of
    /// type 3, MESSAGE_COMPONENT, with the message as Discord sends it): a button when
    /// `values` is `None`, otherwise a string select menu with those values picked. Returns
    /// the interaction id.
    pub fn click(&self, who: &Person, message: &Posted, custom_id: &str, values: Option<&[&str]>) -> String {
        self.component(who, message, None, custom_id, values)
    }

    /// As [`FakeDiscord::click`], on an ephemeral message the bot sent in answer to a slash
    /// command used in `channel` of the guild.
    pub fn click_ephemeral(
        &self,
        who: &Person,
        message: &Posted,
        channel: &str,
        custom_id: &str,
        values: Option<&[&str]>,
    ) -> String {
        self.component(who, message, Some(channel), custom_id, values)
    }

    fn component(
        &self,
        who: &Person,
        message: &Posted,
        guild_channel: Option<&str>,
        custom_id: &str,
        values: Option<&[&str]>,
    ) -> String {
        let id = self.snowflake().to_string();
        let token = format!("tok-{id}-secret");
        let data = match values {
            None => json!({ "custom_id": custom_id, "component_type": 2 }),
            Some(v) => json!({ "custom_id": custom_id, "component_type": 3, "values": v }),
        };
        let bot = json!({ "id": BOT_ID.to_string(), "username": "parley", "discriminator": "0", "global_name": null,
                          "avatar": null, "bot": true });
        let channel = guild_channel.unwrap_or(&message.channel);
        let mut m = self::message(&message.id, channel, bot, &message.content, None);
        m["components"] = message.body.get("components").cloned().unwrap_or_else(|| json!([]));
        m["flags"] = message.body.get("flags").cloned().unwrap_or_else(|| json!(0));
        let mut i = json!({
            "id": id, "application_id": APP_ID.to_string(), "type": 3, "token": token, "version": 1,
            "data": data, "channel_id": channel, "message": m,
            "locale": "en-GB", "entitlements": [], "authorizing_integration_owners": {}, "app_permissions": "0",
            "attachment_size_limit": 8388608,
        });
        if guild_channel.is_some() {
            i["guild_id"] = json!(GUILD.to_string());
            i["member"] = who.member();
            i["guild_locale"] = json!("en-GB");
            i["context"] = json!(0);
            i["channel"] = json!({ "id": channel, "type": 0 });
            i["message"]["flags"] = json!(64);
        } else {
            i["user"] = who.user();
            i["context"] = json!(1);
            i["channel"] = json!({ "id": channel, "type": 1 });
        }
        self.state.lock().unwrap().clicks.insert(id.clone(), message.id.clone());
        self.dispatch("INTERACTION_CREATE", i);
        id
    }

    /// The answer to an interaction's callback, as recorded.
    pub fn callback(&self, interaction: &str) -> Option<Request> {
        let path = format!("/api/v10/interactions/{interaction}/tok-{interaction}-secret/callback");
        self.requests().into_iter().find(|r| r.method == "POST" && r.path == path)
    }

    /// A message as it is now (components taken off by edits included).
    pub fn message_now(&self, id: &str) -> Option<Posted> {
        self.messages().into_iter().find(|m| m.id == id)
    }

    /// A slash command from `who`, in a DM (`channel` None) or a guild channel; returns the
    /// interaction id.
    pub fn slash(&self, who: &Person, channel: Option<&str>, name: &str, options: Value) -> String {
        let id = self.snowflake().to_string();
        let token = format!("tok-{id}-secret");
        let mut i = json!({
            "id": id, "application_id": APP_ID.to_string(), "type": 2, "token": token, "version": 1,
            "data": { "id": self.snowflake().to_string(), "name": name, "type": 1, "options": options },
            "locale": "en-GB", "entitlements": [], "authorizing_integration_owners": {}, "app_permissions": "0",
            "attachment_size_limit": 8388608,
        });
        match channel {
            Some(c) => {
                i["guild_id"] = json!(GUILD.to_string());
                i["channel_id"] = json!(c);
                i["member"] = who.member();
                i["guild_locale"] = json!("en-GB");
                i["context"] = json!(0);
            }
            None => {
                i["channel_id"] = json!(self.dm_channel_of(who.id));
                i["user"] = who.user();
                i["context"] = json!(1);
            }
        }
        self.dispatch("INTERACTION_CREATE", i);
        id
    }

    pub fn dm_channel_of(&self, user: u64) -> String {
        let existing = self.state.lock().unwrap().dm_channels.get(&user.to_string()).cloned();
        existing.unwrap_or_else(|| {
            let id = self.snowflake().to_string();
            self.state.lock().unwrap().dm_channels.insert(user.to_string(), id.clone());
            id
        })
    }

    /// Waits (bounded) until `check` holds for the fake's state.
    pub async fn until<T>(&self, what: &str, mut check: impl FnMut(&FakeDiscord) -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let changed = self.changed.notified();
            if let Some(v) = check(self) {
                return v;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("timed out waiting for {what}; requests: {:#?}", self.requests());
            }
            let _ = tokio::time::timeout(Duration::from_millis(200), changed).await;
        }
    }

    /// Messages in `channel`, oldest first.
    pub fn in_channel(&self, channel: &str) -> Vec<Posted> {
        self.messages().into_iter().filter(|m| m.channel == channel).collect()
    }

    // ---- REST ----

    async fn serve_http(&self, stream: TcpStream) {
        let mut reader = BufReader::new(stream);
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let mut parts = line.split_whitespace();
            let (method, target) = (parts.next().unwrap_or("").to_owned(), parts.next().unwrap_or("").to_owned());
            let mut length = 0usize;
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).await.unwrap_or(0) == 0 {
                    return;
                }
                let h = h.trim_end();
                if h.is_empty() {
                    break;
                }
                if let Some((k, v)) = h.split_once(':') {
                    if k.eq_ignore_ascii_case("content-length") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).await.is_err() {
                return;
            }
            let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let path = target.split('?').next().unwrap_or("").to_owned();
            let (status, answer) = self.route(&method, &path, &body);
            {
                let mut s = self.state.lock().unwrap();
                s.requests.push(Request { method: method.clone(), path: path.clone(), body, status });
            }
            self.changed.notify_waiters();
            let text = if answer.is_null() { String::new() } else { answer.to_string() };
            let reason = match status {
                200 => "OK",
                204 => "No Content",
                429 => "Too Many Requests",
                _ => "Error",
            };
            let mut head = format!(
                "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
                text.len()
            );
            if status == 429 {
                head.push_str(&format!("Retry-After: {}\r\n", answer["retry_after"]));
            }
            head.push_str("\r\n");
            let stream = reader.get_mut();
            if stream.write_all(head.as_bytes()).await.is_err() || stream.write_all(text.as_bytes()).await.is_err() {
                return;
            }
        }
    }

    fn route(&self, method: &str, path: &str, body: &Value) -> (u16, Value) {
        let p: Vec<&str> = path.trim_start_matches("/api/v10/").split('/').collect();
        let ok = |v: Value| (200, v);
        match (method, p.as_slice()) {
            ("GET", ["gateway"]) => ok(json!({ "url": self.ws_url })),
            ("GET", ["gateway", "bot"]) => ok(json!({ "url": self.ws_url, "shards": 1,
                "session_start_limit": { "total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1 } })),
            ("PUT", ["applications", _, "guilds", _, "commands"]) | ("PUT", ["applications", _, "commands"]) => {
                let cmds: Vec<Value> = body
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|mut c| {
                        c["id"] = json!(self.snowflake().to_string());
                        c["application_id"] = json!(APP_ID.to_string());
                        c
                    })
                    .collect();
                ok(Value::Array(cmds))
            }
            ("POST", ["interactions", interaction, _, "callback"]) => {
                // UPDATE_MESSAGE (7) changes the message whose component was used.
                if body["type"] == 7 {
                    let mut s = self.state.lock().unwrap();
                    let clicked = s.clicks.get(*interaction).cloned();
                    if let Some(m) = s.messages.iter_mut().find(|m| Some(&m.id) == clicked.as_ref()) {
                        for (k, v) in body["data"].as_object().cloned().unwrap_or_default() {
                            m.body[k] = v;
                        }
                    }
                }
                (204, Value::Null)
            }
            ("PATCH", ["channels", _, "messages", message]) => {
                let mut s = self.state.lock().unwrap();
                match s.messages.iter_mut().find(|m| m.id == *message && !m.deleted) {
                    Some(m) => {
                        for (k, v) in body.as_object().cloned().unwrap_or_default() {
                            m.body[k] = v;
                        }
                        let content = m.body["content"].as_str().unwrap_or("").to_owned();
                        m.content = content;
                        ok(json!({ "id": message, "channel_id": m.channel, "content": m.content, "type": 0 }))
                    }
                    None => (404, json!({ "code": 10008, "message": "Unknown Message" })),
                }
            }
            ("PATCH", ["webhooks", _, token, "messages", "@original"]) => {
                ok(self.post_message(&format!("interaction:{token}"), body))
            }
            ("POST", ["webhooks", _, token]) => ok(self.post_message(&format!("interaction:{token}"), body)),
            ("POST", ["channels", channel, "messages"]) => {
                let limited = {
                    let mut s = self.state.lock().unwrap();
                    if s.rate_limit > 0 {
                        s.rate_limit -= 1;
                        Some(s.retry_after)
                    } else {
                        None
                    }
                };
                match limited {
                    Some(wait) => {
                        (429, json!({ "message": "You are being rate limited.", "retry_after": wait, "global": false }))
                    }
                    None => ok(self.post_message(channel, body)),
                }
            }
            ("POST", ["channels", channel, "messages", message, "threads"]) => {
                self.state.lock().unwrap().parents.insert(message.to_string(), Some(channel.to_string()));
                ok(
                    json!({ "id": message, "type": 11, "parent_id": channel, "guild_id": GUILD.to_string(), "name": body["name"] }),
                )
            }
            ("POST", ["channels", channel, "threads"]) => {
                let id = self.snowflake().to_string();
                self.state.lock().unwrap().parents.insert(id.clone(), Some(channel.to_string()));
                let mut first = body["message"].clone();
                first["id"] = json!(id);
                self.store_message(&id, &id, &first);
                ok(
                    json!({ "id": id, "type": 11, "parent_id": channel, "guild_id": GUILD.to_string(), "name": body["name"],
                           "message": { "id": id, "channel_id": id } }),
                )
            }
            ("DELETE", ["channels", _, "messages", message]) => {
                let mut s = self.state.lock().unwrap();
                match s.messages.iter_mut().find(|m| m.id == *message && !m.deleted) {
                    Some(m) => {
                        m.deleted = true;
                        (204, Value::Null)
                    }
                    None => (404, json!({ "code": 10008, "message": "Unknown Message" })),
                }
            }
            ("POST", ["users", "@me", "channels"]) => {
                let user: u64 = body["recipient_id"].as_str().and_then(|s| s.parse().ok()).unwrap_or(0);
                ok(json!({ "id": self.dm_channel_of(user), "type": 1 }))
            }
            ("GET", ["channels", channel]) => {
                let parent = self.state.lock().unwrap().parents.get(*channel).cloned();
                match parent {
                    Some(parent) => {
                        ok(json!({ "id": channel, "type": if parent.is_some() { 11 } else { 0 }, "parent_id": parent }))
                    }
                    None => (404, json!({ "code": 10003, "message": "Unknown Channel" })),
                }
            }
            _ => (404, json!({ "code": 0, "message": "404: Not Found" })),
        }
    }

    fn post_message(&self, channel: &str, body: &Value) -> Value {
        let id = self.snowflake().to_string();
        self.store_message(&id, channel, body);
        json!({ "id": id, "channel_id": channel, "content": body["content"], "type": 0 })
    }

    fn store_message(&self, id: &str, channel: &str, body: &Value) {
        let content = body["content"].as_str().unwrap_or("").to_owned();
        self.state.lock().unwrap().messages.push(Posted {
            id: id.into(),
            channel: channel.into(),
            content,
            body: body.clone(),
            deleted: false,
        });
    }

    // ---- gateway ----

    async fn serve_ws(&self, stream: TcpStream) {
        let Ok(ws) = tokio_tungstenite::accept_async(stream).await else { return };
        let (mut sink, mut source) = ws.split();
        let (tx, mut rx) = mpsc::unbounded_channel::<Out>();
        let writer = tokio::spawn(async move {
            while let Some(out) = rx.recv().await {
                match out {
                    Out::Send(v) => {
                        if sink.send(Ws::Text(v.to_string())).await.is_err() {
                            return;
                        }
                    }
                    Out::Drop => return,
                }
            }
        });
        let _ = tx.send(Out::Send(json!({ "op": 10, "d": { "heartbeat_interval": 1000 } })));
        while let Some(Ok(frame)) = source.next().await {
            let payload: Value = match frame {
                Ws::Text(t) => serde_json::from_str(&t).unwrap_or(Value::Null),
                Ws::Close(_) => break,
                _ => continue,
            };
            self.on_payload(&tx, payload);
            self.changed.notify_waiters();
            if writer.is_finished() {
                break;
            }
        }
        let mut s = self.state.lock().unwrap();
        if s.gateway.conn.as_ref().is_some_and(|c| c.same_channel(&tx)) {
            s.gateway.conn = None;
        }
        drop(s);
        writer.abort();
        self.changed.notify_waiters();
    }

    fn on_payload(&self, tx: &mpsc::UnboundedSender<Out>, payload: Value) {
        let mut s = self.state.lock().unwrap();
        let mut recorded = payload.clone();
        if recorded["d"].get("token").is_some() {
            recorded["d"]["token"] = json!("<token>");
        }
        s.received.push(recorded);
        match payload["op"].as_u64() {
            Some(1) => {
                s.gateway.heartbeats += 1;
                let _ = tx.send(Out::Send(json!({ "op": 11 })));
            }
            Some(2) => {
                s.gateway.identifies += 1;
                s.gateway.ready += 1;
                let session = format!("session-{}", s.gateway.identifies);
                s.gateway.session_id = Some(session.clone());
                s.gateway.seq = 1;
                s.gateway.log.clear();
                s.gateway.conn = Some(tx.clone());
                let ready = json!({ "op": 0, "t": "READY", "s": 1, "d": {
                    "v": 10,
                    "user": { "id": BOT_ID.to_string(), "username": "parley", "discriminator": "0", "global_name": null,
                              "avatar": null, "bot": true, "verified": true, "mfa_enabled": false, "flags": 0 },
                    "guilds": [{ "id": GUILD.to_string(), "unavailable": true }],
                    "session_id": session,
                    "resume_gateway_url": self.ws_url,
                    "shard": [0, 1],
                    "application": { "id": APP_ID.to_string(), "flags": 0 },
                    "private_channels": [],
                } });
                let _ = tx.send(Out::Send(ready));
            }
            Some(6) => {
                let d = &payload["d"];
                let same = d["session_id"].as_str() == s.gateway.session_id.as_deref();
                if !same {
                    let _ = tx.send(Out::Send(json!({ "op": 9, "d": false })));
                    return;
                }
                s.gateway.resumes += 1;
                let from = d["seq"].as_u64().unwrap_or(0);
                for (seq, event) in &s.gateway.log {
                    if *seq > from {
                        let _ = tx.send(Out::Send(event.clone()));
                    }
                }
                s.gateway.seq += 1;
                let resumed = json!({ "op": 0, "t": "RESUMED", "s": s.gateway.seq, "d": {} });
                let _ = tx.send(Out::Send(resumed));
                s.gateway.conn = Some(tx.clone());
            }
            _ => {}
        }
    }
}

fn message(id: &str, channel: &str, author: Value, text: &str, reply_to: Option<&str>) -> Value {
    let mut m = json!({
        "id": id, "channel_id": channel, "author": author, "content": text,
        "timestamp": "2026-01-01T12:00:00.000000+00:00", "edited_timestamp": null, "tts": false,
        "mention_everyone": false, "mentions": [], "mention_roles": [], "attachments": [], "embeds": [],
        "pinned": false, "type": 0, "flags": 0, "components": [],
    });
    if let Some(r) = reply_to {
        m["message_reference"] = json!({ "message_id": r, "channel_id": channel });
        m["type"] = json!(19);
    }
    m
}

/// Runs `f` and fails the test if it takes longer than `limit`.
pub async fn bounded<T>(limit: Duration, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, f).await.expect("the scenario finishes in time")
}

//! The REST calls the adapter makes to deliver, with Discord's answers kept whole: a 429
//! gives its `retry_after`, which the core then waits out (serenity's `Http` swallows it
//! when its rate limiter is off, and its rate limiter cannot be pointed at another server).

use std::time::Duration;

use serde_json::{json, Value};

/// Every request gives up after this long, so an unreachable Discord cannot stall delivery.
const TIMEOUT: Duration = Duration::from_secs(20);

/// `allowed_mentions` that parses nothing: no message of the bot pings anyone.
pub fn no_mentions() -> Value {
    json!({ "parse": [] })
}

/// Message flag: do not show link previews (embeds).
pub const SUPPRESS_EMBEDS: u64 = 1 << 2;
/// Message flag: only the user who used the command sees the message.
pub const EPHEMERAL: u64 = 1 << 6;

/// Why a REST call failed.
#[derive(Debug, thiserror::Error)]
pub enum RestError {
    /// HTTP 429: wait this long.
    #[error("rate limited for {0:?}")]
    RateLimited(Duration),
    /// Any other refusal: the HTTP status and Discord's JSON error code.
    #[error("HTTP {status} (Discord code {code:?})")]
    Status {
        /// HTTP status.
        status: u16,
        /// Discord's `code`, e.g. 10003 unknown channel, 50007 cannot DM this user.
        code: Option<i64>,
    },
    /// The request did not get an answer.
    #[error("network: {0}")]
    Network(#[from] reqwest::Error),
}

impl RestError {
    /// Retrying cannot help: the resource is gone or the bot may not do this.
    pub fn is_permanent(&self) -> bool {
        matches!(self, RestError::Status { status: 400 | 403 | 404, .. })
    }

    /// The resource (message, channel, webhook) does not exist (any more).
    pub fn is_not_found(&self) -> bool {
        matches!(self, RestError::Status { status: 404, .. })
            || matches!(self, RestError::Status { code: Some(10003 | 10008 | 10015 | 10062), .. })
    }

    /// A short description without ids, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            RestError::RateLimited(_) => "rate limited",
            RestError::Status { status: 403, .. } => "forbidden",
            RestError::Status { status: 404, .. } => "not found",
            RestError::Status { status: 400, .. } => "refused as malformed",
            RestError::Status { .. } => "refused",
            RestError::Network(_) => "network",
        }
    }
}

/// A thin REST client for Discord's v10 API (or a compatible server).
#[derive(Clone)]
pub struct Rest {
    client: reqwest::Client,
    base: String,
    auth: String,
}

impl std::fmt::Debug for Rest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rest").field("base", &self.base).finish_non_exhaustive()
    }
}

impl Rest {
    /// `base` is `https://discord.com` or a compatible server; `token` the bot token.
    pub fn new(base: &str, token: &str) -> Rest {
        let token = token.trim();
        let auth = if token.starts_with("Bot ") { token.to_owned() } else { format!("Bot {token}") };
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .user_agent("DiscordBot (https://github.com/parley, 0.1) parley")
            .build()
            .unwrap_or_default();
        Rest { client, base: format!("{}/api/v10", base.trim_end_matches('/')), auth }
    }

    /// One call; the JSON answer (`Value::Null` for 204).
    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Result<Value, RestError> {
        let mut request =
            self.client.request(method, format!("{}{path}", self.base)).header("Authorization", &self.auth);
        if let Some(body) = body {
            request = request.header("Content-Type", "application/json").body(body.to_string());
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let header_wait = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok());
        let bytes = response.bytes().await?;
        let json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if (200..300).contains(&status) {
            return Ok(json);
        }
        if status == 429 {
            let secs = json["retry_after"].as_f64().or(header_wait).unwrap_or(1.0).clamp(0.0, 3_600.0);
            return Err(RestError::RateLimited(Duration::from_secs_f64(secs)));
        }
        Err(RestError::Status { status, code: json["code"].as_i64() })
    }

    /// `POST` with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, RestError> {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    /// Sends a message into a channel (or thread); returns its id.
    pub async fn send_message(&self, channel: &str, body: &Value) -> Result<String, RestError> {
        let sent = self.post(&format!("/channels/{channel}/messages"), body).await?;
        id_of(&sent)
    }

    /// Deletes a message; one that is gone already counts as deleted.
    pub async fn delete_message(&self, channel: &str, message: &str) -> Result<(), RestError> {
        match self.call(reqwest::Method::DELETE, &format!("/channels/{channel}/messages/{message}"), None).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The DM channel with a user (created if needed).
    pub async fn dm_channel(&self, user: &str) -> Result<String, RestError> {
        let channel = self.post("/users/@me/channels", &json!({ "recipient_id": user })).await?;
        id_of(&channel)
    }

    /// A channel's `parent_id`, if it has one (threads do).
    pub async fn channel_parent(&self, channel: &str) -> Result<Option<String>, RestError> {
        let c = self.call(reqwest::Method::GET, &format!("/channels/{channel}"), None).await?;
        Ok(c["parent_id"].as_str().map(str::to_owned))
    }
}

/// The `id` of a created object.
fn id_of(v: &Value) -> Result<String, RestError> {
    v["id"].as_str().map(str::to_owned).ok_or(RestError::Status { status: 200, code: None })
}

/// A message body: inert content, nothing pinged, no link previews, optionally a reply.
pub fn message_body(content: &str, reply_to: Option<&str>) -> Value {
    let mut body = json!({
        "content": crate::text::content(content),
        "allowed_mentions": no_mentions(),
        "flags": SUPPRESS_EMBEDS,
    });
    if let Some(id) = reply_to {
        body["message_reference"] = json!({ "message_id": id, "fail_if_not_exists": false });
    }
    body
}

//! Logging in once and restoring the same session (device, tokens, stores) afterwards.
//!
//! Layout of `DATA_DIR/matrix/`:
//!
//! - `session.json` (0600): homeserver, user id, device id and tokens;
//! - `store/`: matrix-sdk's SQLite state store (with the sync token) and crypto store.

use std::path::{Path, PathBuf};

use matrix_sdk::authentication::matrix::MatrixSession;
use matrix_sdk::config::RequestConfig;
use matrix_sdk::{Client, SessionMeta, SessionTokens};
use serde::{Deserialize, Serialize};
use tracing::info;

use crate::{Config, Error, Result};

#[derive(Serialize, Deserialize)]
struct Saved {
    /// The homeserver the session belongs to; a different configured homeserver means a
    /// new login.
    homeserver: String,
    session: MatrixSession,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io { path: path.to_owned(), source }
}

/// Builds the client and logs in or restores the saved session. Returns whether this was a
/// new login.
pub(crate) async fn connect(config: &Config, dir: &Path) -> Result<(Client, bool)> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    restrict(dir, 0o700)?;
    let session_path = dir.join("session.json");
    let store = dir.join("store");

    if let Some(saved) = load(&session_path)? {
        let same_account = saved.homeserver == config.homeserver
            && config.access_token.as_deref().is_none_or(|t| t == saved.session.tokens.access_token);
        if same_account {
            let client = build(config, &store).await?;
            client.restore_session(saved.session).await.map_err(Error::Login)?;
            info!("matrix session restored");
            return Ok((client, false));
        }
        info!("matrix configuration changed; logging in anew");
    }

    // A new login is a new device: the old stores belong to another device.
    if store.exists() {
        std::fs::remove_dir_all(&store).map_err(io(&store))?;
    }
    let client = build(config, &store).await?;
    if let Some(token) = &config.access_token {
        let (user_id, device_id) = whoami(&client, token).await?;
        let session = MatrixSession {
            meta: SessionMeta { user_id, device_id },
            tokens: SessionTokens { access_token: token.clone(), refresh_token: None },
        };
        client.restore_session(session).await.map_err(Error::Login)?;
    } else if let Some(password) = &config.password {
        let mut backoff = std::time::Duration::from_millis(250);
        loop {
            let login = client
                .matrix_auth()
                .login_username(&config.user, password)
                .initial_device_display_name(&config.device_name)
                .await;
            match login {
                Ok(_) => break,
                Err(matrix_sdk::Error::Http(h)) if crate::is_transient(&h) => {
                    tracing::warn!(error = %h, "matrix login: homeserver unavailable; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(std::time::Duration::from_secs(10));
                }
                Err(e) => return Err(Error::Login(e)),
            }
        }
    } else {
        return Err(Error::Config("no password and no access token".into()));
    }
    let session =
        client.matrix_auth().session().ok_or_else(|| Error::Config("no Matrix session after login".into()))?;
    save(&session_path, &Saved { homeserver: config.homeserver.clone(), session })?;
    info!("matrix login done; session saved");
    Ok((client, true))
}

async fn build(config: &Config, store: &Path) -> Result<Client> {
    let builder = if config.homeserver.starts_with("http://") || config.homeserver.starts_with("https://") {
        Client::builder().homeserver_url(&config.homeserver)
    } else {
        Client::builder().server_name_or_homeserver_url(&config.homeserver)
    };
    Ok(builder
        .sqlite_store(store, config.store_passphrase.as_deref())
        .request_config(RequestConfig::new().timeout(std::time::Duration::from_secs(60)))
        .build()
        .await?)
}

/// Who an access token belongs to, asked before the client has a session.
async fn whoami(
    client: &Client,
    token: &str,
) -> Result<(matrix_sdk::ruma::OwnedUserId, matrix_sdk::ruma::OwnedDeviceId)> {
    #[derive(Deserialize)]
    struct WhoAmI {
        user_id: matrix_sdk::ruma::OwnedUserId,
        device_id: Option<matrix_sdk::ruma::OwnedDeviceId>,
    }
    let url = client
        .homeserver()
        .join("_matrix/client/v3/account/whoami")
        .map_err(|e| Error::Config(format!("homeserver URL: {e}")))?;
    let http = matrix_sdk::reqwest::Client::new();
    let response = http
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| Error::Login(matrix_sdk::Error::Http(Box::new(e.into()))))?;
    if response.status() == matrix_sdk::reqwest::StatusCode::UNAUTHORIZED {
        return Err(Error::Unauthorized);
    }
    let body = response
        .error_for_status()
        .map_err(|e| Error::Login(matrix_sdk::Error::Http(Box::new(e.into()))))?
        .bytes()
        .await
        .map_err(|e| Error::Login(matrix_sdk::Error::Http(Box::new(e.into()))))?;
    let who: WhoAmI =
        serde_json::from_slice(&body).map_err(|source| Error::SessionFile { path: PathBuf::from("whoami"), source })?;
    let device_id = who
        .device_id
        .ok_or_else(|| Error::Config("the access token has no device; use a token from a normal login".into()))?;
    Ok((who.user_id, device_id))
}

fn load(path: &Path) -> Result<Option<Saved>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| Error::SessionFile { path: path.to_owned(), source }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(path)(e)),
    }
}

fn save(path: &Path, saved: &Saved) -> Result<()> {
    let bytes =
        serde_json::to_vec_pretty(saved).map_err(|source| Error::SessionFile { path: path.to_owned(), source })?;
    let tmp = path.with_extension("json.tmp");
    write_private(&tmp, &bytes)?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

/// Writes a new file that only this user can read from the moment it exists (0600 at
/// creation, not restricted afterwards: the tokens are never readable by others).
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    // A leftover from a crash may have other permissions; create_new then refuses races.
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(path)(e)),
        _ => {}
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io(path))?;
    file.write_all(bytes).map_err(io(path))?;
    file.sync_all().map_err(io(path))
}

#[cfg(unix)]
fn restrict(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(io(path))
}

#[cfg(not(unix))]
fn restrict(_path: &Path, _mode: u32) -> Result<()> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn the_session_file_is_private_from_creation() {
        // Issue 9.15: session.json was written with the default mode, then restricted.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("session.json.tmp");
        std::fs::write(&path, b"stale").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_private(&path, b"{\"tokens\": 1}").unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::read(&path).unwrap(), b"{\"tokens\": 1}");
    }
}

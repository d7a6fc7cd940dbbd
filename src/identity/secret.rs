//! Where the deployment's secret comes from: `PARLEY_SECRET`, a secret file, or a random
//! one created on first run in the data folder with 0600 permissions.

use std::io::Write;
use std::path::{Path, PathBuf};

use rand::RngCore;

use crate::error::{Error, Result};

/// Where the secret was found, so the binary can say so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// The `PARLEY_SECRET` environment variable.
    Environment,
    /// An existing file.
    File(PathBuf),
    /// A new random secret written to this file just now.
    Created(PathBuf),
}

const MIN_LEN: usize = 16;

/// Loads the secret. Order: `env_secret` (from `PARLEY_SECRET`), then `file` (from
/// `PARLEY_SECRET_FILE` or the config), then `<data_dir>/secret`, created when missing.
pub fn load_secret(
    env_secret: Option<String>,
    file: Option<&Path>,
    data_dir: &Path,
) -> Result<(Vec<u8>, SecretSource)> {
    if let Some(s) = env_secret.filter(|s| !s.is_empty()) {
        if s.len() < MIN_LEN {
            return Err(Error::Secret(format!("PARLEY_SECRET must be at least {MIN_LEN} characters")));
        }
        return Ok((s.into_bytes(), SecretSource::Environment));
    }
    if let Some(path) = file {
        let bytes = read_secret_file(path)?;
        return Ok((bytes, SecretSource::File(path.to_path_buf())));
    }
    let path = data_dir.join("secret");
    if path.exists() {
        let bytes = read_secret_file(&path)?;
        return Ok((bytes, SecretSource::File(path)));
    }
    std::fs::create_dir_all(data_dir)
        .map_err(|source| Error::Io { context: format!("creating the data folder {}", data_dir.display()), source })?;
    let mut raw = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut raw);
    let text = hex::encode(raw);
    write_private(&path, text.as_bytes())?;
    Ok((text.into_bytes(), SecretSource::Created(path)))
}

fn read_secret_file(path: &Path) -> Result<Vec<u8>> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| Error::Io { context: format!("reading the secret file {}", path.display()), source })?;
    let trimmed = text.trim();
    if trimmed.len() < MIN_LEN {
        return Err(Error::Secret(format!(
            "the secret file {} must hold at least {MIN_LEN} characters",
            path.display()
        )));
    }
    Ok(trimmed.as_bytes().to_vec())
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |source| Error::Io { context: format!("writing the secret file {}", path.display()), source };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn creates_a_private_secret_once() {
        let dir = tempfile::tempdir().unwrap();
        let (a, src) = load_secret(None, None, dir.path()).unwrap();
        assert!(matches!(src, SecretSource::Created(_)));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("secret")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (b, src) = load_secret(None, None, dir.path()).unwrap();
        assert_eq!(a, b);
        assert!(matches!(src, SecretSource::File(_)));
    }

    #[test]
    fn environment_wins_and_short_secrets_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (s, src) = load_secret(Some("a-long-enough-secret".into()), None, dir.path()).unwrap();
        assert_eq!(s, b"a-long-enough-secret");
        assert_eq!(src, SecretSource::Environment);
        assert!(load_secret(Some("short".into()), None, dir.path()).is_err());
    }
}

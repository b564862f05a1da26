//! Settings read once from the environment at start-up and passed through the app state.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use concerto_persistence::Store;

/// Default store: a SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "concerto.db";
/// Default listening address: loopback only.
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
/// Default access-token lifetime: one hour.
pub const DEFAULT_TOKEN_TTL_SECONDS: i64 = 3600;

/// A configuration problem, reported in one line before anything starts.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `CONCERTO_BIND` is not `host:port`.
    #[error("CONCERTO_BIND={0:?} is not an address like 127.0.0.1:8080")]
    Bind(String),
    /// `CONCERTO_TOKEN_TTL_SECONDS` is not a positive number of seconds.
    #[error("CONCERTO_TOKEN_TTL_SECONDS={0:?} is not a number of seconds between 60 and 86400")]
    TokenTtl(String),
    /// `CONCERTO_JWT_SECRET` is too short to sign tokens safely.
    #[error("CONCERTO_JWT_SECRET must hold at least 32 characters")]
    WeakSecret,
    /// No secret was given and none can be kept for a PostgreSQL store.
    #[error("CONCERTO_JWT_SECRET is required with a PostgreSQL DATABASE_URL (the generated default is kept beside a SQLite file only)")]
    SecretRequired,
    /// The generated secret could not be read or written.
    #[error("cannot keep the generated JWT secret in {path}: {source}")]
    SecretFile {
        /// The file beside the SQLite database.
        path: PathBuf,
        /// What the file system said.
        source: std::io::Error,
    },
}

/// Everything the server needs from its environment.
#[derive(Clone)]
pub struct Settings {
    /// Which store, from `DATABASE_URL`.
    pub store: Store,
    /// `CONCERTO_BIND`.
    pub bind: SocketAddr,
    /// HS256 key of the access tokens.
    pub jwt_secret: Vec<u8>,
    /// Lifetime of an access token, in seconds.
    pub token_ttl_seconds: i64,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret or a database password.
        f.debug_struct("Settings").field("bind", &self.bind).field("token_ttl_seconds", &self.token_ttl_seconds).finish_non_exhaustive()
    }
}

impl Settings {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    }

    /// Reads the settings from any variable lookup (tests pass their own).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let store = Store::from_url(&var("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned()));
        let bind_text = var("CONCERTO_BIND").unwrap_or_else(|| DEFAULT_BIND.to_owned());
        let bind = bind_text.parse().map_err(|_| ConfigError::Bind(bind_text.clone()))?;
        let token_ttl_seconds = match var("CONCERTO_TOKEN_TTL_SECONDS") {
            None => DEFAULT_TOKEN_TTL_SECONDS,
            Some(t) => t.parse().ok().filter(|s| (60..=86_400).contains(s)).ok_or(ConfigError::TokenTtl(t))?,
        };
        let jwt_secret = match var("CONCERTO_JWT_SECRET") {
            Some(s) if s.len() >= 32 => s.into_bytes(),
            Some(_) => return Err(ConfigError::WeakSecret),
            None => match &store {
                Store::Postgres(_) => return Err(ConfigError::SecretRequired),
                Store::Sqlite(path) => kept_secret(&secret_path(path))?,
            },
        };
        Ok(Self { store, bind, jwt_secret, token_ttl_seconds })
    }
}

/// Where the generated secret of a SQLite store is kept: beside the database file.
pub fn secret_path(database_path: &str) -> PathBuf {
    PathBuf::from(format!("{database_path}.jwt-secret"))
}

/// Reads the kept secret, or generates one and keeps it (readable by the owner only), so that
/// tokens survive a restart without any configuration.
fn kept_secret(path: &Path) -> Result<Vec<u8>, ConfigError> {
    let file_error = |source| ConfigError::SecretFile { path: path.to_owned(), source };
    match std::fs::read_to_string(path) {
        Ok(s) if s.trim().len() >= 32 => return Ok(s.trim().as_bytes().to_vec()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(file_error(e)),
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| file_error(std::io::Error::other(e.to_string())))?;
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    write_private(path, &secret).map_err(file_error)?;
    log::info!("generated a JWT secret and kept it in {} (set CONCERTO_JWT_SECRET to choose one)", path.display());
    Ok(secret.into_bytes())
}

#[cfg(unix)]
fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    f.write_all(content.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    std::fs::write(path, content)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Settings::from_vars(|k| map.get(k).cloned())
    }

    #[test]
    fn bad_values_are_one_line_errors() {
        let secret = ("CONCERTO_JWT_SECRET", "0123456789abcdef0123456789abcdef");
        assert!(matches!(settings(&[secret, ("CONCERTO_BIND", "nowhere")]), Err(ConfigError::Bind(_))));
        assert!(matches!(settings(&[secret, ("CONCERTO_TOKEN_TTL_SECONDS", "0")]), Err(ConfigError::TokenTtl(_))));
        assert!(matches!(settings(&[("CONCERTO_JWT_SECRET", "short")]), Err(ConfigError::WeakSecret)));
        assert!(matches!(settings(&[("DATABASE_URL", "postgres://localhost/x")]), Err(ConfigError::SecretRequired)));
        let ok = settings(&[secret]).map(|s| (s.bind.to_string(), s.token_ttl_seconds));
        assert_eq!(ok.ok(), Some(("127.0.0.1:8080".to_owned(), 3600)));
    }

    #[test]
    fn generated_secret_is_kept_beside_the_sqlite_file() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let db = dir.path().join("c.db").to_string_lossy().into_owned();
        let first = settings(&[("DATABASE_URL", &db)])?.jwt_secret;
        let second = settings(&[("DATABASE_URL", &db)])?.jwt_secret;
        assert_eq!(first, second);
        assert!(first.len() >= 32);
        assert!(secret_path(&db).exists());
        Ok(())
    }
}

//! Settings read once from the environment at start-up and passed through the app state.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use concerto_persistence::Store;

/// Default store: a SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "concerto.db";
/// Default listening address: loopback only.
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
/// Default access-token lifetime: ten minutes. A token is checked against its session on every
/// request anyway; a short one bounds what a token copied out of a log or a browser is worth.
pub const DEFAULT_TOKEN_TTL_SECONDS: i64 = 600;
/// Default idle timeout of a login session: 30 minutes without a user request.
pub const DEFAULT_SESSION_IDLE_SECONDS: i64 = 1800;
/// Default absolute lifetime of a login session: 10 hours, a working day.
pub const DEFAULT_SESSION_MAX_SECONDS: i64 = 36_000;

/// Default login throttling: failed or pending attempts per account (username) per window.
pub const DEFAULT_LOGIN_MAX_PER_ACCOUNT: i32 = 5;
/// Default login throttling: failed or pending attempts per client address per window.
pub const DEFAULT_LOGIN_MAX_PER_ADDRESS: i32 = 20;
/// Default login throttling window, in seconds (15 minutes).
pub const DEFAULT_LOGIN_WINDOW_SECONDS: i64 = 900;
/// Default wait for a database connection before answering 503, in milliseconds.
pub const DEFAULT_DB_TIMEOUT_MS: u64 = 2000;
/// Default time given to in-flight requests to finish after SIGTERM, in seconds.
pub const DEFAULT_SHUTDOWN_TIMEOUT_SECONDS: u64 = 30;
/// Default time zone of the platform, in which a delegation's days are read.
pub const DEFAULT_TIME_ZONE: chrono_tz::Tz = chrono_tz::Europe::Paris;

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
    #[error("CONCERTO_JWT_SECRET must hold at least 32 bytes (256 bits)")]
    WeakSecret,
    /// A numeric setting is out of its range.
    #[error("{name}={value:?} is not a whole number between {min} and {max}")]
    OutOfRange {
        /// The variable.
        name: &'static str,
        /// What it held.
        value: String,
        /// Smallest accepted value.
        min: i64,
        /// Largest accepted value.
        max: i64,
    },
    /// `CONCERTO_TIME_ZONE` is not an IANA time zone.
    #[error("CONCERTO_TIME_ZONE={0:?} is not an IANA time zone like Europe/Paris")]
    TimeZone(String),
    /// `CONCERTO_TRUSTED_PROXIES` holds something that is not an IP address.
    #[error("CONCERTO_TRUSTED_PROXIES={0:?} is not a comma-separated list of IP addresses")]
    TrustedProxies(String),
    /// `CONCERTO_CORS_ORIGINS` holds something that is not an origin.
    #[error("CONCERTO_CORS_ORIGINS={0:?} is not a comma-separated list of origins like https://dcc.example.org")]
    CorsOrigins(String),
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
    /// Login throttling and the reading of the client address.
    pub auth: AuthSettings,
    /// `CONCERTO_CORS_ORIGINS`: browser origins allowed to call the API; empty, none is.
    pub cors_origins: Vec<String>,
    /// `CONCERTO_DB_TIMEOUT_MS`: the longest wait for a database connection.
    pub db_timeout: Duration,
    /// `CONCERTO_DB_POOL_SIZE`: database connections per instance ([`default_pool_size`]).
    pub db_pool_size: u32,
    /// `CONCERTO_SHUTDOWN_TIMEOUT_SECONDS`: time in-flight requests get after SIGTERM.
    pub shutdown_timeout_seconds: u64,
    /// `CONCERTO_TIME_ZONE`: the platform's time zone (a delegation's `YYYY-MM-DD` is its day).
    pub time_zone: chrono_tz::Tz,
    /// Login sessions: timeouts and how the refresh token travels.
    pub sessions: SessionSettings,
}

/// Login sessions' lifetimes and the refresh cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionSettings {
    /// `CONCERTO_SESSION_IDLE_SECONDS`: a session without a user request for this long ends.
    pub idle_seconds: i64,
    /// `CONCERTO_SESSION_MAX_SECONDS`: a session ends this long after its login, whatever.
    pub max_seconds: i64,
    /// `CONCERTO_REFRESH_COOKIE=on`: a browser front end may ask for its refresh token in an
    /// `HttpOnly; Secure; SameSite=Strict` cookie scoped to `/api/v1/auth`.
    pub refresh_cookie: bool,
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self { idle_seconds: DEFAULT_SESSION_IDLE_SECONDS, max_seconds: DEFAULT_SESSION_MAX_SECONDS, refresh_cookie: false }
    }
}

impl SessionSettings {
    /// The lifetimes as the store takes them.
    pub fn lifetimes(&self) -> concerto_persistence::login_sessions::Lifetimes {
        concerto_persistence::login_sessions::Lifetimes {
            idle: chrono::TimeDelta::seconds(self.idle_seconds),
            absolute: chrono::TimeDelta::seconds(self.max_seconds),
        }
    }
}

/// Login throttling limits and how the client address is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSettings {
    /// `CONCERTO_LOGIN_MAX_PER_ACCOUNT`: attempts per username per window.
    pub max_per_account: i32,
    /// `CONCERTO_LOGIN_MAX_PER_ADDRESS`: attempts per client address per window.
    pub max_per_address: i32,
    /// `CONCERTO_LOGIN_WINDOW_SECONDS`: the window.
    pub window_seconds: i64,
    /// `CONCERTO_TRUSTED_PROXIES`: peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpAddr>,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            max_per_account: DEFAULT_LOGIN_MAX_PER_ACCOUNT,
            max_per_address: DEFAULT_LOGIN_MAX_PER_ADDRESS,
            window_seconds: DEFAULT_LOGIN_WINDOW_SECONDS,
            trusted_proxies: Vec::new(),
        }
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret or a database password.
        f.debug_struct("Settings").field("bind", &self.bind).field("token_ttl_seconds", &self.token_ttl_seconds).finish_non_exhaustive()
    }
}

/// Connections per instance when `CONCERTO_DB_POOL_SIZE` is unset. PostgreSQL: twice the cores,
/// plus two (its own rule of thumb for a busy server); more connections than the cores can serve
/// only take turns on them and lengthen the queue's tail. SQLite: 10, since its connections wait
/// in this process (its one writer, the read trail's mutex), and fewer leave its lightest reads
/// short of connections (both measured in `bench/RESULTS.md`).
pub fn default_pool_size(store: &Store) -> u16 {
    match store {
        Store::Sqlite(_) => 10,
        Store::Postgres(_) => {
            let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
            u16::try_from(cores * 2 + 2).unwrap_or(u16::MAX).min(1000)
        }
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
        let number = |name: &'static str, default: i64, min: i64, max: i64| -> Result<i64, ConfigError> {
            match var(name) {
                None => Ok(default),
                Some(v) => {
                    v.trim().parse().ok().filter(|n| (min..=max).contains(n)).ok_or(ConfigError::OutOfRange { name, value: v, min, max })
                }
            }
        };
        let auth = AuthSettings {
            max_per_account: i32::try_from(number("CONCERTO_LOGIN_MAX_PER_ACCOUNT", DEFAULT_LOGIN_MAX_PER_ACCOUNT.into(), 1, 1000)?)
                .unwrap_or(1),
            max_per_address: i32::try_from(number("CONCERTO_LOGIN_MAX_PER_ADDRESS", DEFAULT_LOGIN_MAX_PER_ADDRESS.into(), 1, 100_000)?)
                .unwrap_or(1),
            window_seconds: number("CONCERTO_LOGIN_WINDOW_SECONDS", DEFAULT_LOGIN_WINDOW_SECONDS, 1, 86_400)?,
            trusted_proxies: match var("CONCERTO_TRUSTED_PROXIES") {
                None => Vec::new(),
                Some(v) => list(&v).map(|a| a.parse()).collect::<Result<_, _>>().map_err(|_| ConfigError::TrustedProxies(v.clone()))?,
            },
        };
        let cors_origins = match var("CONCERTO_CORS_ORIGINS") {
            None => Vec::new(),
            Some(v) => {
                let origins: Vec<String> = list(&v).map(str::to_owned).collect();
                let valid =
                    |o: &String| (o.starts_with("https://") || o.starts_with("http://")) && !o.ends_with('/') && !o.contains(['*', ' ']);
                if !origins.iter().all(valid) {
                    return Err(ConfigError::CorsOrigins(v));
                }
                origins
            }
        };
        let db_timeout = Duration::from_millis(number("CONCERTO_DB_TIMEOUT_MS", DEFAULT_DB_TIMEOUT_MS as i64, 100, 60_000)?.unsigned_abs());
        let db_pool_size = u32::try_from(number("CONCERTO_DB_POOL_SIZE", default_pool_size(&store).into(), 1, 1000)?).unwrap_or(1);
        let shutdown_timeout_seconds =
            number("CONCERTO_SHUTDOWN_TIMEOUT_SECONDS", DEFAULT_SHUTDOWN_TIMEOUT_SECONDS as i64, 0, 3600)?.unsigned_abs();
        let time_zone = match var("CONCERTO_TIME_ZONE") {
            None => DEFAULT_TIME_ZONE,
            Some(v) => v.trim().parse().map_err(|_| ConfigError::TimeZone(v.clone()))?,
        };
        let sessions = SessionSettings {
            idle_seconds: number("CONCERTO_SESSION_IDLE_SECONDS", DEFAULT_SESSION_IDLE_SECONDS, 60, 86_400)?,
            max_seconds: number("CONCERTO_SESSION_MAX_SECONDS", DEFAULT_SESSION_MAX_SECONDS, 300, 7 * 86_400)?,
            refresh_cookie: match var("CONCERTO_REFRESH_COOKIE").as_deref().map(str::trim) {
                None | Some("off") => false,
                Some("on") => true,
                Some(other) => {
                    return Err(ConfigError::OutOfRange {
                        name: "CONCERTO_REFRESH_COOKIE (on=1, off=0)",
                        value: other.to_owned(),
                        min: 0,
                        max: 1,
                    });
                }
            },
        };
        Ok(Self {
            sessions,
            store,
            bind,
            jwt_secret,
            token_ttl_seconds,
            auth,
            cors_origins,
            db_timeout,
            db_pool_size,
            shutdown_timeout_seconds,
            time_zone,
        })
    }
}

/// The non-empty items of a comma-separated list.
fn list(v: &str) -> impl Iterator<Item = &str> {
    v.split(',').map(str::trim).filter(|s| !s.is_empty())
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
        assert!(matches!(settings(&[secret, ("CONCERTO_LOGIN_MAX_PER_ACCOUNT", "0")]), Err(ConfigError::OutOfRange { .. })));
        assert!(matches!(settings(&[secret, ("CONCERTO_DB_TIMEOUT_MS", "fast")]), Err(ConfigError::OutOfRange { .. })));
        assert!(matches!(settings(&[secret, ("CONCERTO_TRUSTED_PROXIES", "10.0.0.1, proxy")]), Err(ConfigError::TrustedProxies(_))));
        assert!(matches!(settings(&[secret, ("CONCERTO_CORS_ORIGINS", "*")]), Err(ConfigError::CorsOrigins(_))));
        assert!(matches!(settings(&[secret, ("CONCERTO_SESSION_IDLE_SECONDS", "10")]), Err(ConfigError::OutOfRange { .. })));
        assert!(matches!(settings(&[secret, ("CONCERTO_REFRESH_COOKIE", "yes")]), Err(ConfigError::OutOfRange { .. })));
        assert_eq!(settings(&[secret]).ok().map(|s| s.sessions), Some(SessionSettings::default()));
        let s = settings(&[secret, ("CONCERTO_SESSION_IDLE_SECONDS", "600"), ("CONCERTO_REFRESH_COOKIE", "on")]).ok().map(|s| s.sessions);
        assert_eq!(s, Some(SessionSettings { idle_seconds: 600, max_seconds: 36_000, refresh_cookie: true }));
        let ok = settings(&[secret]).map(|s| (s.bind.to_string(), s.token_ttl_seconds, s.auth, s.cors_origins, s.db_timeout));
        assert_eq!(ok.ok(), Some(("127.0.0.1:8080".to_owned(), 600, AuthSettings::default(), Vec::new(), Duration::from_millis(2000))));
        let s = settings(&[
            secret,
            ("CONCERTO_TRUSTED_PROXIES", "10.0.0.1, ::1"),
            ("CONCERTO_CORS_ORIGINS", "https://dcc.example.org,http://localhost:3000"),
        ]);
        let s = s.ok();
        assert_eq!(s.as_ref().map(|s| s.auth.trusted_proxies.len()), Some(2));
        assert_eq!(s.map(|s| s.cors_origins), Some(vec!["https://dcc.example.org".to_owned(), "http://localhost:3000".to_owned()]));
    }

    #[test]
    fn the_pool_follows_the_store_and_the_cores_unless_told() {
        let secret = ("CONCERTO_JWT_SECRET", "0123456789abcdef0123456789abcdef");
        let postgres = Store::from_url("postgres://localhost/concerto");
        // At least as many connections as the WAL checkpoint and `/readyz` may hold beside the
        // turns, plus two requests.
        assert!(default_pool_size(&postgres) >= 4);
        let pg_url = ("DATABASE_URL", "postgres://localhost/concerto");
        assert_eq!(settings(&[secret, pg_url]).ok().map(|s| s.db_pool_size), Some(u32::from(default_pool_size(&postgres))));
        assert_eq!(settings(&[secret]).ok().map(|s| s.db_pool_size), Some(10));
        assert_eq!(settings(&[secret, pg_url, ("CONCERTO_DB_POOL_SIZE", "10")]).ok().map(|s| s.db_pool_size), Some(10));
        assert!(matches!(settings(&[secret, ("CONCERTO_DB_POOL_SIZE", "0")]), Err(ConfigError::OutOfRange { .. })));
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

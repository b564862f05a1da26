//! Authentication: argon2id passwords and HS256 access tokens. Who a request speaks for is the
//! `Caller` (`caller.rs`), whose rights are read from the database on every request.

use concerto_domain::ErrorCode;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm as Algorithm2, Argon2, Params, Version};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

const ISSUER: &str = "concerto";
/// The audience of our tokens: this API, so that a token minted for another service of the
/// same issuer and key is refused.
const AUDIENCE: &str = "concerto-api";

/// The claims of an access token: who (`sub`, an account id), in which generation of the
/// account (`gen`), and from when until when. Rights are not in the token: they are read from
/// the database on each request.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    iss: String,
    aud: String,
    iat: i64,
    nbf: i64,
    exp: i64,
    /// The account's token generation at issue; a password change or a disable moves the
    /// account on, and every older token stops. Exact, unlike a comparison of times that
    /// would have to decide about a token issued in the same second as the change.
    #[serde(rename = "gen")]
    generation: i64,
    /// The login session the token belongs to: checked open with the rights on every request.
    sid: String,
}

/// Who a valid token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSubject {
    /// The account id.
    pub account_id: String,
    /// The account's token generation when the token was issued.
    pub generation: i64,
    /// The login session (`login_sessions.id`).
    pub session_id: String,
}

/// The server's clock for sessions and tokens: the system's, moved on by [`Clock::advance`] in
/// tests, so that idle and absolute timeouts and token expiry are tested without sleeping. The
/// offset is shared by every clone (every worker of one server).
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_micros: Arc<AtomicI64>,
}

impl Clock {
    /// Now, by this clock.
    pub fn now(&self) -> chrono::NaiveDateTime {
        concerto_persistence::now() + chrono::TimeDelta::microseconds(self.offset_micros.load(Ordering::Relaxed))
    }

    /// Moves this clock on by `by` (tests).
    pub fn advance(&self, by: chrono::TimeDelta) {
        self.offset_micros.fetch_add(by.num_microseconds().unwrap_or(i64::MAX), Ordering::Relaxed);
    }
}

/// A new refresh token (256 random bits, URL-safe hex) and its SHA-256 digest, the only form the
/// store keeps.
pub fn new_refresh_token() -> Result<(String, String), ApiError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::Internal(e.to_string()))?;
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let digest = refresh_digest(&token);
    Ok((token, digest))
}

/// The SHA-256 (hex) of a refresh token: a token of 256 random bits needs no salt nor slow hash.
pub fn refresh_digest(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Keys and lifetime of the access tokens.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// Derived from the secret: keys the digests of the throttling counters.
    pepper: [u8; 32],
    /// Lifetime of a token, in seconds.
    pub ttl_seconds: i64,
}

impl TokenKeys {
    /// Keys for an HS256 secret.
    pub fn new(secret: &[u8], ttl_seconds: i64) -> Self {
        let pepper = Sha256::new().chain_update(b"concerto login throttle\0").chain_update(secret).finalize().into();
        Self { encoding: EncodingKey::from_secret(secret), decoding: DecodingKey::from_secret(secret), pepper, ttl_seconds }
    }

    /// Issues a token for an account in its current token generation and one of its login
    /// sessions, at `now`.
    pub fn issue(&self, account_id: &str, generation: i64, session_id: &str, now: chrono::NaiveDateTime) -> Result<String, ApiError> {
        let iat = now.and_utc().timestamp();
        let claims = Claims {
            sid: session_id.to_owned(),
            sub: account_id.to_owned(),
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            iat,
            nbf: iat,
            exp: iat + self.ttl_seconds,
            generation,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(|e| ApiError::Internal(e.to_string()))
    }

    /// The subject of a valid token: HS256 only (no `none`, no other algorithm), our issuer and
    /// audience, `exp`, `nbf`, `iat`, `sub`, `gen` and `sid` present, not expired and already
    /// valid at `now` (5 s of leeway for clock skew between instances). The dates are compared
    /// here with the server's [`Clock`], not by the library with the system's.
    pub fn verify(&self, token: &str, now: chrono::NaiveDateTime) -> Result<TokenSubject, ApiError> {
        const LEEWAY: i64 = 5;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "sub", "iss", "aud"]);
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation).map_err(|_| invalid_token())?.claims;
        let now = now.and_utc().timestamp();
        if claims.exp + LEEWAY <= now || claims.nbf - LEEWAY > now {
            return Err(invalid_token());
        }
        Ok(TokenSubject { account_id: claims.sub, generation: claims.generation, session_id: claims.sid })
    }

    /// A keyed digest naming a throttling counter (`kind` is `account` or `address`): the table
    /// keeps no username as typed, which may be a password typed in the wrong field.
    pub fn counter_key(&self, kind: &str, value: &str) -> String {
        let digest = Sha256::new()
            .chain_update(self.pepper)
            .chain_update(kind.as_bytes())
            .chain_update(b"\0")
            .chain_update(value.as_bytes())
            .finalize();
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        format!("{kind}:{hex}")
    }
}

pub(crate) fn invalid_token() -> ApiError {
    ApiError::Unauthorized { code: ErrorCode::InvalidToken, detail: "a valid, unexpired bearer token is required".to_owned() }
}

/// argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane), pinned here rather than taken
/// from the crate's defaults, which may change. Hashes made with other parameters still verify:
/// the PHC string carries its own.
fn argon2() -> Result<Argon2<'static>, ApiError> {
    let params = Params::new(19_456, 2, 1, None).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Argon2::new(Algorithm2::Argon2id, Version::V0x13, params))
}

/// At most one argon2 computation per core at a time. Each takes 19 MiB; sixteen logins at once
/// held 300 MB, which the allocator then kept (the server's peak RSS passed 1 GB in the login
/// bench). The work is CPU-bound, so beyond one per core the others only wait anyway.
struct ArgonTurns {
    free: Mutex<usize>,
    freed: Condvar,
}

static ARGON_TURNS: OnceLock<ArgonTurns> = OnceLock::new();

/// Runs `work` in one of the argon2 turns, waiting for one.
fn in_argon_turn<T>(work: impl FnOnce() -> T) -> T {
    let turns = ARGON_TURNS.get_or_init(|| ArgonTurns {
        free: Mutex::new(std::thread::available_parallelism().map_or(2, usize::from)),
        freed: Condvar::new(),
    });
    {
        let mut free = turns.free.lock().unwrap_or_else(PoisonError::into_inner);
        while *free == 0 {
            free = turns.freed.wait(free).unwrap_or_else(PoisonError::into_inner);
        }
        *free -= 1;
    }
    // Given back even if `work` panics.
    struct Release<'a>(&'a ArgonTurns);
    impl Drop for Release<'_> {
        fn drop(&mut self) {
            *self.0.free.lock().unwrap_or_else(PoisonError::into_inner) += 1;
            self.0.freed.notify_one();
        }
    }
    let _release = Release(turns);
    work()
}

/// Hashes a password with argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> Result<String, ApiError> {
    let argon = argon2()?;
    in_argon_turn(|| argon.hash_password(password.as_bytes()).map(|h| h.to_string()).map_err(|e| ApiError::Internal(e.to_string())))
}

/// Checks a password against a PHC string; any malformed hash counts as a mismatch.
pub fn verify_password(password: &str, phc: &str) -> bool {
    let Ok(argon) = argon2() else { return false };
    PasswordHash::new(phc).map(|h| in_argon_turn(|| argon.verify_password(password.as_bytes(), &h).is_ok())).unwrap_or(false)
}

/// Spends the work of a real check when there is no account to check against, so the time of a
/// refusal does not tell whether the username exists: a verification against a hash made once
/// with the same parameters.
pub fn verify_nobody(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let phc = DUMMY.get_or_init(|| hash_password("no account has this password").unwrap_or_default());
    let _ = verify_password(password, phc);
}

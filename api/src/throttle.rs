//! Login throttling: each attempt at a password (login, password change) is counted per
//! account and per client address in the database, and refused with 429 once either has used
//! its window's attempts. The counters live in the `login_throttle` table, so every instance
//! on the same database shares them and a restart keeps them.

use actix_web::HttpRequest;
use concerto_persistence::{accounts, audit, login_throttle};

use crate::caller::HeldConnection;
use crate::error::ApiError;
use crate::state::AppState;

/// The counters an attempt holds until it ends.
#[derive(Debug)]
pub struct Attempt {
    account_key: String,
    address_key: String,
}

/// The client address of a request: the peer, unless the peer is one of the trusted proxies
/// (`CONCERTO_TRUSTED_PROXIES`), in which case the nearest `X-Forwarded-For` entry that is not
/// itself a trusted proxy. Entries further left were written by the client and are ignored.
pub fn client_address(req: &HttpRequest, state: &AppState) -> String {
    let Some(peer) = req.peer_addr().map(|a| a.ip()) else {
        return "unknown".to_owned();
    };
    let trusted = &state.auth.trusted_proxies;
    if !trusted.contains(&peer) {
        return peer.to_string();
    }
    let forwarded: Vec<String> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    forwarded.into_iter().rev().find(|entry| entry.parse().map_or(true, |ip| !trusted.contains(&ip))).unwrap_or_else(|| peer.to_string())
}

/// Counts an attempt on `username` from `address` (on the request's held connection if any); 429 `too_many_attempts` when either counter
/// is spent (the refusal is audited as `action`, on the account when the username is real).
pub async fn begin(
    state: &AppState,
    held: Option<&HeldConnection>,
    action: &'static str,
    username: &str,
    address: &str,
) -> Result<Attempt, ApiError> {
    let attempt = Attempt {
        account_key: state.tokens.counter_key("account", &accounts::normalize_username(username)),
        address_key: state.tokens.counter_key("address", address),
    };
    let now = concerto_persistence::now();
    let window = chrono::TimeDelta::seconds(state.auth.window_seconds);
    let per_account = login_throttle::Limit { max_attempts: state.auth.max_per_account, window };
    let per_address = login_throttle::Limit { max_attempts: state.auth.max_per_address, window };
    let (account_key, address_key) = (attempt.account_key.clone(), attempt.address_key.clone());
    let username = username.to_owned();
    let refused = state
        .db_with(held, move |c| {
            if let Some(wait) = login_throttle::attempt(c, &address_key, per_address, now)? {
                return Ok(Some((wait, "address")));
            }
            if let Some(wait) = login_throttle::attempt(c, &account_key, per_account, now)? {
                login_throttle::give_back(c, &address_key)?;
                return Ok(Some((wait, "account")));
            }
            Ok(None)
        })
        .await?;
    let Some((retry_after, which)) = refused else {
        return Ok(attempt);
    };
    // Logged without the username or the address: the log is no place for either.
    log::warn!("{action} refused: too many attempts for this {which}; retry in {retry_after} s");
    refused_attempt(state, held, action, &username, concerto_domain::ErrorCode::TooManyAttempts.as_str()).await?;
    Err(ApiError::TooManyAttempts { retry_after })
}

/// Ends an attempt that succeeded: the account's counter starts afresh and the address gets
/// its attempt back (colleagues behind one hospital proxy share that counter).
pub async fn succeeded(state: &AppState, held: Option<&HeldConnection>, attempt: Attempt) -> Result<(), ApiError> {
    state
        .db_with(held, move |c| {
            login_throttle::clear(c, &attempt.account_key)?;
            login_throttle::give_back(c, &attempt.address_key)
        })
        .await
}

/// Audits a refused attempt: on the account (and its centers) when `username` names one, with
/// its `reason` (never what was typed).
pub async fn refused_attempt(
    state: &AppState,
    held: Option<&HeldConnection>,
    action: &'static str,
    username: &str,
    reason: &'static str,
) -> Result<(), ApiError> {
    let username = username.to_owned();
    state
        .db_with(held, move |c| {
            let account = accounts::credentials(c, &username)?.map(|creds| creds.account_id);
            audit::record_refused_login(c, action, account.as_deref(), reason)
        })
        .await
}

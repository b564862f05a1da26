//! Login sessions (issue 29): what a login opens, its access tokens name and its refresh token
//! keeps alive. Not the boards' `sessions` (their meetings). The store keeps only SHA-256
//! digests of refresh tokens, computed by the api; no function here sees a token.
//!
//! A session is open while it has not ended, its absolute end (`expires_at`) is ahead and its
//! last user request (`last_activity_at`) is within the idle timeout. `accounts::load_caller`
//! checks that in the statement that reads the rights; a refresh checks it in its conditional
//! `UPDATE`.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

use concerto_domain::principal::Principal;

use crate::audit::{self, Outcome};
use crate::schema::{accounts, login_session_used_tokens, login_sessions};
use crate::{DbConnection, Error, db, new_id};

/// Why a session ended (`end_reason`).
pub mod reason {
    /// `POST /auth/logout`.
    pub const LOGOUT: &str = "logout";
    /// `DELETE /me/sessions/{id}`.
    pub const ENDED_BY_USER: &str = "ended_by_user";
    /// `DELETE /accounts/{id}/sessions`.
    pub const ENDED_BY_ADMIN: &str = "ended_by_admin";
    /// `POST /me/password`.
    pub const PASSWORD_CHANGED: &str = concerto_domain::ErrorCode::PasswordChanged.as_str();
    /// `PATCH /accounts/{id}` with `active: false`.
    pub const ACCOUNT_DISABLED: &str = concerto_domain::ErrorCode::AccountDisabled.as_str();
    /// A refresh token presented a second time.
    pub const REFRESH_TOKEN_REUSED: &str = concerto_domain::ErrorCode::RefreshTokenReused.as_str();
}

/// How long sessions last, from the settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    /// Without a user request for this long, the session ends.
    pub idle: TimeDelta,
    /// Whatever its activity, the session ends this long after the login.
    pub absolute: TimeDelta,
}

/// What a login knows about the session it opens.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The account that logged in.
    pub account_id: String,
    /// `password` or `psc`.
    pub method: &'static str,
    /// The acr of a Pro Santé Connect login.
    pub acr: Option<String>,
    /// The client address (as `throttle::client_address` reads it).
    pub client_address: String,
    /// The `User-Agent` header, cut to 200 characters.
    pub user_agent: Option<String>,
    /// SHA-256 (hex) of the first refresh token.
    pub refresh_hash: String,
}

/// A session as `/me/sessions` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct LoginSession {
    /// Opaque id (the `sid` of its access tokens).
    pub id: String,
    /// `password` or `psc`.
    pub method: String,
    /// The acr of a Pro Santé Connect login.
    pub acr: Option<String>,
    /// Where from.
    pub client_address: String,
    /// With what.
    pub user_agent: Option<String>,
    /// When it was opened.
    pub created_at: NaiveDateTime,
    /// The last user request (to the minute).
    pub last_activity_at: NaiveDateTime,
    /// Its absolute end.
    pub expires_at: NaiveDateTime,
}

const SHOWN: (
    login_sessions::id,
    login_sessions::method,
    login_sessions::acr,
    login_sessions::client_address,
    login_sessions::user_agent,
    login_sessions::created_at,
    login_sessions::last_activity_at,
    login_sessions::expires_at,
) = (
    login_sessions::id,
    login_sessions::method,
    login_sessions::acr,
    login_sessions::client_address,
    login_sessions::user_agent,
    login_sessions::created_at,
    login_sessions::last_activity_at,
    login_sessions::expires_at,
);

/// Opens a session at `now` and audits the login (`auth.login`, detail `method=… acr=…`): its id.
pub fn open(conn: &mut DbConnection, new: &NewSession, lifetimes: Lifetimes, now: NaiveDateTime) -> Result<String, Error> {
    let id = new_id();
    db::write(conn, |c| {
        diesel::insert_into(login_sessions::table)
            .values((
                login_sessions::id.eq(&id),
                login_sessions::account_id.eq(&new.account_id),
                login_sessions::method.eq(new.method),
                login_sessions::acr.eq(&new.acr),
                login_sessions::client_address.eq(&new.client_address),
                login_sessions::user_agent.eq(&new.user_agent),
                login_sessions::created_at.eq(now),
                login_sessions::last_activity_at.eq(now),
                login_sessions::expires_at.eq(now + lifetimes.absolute),
                login_sessions::refresh_hash.eq(&new.refresh_hash),
            ))
            .execute(c)?;
        let detail = match &new.acr {
            Some(acr) => format!("method={} acr={acr}", new.method),
            None => format!("method={}", new.method),
        };
        audit::record_session_event(c, None, &new.account_id, "auth.login", Some(&id), Outcome::Allowed, &detail)
    })?;
    Ok(id)
}

/// What a refresh came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refresh {
    /// The token was the session's current one: it is replaced by the new one.
    Rotated {
        /// The session.
        session_id: String,
        /// Its account.
        account_id: String,
        /// The account's token generation, for the new access token.
        generation: i64,
        /// The session's absolute end.
        expires_at: NaiveDateTime,
    },
    /// The token was one the session had already rotated away from: the session has ended.
    Reused,
    /// Unknown, or its session ended or timed out.
    Invalid,
}

/// Rotates a refresh token: the session whose current token digest is `presented` gets `next`,
/// in one conditional `UPDATE` that also requires the session open (not ended, within its
/// absolute lifetime and its idle timeout) and its account active. Of two refreshes with the same
/// token, the second finds the digest changed (on PostgreSQL it waits for the first's row lock,
/// then reads the committed row): it is a reuse, and ends the session. A refresh is not a user
/// request: it does not extend the idle timeout. Every outcome is audited (`auth.refresh`).
pub fn refresh(conn: &mut DbConnection, presented: &str, next: &str, lifetimes: Lifetimes, now: NaiveDateTime) -> Result<Refresh, Error> {
    db::write(conn, |c| {
        let active_accounts = accounts::table.filter(accounts::active).select(accounts::id);
        let n = diesel::update(
            login_sessions::table
                .filter(login_sessions::refresh_hash.eq(presented))
                .filter(login_sessions::ended_at.is_null())
                .filter(login_sessions::expires_at.gt(now))
                .filter(login_sessions::last_activity_at.gt(now - lifetimes.idle))
                .filter(login_sessions::account_id.eq_any(active_accounts)),
        )
        .set((login_sessions::refresh_hash.eq(next), login_sessions::refreshed_at.eq(now)))
        .execute(c)?;
        if n == 1 {
            let (session_id, account_id, expires_at, generation) = login_sessions::table
                .inner_join(accounts::table)
                .filter(login_sessions::refresh_hash.eq(next))
                .select((login_sessions::id, login_sessions::account_id, login_sessions::expires_at, accounts::token_generation))
                .first::<(String, String, NaiveDateTime, i64)>(c)?;
            diesel::insert_into(login_session_used_tokens::table)
                .values((
                    login_session_used_tokens::refresh_hash.eq(presented),
                    login_session_used_tokens::session_id.eq(&session_id),
                    login_session_used_tokens::used_at.eq(now),
                ))
                .execute(c)?;
            audit::record_session_event(c, None, &account_id, "auth.refresh", Some(&session_id), Outcome::Allowed, "rotated")?;
            return Ok(Refresh::Rotated { session_id, account_id, generation, expires_at });
        }
        let reused = login_session_used_tokens::table
            .inner_join(login_sessions::table)
            .filter(login_session_used_tokens::refresh_hash.eq(presented))
            .select((login_sessions::id, login_sessions::account_id))
            .first::<(String, String)>(c)
            .optional()?;
        if let Some((session_id, account_id)) = reused {
            end_where(c, &account_id, Some(&session_id), reason::REFRESH_TOKEN_REUSED, now)?;
            audit::record_session_event(
                c,
                None,
                &account_id,
                "auth.refresh",
                Some(&session_id),
                Outcome::Denied,
                reason::REFRESH_TOKEN_REUSED,
            )?;
            return Ok(Refresh::Reused);
        }
        let current = login_sessions::table
            .filter(login_sessions::refresh_hash.eq(presented))
            .select((
                login_sessions::id,
                login_sessions::account_id,
                login_sessions::ended_at,
                login_sessions::expires_at,
                login_sessions::end_reason,
            ))
            .first::<(String, String, Option<NaiveDateTime>, NaiveDateTime, Option<String>)>(c)
            .optional()?;
        match current {
            Some((session_id, account_id, ended_at, expires_at, end_reason)) => {
                let why = match (ended_at, end_reason) {
                    (Some(_), Some(r)) => format!("session_ended ({r})"),
                    (Some(_), None) => "session_ended".to_owned(),
                    _ if expires_at <= now => "absolute_timeout".to_owned(),
                    _ => "idle_timeout_or_account_disabled".to_owned(),
                };
                audit::record_session_event(c, None, &account_id, "auth.refresh", Some(&session_id), Outcome::Denied, &why)?;
            }
            None => audit::record_refused_login(c, "auth.refresh", None, "unknown_refresh_token")?,
        }
        Ok(Refresh::Invalid)
    })
}

/// Ends the session whose current refresh token digest is `presented` (`POST /auth/logout`):
/// `true` when an open session ended.
pub fn logout(conn: &mut DbConnection, presented: &str, now: NaiveDateTime) -> Result<bool, Error> {
    db::write(conn, |c| {
        let found = login_sessions::table
            .filter(login_sessions::refresh_hash.eq(presented))
            .filter(login_sessions::ended_at.is_null())
            .select((login_sessions::id, login_sessions::account_id))
            .first::<(String, String)>(c)
            .optional()?;
        let Some((session_id, account_id)) = found else {
            return Ok(false);
        };
        let n = end_where(c, &account_id, Some(&session_id), reason::LOGOUT, now)?;
        if n > 0 {
            audit::record_session_event(c, None, &account_id, "auth.logout", Some(&session_id), Outcome::Allowed, reason::LOGOUT)?;
        }
        Ok(n > 0)
    })
}

/// The open sessions of an account, newest first (`GET /me/sessions`).
pub fn list_open(conn: &mut DbConnection, account_id: &str, lifetimes: Lifetimes, now: NaiveDateTime) -> Result<Vec<LoginSession>, Error> {
    let rows = login_sessions::table
        .filter(login_sessions::account_id.eq(account_id))
        .filter(login_sessions::ended_at.is_null())
        .filter(login_sessions::expires_at.gt(now))
        .filter(login_sessions::last_activity_at.gt(now - lifetimes.idle))
        .order((login_sessions::created_at.desc(), login_sessions::id))
        .select(SHOWN)
        .load::<LoginSession>(conn)?;
    Ok(rows)
}

/// Ends one open session of the account (`DELETE /me/sessions/{id}`); 404 when the account has
/// no such open session. Audited `auth.session_end`.
pub fn end_own(conn: &mut DbConnection, account_id: &str, session_id: &str, now: NaiveDateTime) -> Result<(), Error> {
    db::write(conn, |c| {
        let n = end_where(c, account_id, Some(session_id), reason::ENDED_BY_USER, now)?;
        if n == 0 {
            return Err(Error::NotFound("session"));
        }
        audit::record_session_event(c, None, account_id, "auth.session_end", Some(session_id), Outcome::Allowed, reason::ENDED_BY_USER)
    })
}

/// Ends every open session of an account, in the caller's transaction: a password change, a
/// disable, an administrator's decision. Audited `auth.session_end` on the account when any
/// ended, by `actor` (the administrator's professional id) or the account's owner. Returns how
/// many ended.
pub fn end_all(
    conn: &mut DbConnection,
    actor: Option<&str>,
    account_id: &str,
    why: &'static str,
    now: NaiveDateTime,
) -> Result<usize, Error> {
    let n = end_where(conn, account_id, None, why, now)?;
    if n > 0 {
        audit::record_session_event(
            conn,
            actor,
            account_id,
            "auth.session_end",
            None,
            Outcome::Allowed,
            &format!("{why}: {n} session(s)"),
        )?;
    }
    Ok(n)
}

/// Marks the session active at `now` unless it was within the last minute: at most one write
/// per session and minute, whatever the requests.
pub fn touch(conn: &mut DbConnection, session_id: &str, now: NaiveDateTime) -> Result<(), Error> {
    db::write(conn, |c| {
        diesel::update(
            login_sessions::table
                .filter(login_sessions::id.eq(session_id))
                .filter(login_sessions::last_activity_at.lt(now - TimeDelta::minutes(1))),
        )
        .set(login_sessions::last_activity_at.eq(now))
        .execute(c)?;
        Ok(())
    })
}

/// Ends the open sessions of one account, or only its session `session_id`: how many.
fn end_where(conn: &mut DbConnection, account_id: &str, session_id: Option<&str>, why: &str, now: NaiveDateTime) -> Result<usize, Error> {
    let open = login_sessions::table.filter(login_sessions::account_id.eq(account_id)).filter(login_sessions::ended_at.is_null());
    let set = (login_sessions::ended_at.eq(now), login_sessions::end_reason.eq(why));
    let n = match session_id {
        Some(id) => diesel::update(open.filter(login_sessions::id.eq(id))).set(set).execute(conn)?,
        None => diesel::update(open).set(set).execute(conn)?,
    };
    Ok(n)
}

/// `POST /me/password`: [`accounts::change_password`] and the end of every session of the
/// account, in one transaction.
pub fn change_password(
    conn: &mut DbConnection,
    account_id: &str,
    read_generation: i64,
    password_hash: &str,
    now: NaiveDateTime,
) -> Result<(), Error> {
    db::write(conn, |c| {
        crate::accounts::change_password(c, account_id, read_generation, password_hash)?;
        end_all(c, None, account_id, reason::PASSWORD_CHANGED, now).map(|_| ())
    })
}

/// `PATCH /accounts/{id}`: [`accounts::set_active`]; a disable also ends every session of the
/// account, in the same transaction.
pub fn set_account_active(
    conn: &mut DbConnection,
    p: &Principal,
    account_id: &str,
    active: bool,
    now: NaiveDateTime,
) -> Result<crate::accounts::Account, Error> {
    db::write(conn, |c| {
        let account = crate::accounts::set_active(c, p, account_id, active)?;
        if !active {
            end_all(c, Some(&p.professional_id), account_id, reason::ACCOUNT_DISABLED, now)?;
        }
        Ok(account)
    })
}

/// `DELETE /accounts/{id}/sessions`: the platform administrator ends every session of an
/// account (404 for an unknown account); how many ended.
pub fn end_all_by_admin(conn: &mut DbConnection, p: &Principal, account_id: &str, now: NaiveDateTime) -> Result<usize, Error> {
    concerto_domain::rules::may_end_sessions_of(p, account_id)?;
    db::write(conn, |c| {
        let exists = accounts::table.find(account_id).select(accounts::id).first::<String>(c).optional()?;
        if exists.is_none() {
            return Err(Error::NotFound("account"));
        }
        end_all(c, Some(&p.professional_id), account_id, reason::ENDED_BY_ADMIN, now)
    })
}

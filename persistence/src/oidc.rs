//! Pro Santé Connect login (issue 29, parts 3-4): the attempts `/auth/oidc/start` keeps for
//! their callback, and the (issuer, sub) bound to an account at its first login. No function
//! here sees a token or an authorization code.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::accounts::Credentials;
use crate::schema::{accounts, oidc_attempts, oidc_identities, professionals};
use crate::{DbConnection, Error, db};

/// What an attempt keeps for its callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The `state` sent to the provider (the attempt's key).
    pub state: String,
    /// The `nonce` the ID token must carry.
    pub nonce: String,
    /// The PKCE verifier of the `code_challenge` sent.
    pub pkce_verifier: String,
}

/// Records an attempt started at `now`, alive until `expires_at`; drops the attempts already dead.
pub fn begin(conn: &mut DbConnection, attempt: &Attempt, now: NaiveDateTime, expires_at: NaiveDateTime) -> Result<(), Error> {
    db::write(conn, |c| {
        diesel::delete(oidc_attempts::table.filter(oidc_attempts::expires_at.le(now))).execute(c)?;
        diesel::insert_into(oidc_attempts::table)
            .values((
                oidc_attempts::state.eq(&attempt.state),
                oidc_attempts::nonce.eq(&attempt.nonce),
                oidc_attempts::pkce_verifier.eq(&attempt.pkce_verifier),
                oidc_attempts::created_at.eq(now),
                oidc_attempts::expires_at.eq(expires_at),
            ))
            .execute(c)?;
        Ok(())
    })
}

/// Takes the live attempt of `state` (single use: of two callbacks with one state, the one
/// whose `DELETE` removes the row gets it, the other gets `None`).
pub fn take(conn: &mut DbConnection, state: &str, now: NaiveDateTime) -> Result<Option<Attempt>, Error> {
    db::write(conn, |c| {
        let row = oidc_attempts::table
            .find(state)
            .filter(oidc_attempts::expires_at.gt(now))
            .select((oidc_attempts::state, oidc_attempts::nonce, oidc_attempts::pkce_verifier))
            .first::<(String, String, String)>(c)
            .optional()?;
        let Some((state, nonce, pkce_verifier)) = row else { return Ok(None) };
        let deleted = diesel::delete(oidc_attempts::table.find(&state)).execute(c)?;
        Ok((deleted == 1).then_some(Attempt { state, nonce, pkce_verifier }))
    })
}

/// The account of the professional whose RPPS is `rpps`, if any.
pub fn account_by_rpps(conn: &mut DbConnection, rpps: &str) -> Result<Option<Credentials>, Error> {
    let row = accounts::table
        .inner_join(professionals::table)
        .filter(professionals::rpps.eq(rpps))
        .select((accounts::id, accounts::password_hash, accounts::active, accounts::token_generation, accounts::username))
        .first::<Credentials>(conn)
        .optional()?;
    Ok(row)
}

/// What binding an identity came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    /// First login: (issuer, sub) is now this account's.
    Bound,
    /// Already this account's.
    Known,
    /// The account is bound to another sub of this issuer, or the sub to another account.
    Conflict,
}

/// Binds (`issuer`, `subject`) to `account_id` on its first login, or checks the binding.
pub fn bind(conn: &mut DbConnection, issuer: &str, subject: &str, account_id: &str, now: NaiveDateTime) -> Result<Binding, Error> {
    db::write(conn, |c| {
        let bound: Vec<(String, String)> = oidc_identities::table
            .filter(oidc_identities::issuer.eq(issuer))
            .filter(oidc_identities::subject.eq(subject).or(oidc_identities::account_id.eq(account_id)))
            .select((oidc_identities::subject, oidc_identities::account_id))
            .load(c)?;
        if bound.iter().any(|(s, a)| s == subject && a == account_id) {
            return Ok(Binding::Known);
        }
        if !bound.is_empty() {
            return Ok(Binding::Conflict);
        }
        diesel::insert_into(oidc_identities::table)
            .values((
                oidc_identities::issuer.eq(issuer),
                oidc_identities::subject.eq(subject),
                oidc_identities::account_id.eq(account_id),
                oidc_identities::created_at.eq(now),
            ))
            .execute(c)?;
        Ok(Binding::Bound)
    })
}

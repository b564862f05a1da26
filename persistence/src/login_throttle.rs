//! Login throttling counters, kept in the database so that every instance behind a load
//! balancer counts the same attempts and a restart forgets nothing.
//!
//! A counter is a fixed window per key: at most `max_attempts` attempts from the first one of
//! the window until `window` has passed. An attempt counts as soon as it starts (so parallel
//! guesses cannot slip past the limit while a hash is computed) and is given back when it
//! succeeds. Each step is one atomic statement, so concurrent attempts on several instances
//! never count less than they did.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

use crate::schema::login_throttle;
use crate::{DbConnection, Error};

/// How many attempts a key may make per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Attempts allowed in one window.
    pub max_attempts: i32,
    /// Length of the window.
    pub window: TimeDelta,
}

/// Counts one attempt for `key`: `Ok(None)` when it may proceed, `Ok(Some(seconds))` when the key
/// has used its window's attempts, with the seconds until the window ends (at least 1).
pub fn attempt(conn: &mut DbConnection, key: &str, limit: Limit, now: NaiveDateTime) -> Result<Option<i64>, Error> {
    let cutoff = now - limit.window;
    // A few tries: between two of these statements a concurrent attempt may insert the row, and
    // a concurrent success may delete it (`clear`).
    for _ in 0..TRIES {
        let counted = diesel::update(
            login_throttle::table
                .find(key)
                .filter(login_throttle::window_start.gt(cutoff))
                .filter(login_throttle::failures.lt(limit.max_attempts)),
        )
        .set(login_throttle::failures.eq(login_throttle::failures + 1))
        .execute(conn)?;
        if counted == 1 {
            return Ok(None);
        }
        let renewed = diesel::update(login_throttle::table.find(key).filter(login_throttle::window_start.le(cutoff)))
            .set((login_throttle::failures.eq(1), login_throttle::window_start.eq(now)))
            .execute(conn)?;
        if renewed == 1 {
            return Ok(None);
        }
        let row = login_throttle::table
            .find(key)
            .select((login_throttle::window_start, login_throttle::failures))
            .first::<(NaiveDateTime, i32)>(conn)
            .optional()?;
        match row {
            // Spent: the only case that refuses.
            Some((started, failures)) if started > cutoff && failures >= limit.max_attempts => {
                let left = (started + limit.window - now).num_milliseconds();
                return Ok(Some(((left + 999) / 1000).max(1)));
            }
            // The row came or changed since the updates read it: count again. (Refusing here
            // answered 429 "retry in 900 s" to logins of one account made at once, far below
            // its limit, whenever another of them had just succeeded and cleared the row.)
            Some(_) => continue,
            None => {}
        }
        // Expired rows of other keys go when a new key comes: the table stays the size of the
        // last window's attempts.
        diesel::delete(login_throttle::table.filter(login_throttle::window_start.le(cutoff))).execute(conn)?;
        let inserted = diesel::insert_into(login_throttle::table)
            .values((login_throttle::key.eq(key), login_throttle::failures.eq(1), login_throttle::window_start.eq(now)))
            .execute(conn);
        match inserted {
            Ok(_) => return Ok(None),
            Err(e) => match Error::from(e) {
                Error::Conflict { .. } => continue,
                other => return Err(other),
            },
        }
    }
    // The row kept changing under us: refuse this one for a second rather than not count it.
    Ok(Some(1))
}

/// How many times [`attempt`] recounts when concurrent attempts change the row under it.
const TRIES: usize = 8;

/// Gives back an attempt that succeeded: a client behind the same address as many colleagues
/// is not held back by their successful logins.
pub fn give_back(conn: &mut DbConnection, key: &str) -> Result<(), Error> {
    diesel::update(login_throttle::table.find(key).filter(login_throttle::failures.gt(0)))
        .set(login_throttle::failures.eq(login_throttle::failures - 1))
        .execute(conn)?;
    Ok(())
}

/// Forgets a key's counter: an account that logged in starts afresh.
pub fn clear(conn: &mut DbConnection, key: &str) -> Result<(), Error> {
    diesel::delete(login_throttle::table.find(key)).execute(conn)?;
    Ok(())
}

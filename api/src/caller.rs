//! The authenticated caller of a request and the connection the request holds: what a handler
//! passes to `AppState::db_as`. The extractor that makes a `Caller` from a request lives with
//! the state it reads (`state.rs`).

use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use actix_web::HttpRequest;
use actix_web::http::header;
use concerto_persistence::accounts::LoadedCaller;
use concerto_persistence::db::PooledConnection;
use tokio::sync::OwnedSemaphorePermit;

use crate::auth::TokenSubject;

/// The authenticated caller of a request: the account a valid token speaks for. Its rights are
/// read fresh from the database by the request's first piece of database work
/// ([`AppState::db_as`], [`AppState::rights_of`]), for a request without a body in the same
/// blocking call and on the same connection as the handler's own work: each hop between actix's
/// workers and its blocking pool costs the lightest reads a measurable share of their throughput.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The account and the token's generation, checked against the account with the rights.
    pub(crate) subject: TokenSubject,
    /// The rights once read: later pieces of the same request reuse them.
    pub(crate) rights: Arc<OnceLock<Arc<LoadedCaller>>>,
    /// The connection of the request: the rights and the handler's work are read on it, one
    /// checkout per request.
    pub connection: HeldConnection,
    /// The request is a write of a resource without an ETag and names one in `If-Match`: its
    /// work answers 412 once the body and the rights have been judged.
    pub(crate) foreign_if_match: bool,
    /// The request says it is a background call (`X-Concerto-Background: 1`): it does not keep
    /// the login session alive.
    pub(crate) background: bool,
}

/// The header a front end sets on the calls it makes by itself (polling a counter, refreshing
/// a list on a timer): they do not count as the user's activity for the idle timeout.
pub const BACKGROUND_HEADER: &str = "x-concerto-background";

/// Whether the request carries `X-Concerto-Background: 1` (or `true`).
pub(crate) fn is_background(req: &HttpRequest) -> bool {
    req.headers().get(BACKGROUND_HEADER).and_then(|v| v.to_str().ok()).is_some_and(|v| matches!(v.trim(), "1" | "true"))
}

/// Whether the request announces a body (a length above zero, or a chunked one).
pub(crate) fn carries_body(req: &HttpRequest) -> bool {
    let headers = req.headers();
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok()).is_some_and(|n| n > 0)
}

/// The pooled connection of one request, checked out by its first piece of database work and
/// given back when the last clone is dropped, at the end of the request: the caller's rights and
/// the handler's work share one checkout.
#[derive(Clone, Default)]
pub struct HeldConnection(pub(crate) Arc<Mutex<Held>>);

/// What a request holds: the connection its turn gave it, and the turn. Fields drop in order:
/// the connection is back in the pool before the next turn begins.
#[derive(Default)]
pub(crate) struct Held {
    pub(crate) conn: Option<PooledConnection>,
    pub(crate) turn: Option<OwnedSemaphorePermit>,
}

impl HeldConnection {
    /// Gives the connection back to the pool now, before work that takes long without it (an
    /// upload streaming in); the next piece of work waits for a turn and checks out another.
    pub fn release(&self) {
        let mut held = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        held.conn = None;
        held.turn = None;
    }

    pub(crate) fn has_turn(&self) -> bool {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).turn.is_some()
    }
}

impl std::fmt::Debug for HeldConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let held = self.0.try_lock().map(|slot| slot.conn.is_some()).ok();
        f.debug_struct("HeldConnection").field("held", &held).finish()
    }
}

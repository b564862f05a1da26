//! Statement counting: the SQL statements each thread's connections send, for the tests and
//! the measurements that count a request's round trips.

use std::cell::Cell;

use diesel::connection::{Instrumentation, InstrumentationEvent};

/// SQL statements sent on one thread, as counted by the instrumentation of pooled connections.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatementCount {
    /// Every statement, `BEGIN`/`COMMIT`/`ROLLBACK` and savepoints included.
    pub all: u64,
    /// Transaction control statements only (`BEGIN`, `COMMIT`, `ROLLBACK`, savepoints).
    pub transaction: u64,
}

impl StatementCount {
    /// The statements that read or write data: all but transaction control.
    pub fn besides_transactions(&self) -> u64 {
        self.all.saturating_sub(self.transaction)
    }

    /// What was sent since `earlier` (a count taken on the same thread).
    pub fn since(&self, earlier: StatementCount) -> StatementCount {
        StatementCount { all: self.all.saturating_sub(earlier.all), transaction: self.transaction.saturating_sub(earlier.transaction) }
    }
}

thread_local! {
    // A connection is used by one thread at a time and a request's work runs on one blocking
    // thread, so a per-thread tally read before and after the work counts that work alone.
    static STATEMENTS: Cell<StatementCount> = const { Cell::new(StatementCount { all: 0, transaction: 0 }) };
}

/// The statements pooled connections have sent on this thread so far: read it before and after
/// a piece of work to count that work's round trips.
pub fn statements_on_this_thread() -> StatementCount {
    STATEMENTS.with(Cell::get)
}

/// Adds `event` to this thread's tally when it starts a statement or ends a transaction.
pub(crate) fn count(event: &InstrumentationEvent<'_>) {
    STATEMENTS.with(|c| {
        let mut n = c.get();
        match event {
            InstrumentationEvent::StartQuery { .. } => n.all += 1,
            InstrumentationEvent::BeginTransaction { .. }
            | InstrumentationEvent::CommitTransaction { .. }
            | InstrumentationEvent::RollbackTransaction { .. } => n.transaction += 1,
            _ => {}
        }
        c.set(n);
    });
}

/// The instrumentation of a connection outside the pool whose statements still count (the
/// read trail's).
#[derive(Debug, Default)]
pub(crate) struct Counted;

impl Instrumentation for Counted {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        count(&event);
    }
}

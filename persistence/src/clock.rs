//! The clock every stored time is read from: the system's, or, on one thread and for the
//! length of a closure, a time set by the caller. `concerto demo` builds a year of boards
//! through the same store functions as the API and dates each step on its board, so that the
//! validations, sendings and attendance it leaves are as far apart as real ones.

use std::cell::Cell;

use chrono::NaiveDateTime;

thread_local! {
    static SET: Cell<Option<NaiveDateTime>> = const { Cell::new(None) };
}

/// The current UTC time at microsecond precision, the finest both stores keep (or the time
/// [`at`] set on this thread).
pub fn now() -> NaiveDateTime {
    SET.with(Cell::get).unwrap_or_else(system_now)
}

fn system_now() -> NaiveDateTime {
    let t = chrono::Utc::now().naive_utc();
    chrono::DurationRound::duration_trunc(t, chrono::TimeDelta::microseconds(1)).unwrap_or(t)
}

/// Runs `f` with [`now`] answering `t` on this thread, then gives the clock back (also when
/// `f` panics). Only `concerto demo` sets it: a server's requests always read the system's.
pub fn at<T>(t: NaiveDateTime, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<NaiveDateTime>);
    impl Drop for Restore {
        fn drop(&mut self) {
            SET.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(SET.with(|c| c.replace(Some(t))));
    f()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_set_time_holds_inside_the_closure_only() {
        let t = chrono::NaiveDate::from_ymd_opt(2026, 1, 5).and_then(|d| d.and_hms_opt(14, 30, 0)).unwrap_or_default();
        assert_eq!(at(t, now), t);
        let inner = t + chrono::Duration::hours(2);
        assert_eq!(at(t, || (at(inner, now), now())), (inner, t));
        assert!(now() > t + chrono::Duration::days(300));
        assert!(std::panic::catch_unwind(|| at(t, || panic!("inside"))).is_err());
        assert!(now() > t + chrono::Duration::days(300));
    }
}

//! Small-number suppression of the activity report, primary and secondary: no figure drawn from
//! fewer than five dossiers is shown, nor can it be recovered by subtracting the visible rows of
//! a breakdown from its total (which every other breakdown of the same query shows). Where a
//! breakdown's rows overlap (a dossier in several rows), the same rule on the rows' own counts
//! protects them: subtraction then tells less than the suppressed rows' sum, which the rule
//! already keeps from pinning any one of them.

/// A row drawn from fewer dossiers than this is not shown (as health statistics do).
pub const SMALL_NUMBER_THRESHOLD: i64 = 5;

/// One row of a breakdown, as suppression sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cell {
    /// The dossiers the row is drawn from.
    pub dossiers: i64,
    /// Every dossier of the row is the caller's own request: he knows it, it is never hidden
    /// from him (and hiding it would protect nothing).
    pub own: bool,
}

impl Cell {
    /// Hidden for what it is, not to protect another row.
    fn primary(&self) -> bool {
        !self.own && self.dossiers > 0 && self.dossiers < SMALL_NUMBER_THRESHOLD
    }
}

/// Which rows of a breakdown are suppressed. Primary: a row of 1 to 4 dossiers, unless it is
/// the caller's own (a row drawn from one physician, a requester's or a specialty's that only
/// he requested in, is his row: it is hidden from others under the same threshold). Secondary: the visible rows and the total
/// give the suppressed rows' sum; one suppressed row alone would be that sum, and suppressed
/// rows of one dossier each would each be known too (a row exists only with a dossier). So
/// while fewer than two rows are suppressed, or they hold one dossier each, the smallest other
/// row with dossiers that is not the caller's own is suppressed as well. When none is left (the
/// rest are the caller's own), nothing more can be hidden from him in this breakdown.
pub fn suppressed(cells: &[Cell]) -> Vec<bool> {
    let mut hidden: Vec<bool> = cells.iter().map(Cell::primary).collect();
    loop {
        let count = hidden.iter().filter(|h| **h).count();
        let sum: i64 = cells.iter().zip(&hidden).filter(|(_, h)| **h).map(|(c, _)| c.dossiers).sum();
        if count == 0 || (count >= 2 && sum > i64::try_from(count).unwrap_or(i64::MAX)) {
            return hidden;
        }
        let next = cells
            .iter()
            .enumerate()
            .filter(|(i, c)| !hidden[*i] && !c.own && c.dossiers > 0)
            .min_by_key(|(i, c)| (c.dossiers, *i))
            .map(|(i, _)| i);
        match next {
            Some(i) => hidden[i] = true,
            None => return hidden,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cell(dossiers: i64) -> Cell {
        Cell { dossiers, own: false }
    }

    #[test]
    fn one_small_row_takes_the_next_smallest_with_it() {
        assert_eq!(suppressed(&[cell(3), cell(9), cell(6), cell(20)]), vec![true, false, true, false]);
        assert_eq!(suppressed(&[cell(5), cell(9)]), vec![false, false]);
        assert_eq!(suppressed(&[cell(3), cell(2), cell(9)]), vec![true, true, false]);
        // Two rows of one dossier each are each known from their sum: a third goes.
        assert_eq!(suppressed(&[cell(1), cell(1), cell(7), cell(8)]), vec![true, true, true, false]);
        // Rows without dossiers (sessions only) say nothing about patients.
        assert_eq!(suppressed(&[cell(0), cell(8)]), vec![false, false]);
    }

    #[test]
    fn the_callers_own_rows_stay_visible_and_protect_nothing() {
        let own = Cell { dossiers: 2, own: true };
        assert_eq!(suppressed(&[own, cell(3), cell(12)]), vec![false, true, true]);
        assert_eq!(suppressed(&[own, cell(3)]), vec![false, true]);
    }

    fn cells() -> impl Strategy<Value = Vec<Cell>> {
        proptest::collection::vec((0i64..14, proptest::bool::weighted(0.15)).prop_map(|(dossiers, own)| Cell { dossiers, own }), 0..9)
    }

    proptest! {
        /// Whoever reads a breakdown knows its total (any other breakdown of the query shows
        /// it), every visible row, and that a row exists only with a dossier. From that, each
        /// suppressed row's dossiers lie in [1, total − visible − (suppressed − 1)]: never one
        /// value, unless every row that could hide it is the caller's own.
        #[test]
        fn no_suppressed_row_is_recovered_by_subtraction(cells in cells()) {
            let hidden = suppressed(&cells);
            let total: i64 = cells.iter().map(|c| c.dossiers).sum();
            let visible: i64 = cells.iter().zip(&hidden).filter(|(_, h)| !**h).map(|(c, _)| c.dossiers).sum();
            let k = hidden.iter().filter(|h| **h).count() as i64;
            for (c, h) in cells.iter().zip(&hidden) {
                // Primary suppression holds, and the caller's own rows are his.
                if !c.own && c.dossiers > 0 && c.dossiers < SMALL_NUMBER_THRESHOLD {
                    prop_assert!(*h, "{:?} shown in {:?}", c, cells);
                }
                if c.own || c.dossiers == 0 {
                    prop_assert!(!*h, "{:?} hidden in {:?}", c, cells);
                }
            }
            if k == 0 {
                return Ok(());
            }
            let (lowest, highest) = (1, total - visible - (k - 1));
            let could_hide_more = cells.iter().zip(&hidden).any(|(c, h)| !*h && !c.own && c.dossiers > 0);
            if could_hide_more {
                prop_assert!(highest > lowest, "a suppressed row is recovered: {:?} → {:?}", cells, hidden);
            }
        }

        /// Rows that overlap, as by proposal type: each dossier (with its requester, the caller
        /// or not) counts in the row of each of its types, or in `none` without one. The
        /// subtraction of the visible rows from the total gives only a lower bound of the
        /// suppressed rows' sum; a reader who knows the overlap knows the sum itself. Even then
        /// each suppressed row lies in [1, sum − (suppressed − 1)], never one value, unless every
        /// row that could hide it is the caller's own; and no row of 1 to 4 dossiers shows.
        #[test]
        fn overlapping_rows_keep_their_suppressed_rows(dossiers in proptest::collection::vec((0u8..16, proptest::bool::weighted(0.2)), 0..30)) {
            const TYPES: usize = 4;
            let mut cells = vec![Cell { dossiers: 0, own: true }; TYPES + 1];
            for (types, caller) in &dossiers {
                let rows: Vec<usize> = if *types == 0 { vec![TYPES] } else { (0..TYPES).filter(|t| types & (1 << t) != 0).collect() };
                for r in rows {
                    cells[r].dossiers += 1;
                    cells[r].own &= *caller;
                }
            }
            // A row exists only with a dossier.
            let cells: Vec<Cell> = cells.into_iter().filter(|c| c.dossiers > 0).collect();
            let hidden = suppressed(&cells);
            for (c, h) in cells.iter().zip(&hidden) {
                if !c.own && c.dossiers < SMALL_NUMBER_THRESHOLD {
                    prop_assert!(*h, "{:?} shown in {:?}", c, cells);
                }
                if c.own {
                    prop_assert!(!*h, "{:?} hidden in {:?}", c, cells);
                }
            }
            let k = hidden.iter().filter(|h| **h).count() as i64;
            let sum: i64 = cells.iter().zip(&hidden).filter(|(_, h)| **h).map(|(c, _)| c.dossiers).sum();
            let could_hide_more = cells.iter().zip(&hidden).any(|(c, h)| !*h && !c.own);
            if k > 0 && could_hide_more {
                prop_assert!(sum - (k - 1) > 1, "a suppressed row is recovered: {:?} → {:?}", cells, hidden);
            }
        }
    }
}

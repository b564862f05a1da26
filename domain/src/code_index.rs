//! A code list held in memory for the pickers' search (`GET /terminology/{system}?q=`).
//!
//! The SQL search read its word index (up to thousands of rows for a common word) or walked the
//! codes testing `LIKE` on each: 29.6 ms p99 at 16 connections on 60,000 codes, 108 ms for three
//! common words. A list changes only when an operator loads a version, so the store keeps one
//! `CodeIndex` per list version and a search costs a few microseconds here, beside the caller's
//! rights statement, which also says which version is current. The answer is exactly [`Query::matches`] over the codes valid on the
//! day, in code order: the property test below holds the two together.

use chrono::NaiveDate;

use crate::terminology::{Entry, Query, code_key, terms};

/// A rare query word leads through its postings when they hold at most this many codes;
/// beyond it, walking the codes in order finds a page sooner.
const RARE: usize = 4_096;

/// One code of the index, with the words it is found by.
#[derive(Debug, Clone)]
struct Indexed {
    entry: Entry,
    key: Box<str>,
    /// The ids of the code's key and its label's folded words (see [`CodeIndex::vocabulary`]).
    terms: Box<[u32]>,
}

/// A query resolved against the vocabulary: each word is the range of the term ids it starts,
/// since ids follow the words' order.
struct Resolved<'q> {
    code_key: &'q str,
    words: Vec<std::ops::Range<u32>>,
}

impl Indexed {
    fn matches(&self, q: &Resolved<'_>) -> bool {
        self.key.starts_with(q.code_key) || q.words.iter().all(|w| self.terms.iter().any(|t| w.contains(t)))
    }
}

/// Every code of one list version, sorted by code (byte order, as the store pages them), with
/// the sorted distinct words of the list (a term's id is its rank), each word's codes, and the
/// codes' keys in order. Words are held once: 60,000 codes of about seven words take a few
/// megabytes, not one string per (code, word).
#[derive(Debug, Clone, Default)]
pub struct CodeIndex {
    codes: Vec<Indexed>,
    vocabulary: Vec<Box<str>>,
    /// For each term id, the positions of its codes, ascending.
    postings: Vec<Box<[u32]>>,
    keys: Vec<(Box<str>, u32)>,
}

fn position(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

impl CodeIndex {
    /// The index of these entries (any order; one entry per code).
    pub fn new(mut entries: Vec<Entry>) -> Self {
        entries.sort_by(|a, b| a.code.cmp(&b.code));
        // Two passes over the words, not one list of every (code, word) string: the server
        // keeps the peak of what it builds (60,000 codes hold 420,000 words, a handful distinct).
        let distinct: std::collections::BTreeSet<String> = entries.iter().flat_map(|e| terms(&e.code, &e.label)).collect();
        let vocabulary: Vec<Box<str>> = distinct.into_iter().map(String::into_boxed_str).collect();
        let id = |w: &str| position(vocabulary.binary_search_by(|v| v.as_ref().cmp(w)).unwrap_or(0));
        let mut postings: Vec<Vec<u32>> = vec![Vec::new(); vocabulary.len()];
        let codes: Vec<Indexed> = entries
            .into_iter()
            .enumerate()
            .map(|(i, entry)| {
                let terms: Box<[u32]> = terms(&entry.code, &entry.label).iter().map(|w| id(w)).collect();
                for t in terms.iter() {
                    postings[*t as usize].push(position(i));
                }
                Indexed { key: code_key(&entry.code).into_boxed_str(), terms, entry }
            })
            .collect();
        let mut keys: Vec<(Box<str>, u32)> = codes.iter().enumerate().map(|(i, c)| (c.key.clone(), position(i))).collect();
        keys.sort_unstable();
        Self { codes, vocabulary, postings: postings.into_iter().map(Vec::into_boxed_slice).collect(), keys }
    }

    /// How many codes the index holds, valid or not.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// True when it holds none.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// Up to `limit` codes valid on `day` that answer `q` (every valid code without one), after
    /// the code `after` when given, in code order.
    pub fn search(&self, q: Option<&Query>, day: NaiveDate, after: Option<&str>, limit: usize) -> Vec<&Entry> {
        self.search_with(q, day, after, limit, RARE)
    }

    /// [`Self::search`], leading through a word's postings of at most `rare` codes.
    fn search_with(&self, q: Option<&Query>, day: NaiveDate, after: Option<&str>, limit: usize, rare: usize) -> Vec<&Entry> {
        let start = after.map_or(0, |a| self.codes.partition_point(|c| c.entry.code.as_str() <= a));
        let resolved = q.map(|q| Resolved { code_key: &q.code_key, words: q.words.iter().map(|w| self.term_range(w)).collect() });
        let answers = |c: &&Indexed| c.entry.is_valid_on(day) && resolved.as_ref().is_none_or(|q| c.matches(q));
        let Some(candidates) = resolved.as_ref().and_then(|q| self.candidates(q, rare)) else {
            return self.codes[start..].iter().filter(answers).take(limit).map(|c| &c.entry).collect();
        };
        let from = position(start);
        candidates
            .into_iter()
            .filter(|&i| i >= from)
            .map(|i| &self.codes[i as usize])
            .filter(answers)
            .take(limit)
            .map(|c| &c.entry)
            .collect()
    }

    /// The ids of the terms that start with `prefix`: a range, since ids follow the words' order.
    fn term_range(&self, prefix: &str) -> std::ops::Range<u32> {
        let from = self.vocabulary.partition_point(|w| w.as_ref() < prefix);
        let len = self.vocabulary[from..].partition_point(|w| w.starts_with(prefix));
        position(from)..position(from + len)
    }

    /// The positions, sorted, of every code that may answer `q` when they are few: those under
    /// the code's key, and those of the query's rarest word (every word must match, so one
    /// suffices to bound them). `None` when either is common.
    fn candidates(&self, q: &Resolved<'_>, rare: usize) -> Option<Vec<u32>> {
        let from = self.keys.partition_point(|(k, _)| k.as_ref() < q.code_key);
        let by_key = &self.keys[from..from + self.keys[from..].partition_point(|(k, _)| k.starts_with(q.code_key))];
        let postings = |w: &std::ops::Range<u32>| w.clone().map(|t| self.postings[t as usize].len()).sum::<usize>();
        let rarest = q.words.iter().min_by_key(|w| postings(w))?;
        if by_key.len() > rare || postings(rarest) > rare {
            return None;
        }
        let mut found: Vec<u32> = by_key.iter().map(|(_, i)| *i).collect();
        found.extend(rarest.clone().flat_map(|t| self.postings[t as usize].iter().copied()));
        found.sort_unstable();
        found.dedup();
        Some(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Days::new(u64::from(d))
    }

    fn entry(code: &str, label: &str, from: u32, until: Option<u32>) -> Entry {
        Entry::new(code, label, day(from), until.map(day)).unwrap()
    }

    #[test]
    fn finds_by_code_prefix_and_by_every_word_in_code_order_and_pages() {
        let index = CodeIndex::new(vec![
            entry("C50.9", "Sein, sans précision", 0, None),
            entry("C34.1", "Lobe supérieur, bronches ou poumon", 0, None),
            entry("C18.0", "Caecum", 0, Some(5)),
            entry("C50.1", "Partie centrale du sein", 0, None),
        ]);
        let codes = |q: &str, d: u32, after: Option<&str>, limit: usize| -> Vec<String> {
            index.search(Query::parse(q).as_ref(), day(d), after, limit).into_iter().map(|e| e.code.clone()).collect()
        };
        assert_eq!(codes("c50", 1, None, 10), ["C50.1", "C50.9"]);
        assert_eq!(codes("SEIN", 1, None, 10), ["C50.1", "C50.9"]);
        assert_eq!(codes("sein centr", 1, None, 10), ["C50.1"]);
        assert_eq!(codes("poumon lobe", 1, None, 10), ["C34.1"]);
        assert_eq!(codes("caecum", 1, None, 10), ["C18.0"]);
        assert!(codes("caecum", 6, None, 10).is_empty(), "a retired code is not offered");
        assert_eq!(codes("c", 1, Some("C34.1"), 1), ["C50.1"]);
        assert_eq!(index.search(None, day(6), None, 10).len(), 3);
    }

    fn lists() -> impl Strategy<Value = Vec<Entry>> {
        proptest::collection::btree_map(
            "[A-C][0-9]{1,2}",
            ("[abcé]{1,3}( [abc]{1,2}){0,2}", 0u32..10, proptest::option::of(5u32..15)),
            0..40,
        )
        .prop_map(|m| m.into_iter().map(|(code, (label, from, until))| entry(&code, &label, from, until.map(|u| u.max(from)))).collect())
    }

    proptest! {
        /// Whatever the list and the query, the index answers what testing every code with
        /// `Query::matches` answers, page by page.
        #[test]
        fn the_index_answers_what_matching_every_code_answers(
            entries in lists(), q in "[abcé0-9 ]{0,6}", d in 0u32..16, limit in 1usize..5, rare in prop_oneof![Just(0usize), Just(3), Just(RARE)],
        ) {
            let index = CodeIndex::new(entries.clone());
            let query = Query::parse(&q);
            let mut sorted = entries;
            sorted.sort_by(|a, b| a.code.cmp(&b.code));
            let expected: Vec<&Entry> = sorted
                .iter()
                .filter(|e| e.is_valid_on(day(d)) && query.as_ref().is_none_or(|q| q.matches(&e.code, &e.label)))
                .collect();
            let mut got: Vec<&Entry> = Vec::new();
            loop {
                let page = index.search_with(query.as_ref(), day(d), got.last().map(|e| e.code.as_str()), limit, rare);
                let done = page.len() < limit;
                got.extend(page);
                if done { break; }
            }
            prop_assert_eq!(got, expected);
        }
    }
}

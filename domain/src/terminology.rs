//! Code lists (CIM-10, CIM-O-3, the FRCP treatment types, organs, natures of an RCP): what a
//! list's entry is, how a picker's query matches it, and how a new version of a list replaces
//! the one loaded before without losing the codes dossiers already hold.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;

use crate::ErrorCode;
use crate::error::DomainError;
use crate::text::search_key;

/// A code system's list as it stands, read with a caller's rights: the version loaded last and
/// the load that wrote it (the key of the list's index held in memory); both `None` until a list
/// is loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentList {
    /// The code system's name (`cim10`, …).
    pub system: String,
    /// The version loaded last.
    pub version: Option<String>,
    /// The load that wrote the list as it stands.
    pub load_id: Option<String>,
}

/// The longest code any list holds: CIM-10 and CIM-O-3 codes are a handful of characters, the
/// FRCP's own a dozen; anything much longer is a column mix-up in the file.
pub const MAX_CODE_LEN: usize = 64;
/// The longest label.
pub const MAX_LABEL_LEN: usize = 1000;

/// One code of a list, valid from `valid_from` through `valid_until` (inclusive) when it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The code as the list writes it (`C50.9`, `8500/3`, `387713003`).
    pub code: String,
    /// Its label.
    pub label: String,
    /// First day of validity.
    pub valid_from: NaiveDate,
    /// Last day of validity; `None` while the code is in the list.
    pub valid_until: Option<NaiveDate>,
}

impl Entry {
    /// A checked entry: a code of 1 to [`MAX_CODE_LEN`] characters without spaces that holds a
    /// letter or a digit, a label of 1 to [`MAX_LABEL_LEN`] characters, and a validity that
    /// does not end before it starts.
    pub fn new(code: &str, label: &str, valid_from: NaiveDate, valid_until: Option<NaiveDate>) -> Result<Self, DomainError> {
        let (code, label) = (code.trim(), label.trim());
        if code.is_empty() || code.chars().count() > MAX_CODE_LEN || code.chars().any(char::is_whitespace) || code_key(code).is_empty() {
            return Err(DomainError::invalid(
                "code",
                ErrorCode::InvalidCode,
                format!("a code holds 1 to {MAX_CODE_LEN} characters, letters or digits among them, and no space"),
            ));
        }
        if label.is_empty() || label.chars().count() > MAX_LABEL_LEN {
            return Err(DomainError::invalid("label", ErrorCode::InvalidLabel, format!("a label holds 1 to {MAX_LABEL_LEN} characters")));
        }
        if valid_until.is_some_and(|until| until < valid_from) {
            return Err(DomainError::invalid("valid_until", ErrorCode::InvalidValidity, "valid_until is before valid_from"));
        }
        Ok(Self { code: code.to_owned(), label: label.to_owned(), valid_from, valid_until })
    }

    /// True when the code may be used on `day`.
    pub fn is_valid_on(&self, day: NaiveDate) -> bool {
        self.valid_from <= day && self.valid_until.is_none_or(|until| day <= until)
    }
}

/// The key a code is searched by: lowercase letters and digits only, so that `C50.9`, `c509`
/// and `C50` all lead to it by prefix.
pub fn code_key(code: &str) -> String {
    deunicode::deunicode(code).chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
}

/// The words an entry is found by: its code's key and each word of its folded label.
pub fn terms(code: &str, label: &str) -> BTreeSet<String> {
    let mut terms: BTreeSet<String> = search_key(label).split(' ').filter(|w| !w.is_empty()).map(str::to_owned).collect();
    terms.insert(code_key(code));
    terms
}

/// A picker's query: found are the entries whose code starts with the query's code key, and
/// those of which every word of the query starts a word (the code's key or a label word).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The query as a code prefix ([`code_key`]).
    pub code_key: String,
    /// The query's folded words, each a prefix of some word of a match.
    pub words: Vec<String>,
}

impl Query {
    /// The query of `q`; `None` when it holds no letter or digit (every entry matches).
    pub fn parse(q: &str) -> Option<Self> {
        let words: Vec<String> = search_key(q).split(' ').filter(|w| !w.is_empty()).map(str::to_owned).collect();
        let key = code_key(q);
        (!words.is_empty() && !key.is_empty()).then_some(Self { code_key: key, words })
    }

    /// The word that narrows the search most, as far as its length tells: the longest.
    pub fn lead(&self) -> &str {
        self.words.iter().max_by_key(|w| w.len()).map_or("", String::as_str)
    }

    /// True when the entry of this code and label answers the query.
    pub fn matches(&self, code: &str, label: &str) -> bool {
        let terms = terms(code, label);
        code_key(code).starts_with(&self.code_key) || self.words.iter().all(|w| terms.iter().any(|t| t.starts_with(w.as_str())))
    }
}

/// What loading a new version of a list does to one stored code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A code new to the store.
    Add(Entry),
    /// A stored code whose label or validity the new version changes (a code that had left the
    /// list and comes back is one).
    Update(Entry),
    /// A stored code the new version no longer holds: it stays, valid through `valid_until`.
    Retire {
        /// The code.
        code: String,
        /// Its last day of validity.
        valid_until: NaiveDate,
    },
}

/// The changes that make the `stored` codes of a list those of its `next` version, loaded on
/// `today`: codes of the new version are written as it gives them; stored codes it no longer
/// holds are kept, valid through the day before (or their first day, for one not valid before
/// today), unless their validity already ended. From the day of the load, the pickers no longer
/// offer them. Nothing else changes, so loading the same version twice
/// changes nothing the second time. `next` holds each code once.
pub fn plan(stored: &[Entry], next: &[Entry], today: NaiveDate) -> Vec<Change> {
    let before: BTreeMap<&str, &Entry> = stored.iter().map(|e| (e.code.as_str(), e)).collect();
    let kept: BTreeSet<&str> = next.iter().map(|e| e.code.as_str()).collect();
    let mut changes = Vec::new();
    for entry in next {
        match before.get(entry.code.as_str()) {
            None => changes.push(Change::Add(entry.clone())),
            Some(old) if *old != entry => changes.push(Change::Update(entry.clone())),
            Some(_) => {}
        }
    }
    for old in stored.iter().filter(|e| !kept.contains(e.code.as_str())) {
        let last_day = today.pred_opt().unwrap_or(today).max(old.valid_from);
        if old.valid_until.is_none_or(|until| until > last_day) {
            changes.push(Change::Retire { code: old.code.clone(), valid_until: last_day });
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default() + chrono::Days::new(u64::from(d))
    }

    fn entry(code: &str, label: &str, from: u32, until: Option<u32>) -> Entry {
        Entry { code: code.to_owned(), label: label.to_owned(), valid_from: day(from), valid_until: until.map(day) }
    }

    /// `stored` after the changes.
    fn apply(stored: &[Entry], changes: &[Change]) -> Vec<Entry> {
        let mut by_code: BTreeMap<String, Entry> = stored.iter().map(|e| (e.code.clone(), e.clone())).collect();
        for change in changes {
            match change {
                Change::Add(e) | Change::Update(e) => {
                    by_code.insert(e.code.clone(), e.clone());
                }
                Change::Retire { code, valid_until } => {
                    if let Some(e) = by_code.get_mut(code) {
                        e.valid_until = Some(*valid_until);
                    }
                }
            }
        }
        by_code.into_values().collect()
    }

    #[test]
    fn entries_are_checked() {
        assert!(Entry::new(" C50.9 ", "Sein, sans précision", day(0), None).is_ok_and(|e| e.code == "C50.9"));
        assert!(Entry::new("", "x", day(0), None).is_err());
        assert!(Entry::new("C50 9", "x", day(0), None).is_err());
        assert!(Entry::new("--", "x", day(0), None).is_err());
        assert!(Entry::new("C50", " ", day(0), None).is_err());
        assert!(Entry::new("C50", "x", day(2), Some(day(1))).is_err());
        assert!(Entry::new("C50", "x", day(2), Some(day(2))).is_ok_and(|e| e.is_valid_on(day(2)) && !e.is_valid_on(day(3))));
    }

    #[test]
    fn queries_match_code_prefixes_and_label_words_without_accents() {
        let q = |s: &str| Query::parse(s).unwrap_or(Query { code_key: String::new(), words: Vec::new() });
        assert!(q("c50.9").matches("C50.9", "Sein, sans précision"));
        assert!(q("C509").matches("C50.9", "Sein, sans précision"));
        assert!(q("PRECIS sein").matches("C50.9", "Sein, sans précision"));
        assert!(!q("cision").matches("C50.9", "Sein, sans précision"));
        assert!(q("radiothé").matches("C15313", "Radiothérapie"));
        assert!(!q("c51").matches("C50.9", "Sein"));
        assert_eq!(Query::parse(" -- "), None);
        assert_eq!(q("sans précision").lead(), "precision");
    }

    #[test]
    fn a_dropped_code_is_retired_the_day_before_the_load_and_comes_back_when_listed_again() {
        let v1 = [entry("A", "a", 0, None), entry("B", "b", 0, None)];
        let v2 = [entry("A", "a", 0, None)];
        let changes = plan(&v1, &v2, day(10));
        assert_eq!(changes, [Change::Retire { code: "B".to_owned(), valid_until: day(9) }]);
        let stored = apply(&v1, &changes);
        assert!(plan(&stored, &v2, day(20)).is_empty());
        assert_eq!(plan(&stored, &v1, day(20)), [Change::Update(entry("B", "b", 0, None))]);
    }

    fn entries() -> impl Strategy<Value = Vec<Entry>> {
        proptest::collection::btree_map("[A-E][0-9]", ("[a-c]{1,3}", 0u32..30, proptest::option::of(30u32..60)), 0..12)
            .prop_map(|m| m.into_iter().map(|(code, (label, from, until))| entry(&code, &label, from, until)).collect())
    }

    proptest! {
        #[test]
        fn a_loaded_version_is_what_the_store_holds_and_loading_it_again_changes_nothing(
            stored in entries(), next in entries(), today in 0u32..90,
        ) {
            let after = apply(&stored, &plan(&stored, &next, day(today)));
            for e in &next {
                prop_assert!(after.contains(e));
            }
            for old in stored.iter().filter(|o| !next.iter().any(|e| e.code == o.code)) {
                let kept = after.iter().find(|e| e.code == old.code);
                prop_assert!(kept.is_some_and(|k| k.label == old.label && k.valid_from == old.valid_from));
                prop_assert!(kept.is_some_and(|k| !k.is_valid_on(day(today).max(k.valid_from + chrono::Days::new(1)))));
                prop_assert!(kept.is_some_and(|k| k.valid_until >= Some(k.valid_from)));
            }
            prop_assert_eq!(after.len(), stored.iter().map(|e| &e.code).chain(next.iter().map(|e| &e.code)).collect::<BTreeSet<_>>().len());
            prop_assert!(plan(&after, &next, day(today)).is_empty());
        }

        #[test]
        fn a_query_matches_whatever_its_accents_and_case(label in "[a-zé ]{1,20}", code in "[A-Z][0-9]{1,3}") {
            let word = search_key(&label).split(' ').next().unwrap_or_default().to_owned();
            if let Some(q) = Query::parse(&word.to_uppercase()) {
                prop_assert!(q.matches(&code, &label));
            }
            let q = Query::parse(&code.to_lowercase());
            prop_assert!(q.is_some_and(|q| q.matches(&code, &label)));
        }
    }
}

//! Code-list files as an operator gives them to `concerto terminology load`, and the lists the
//! project ships itself (`terminology/` at the repository's root), which `concerto demo` loads.
//!
//! A file is CSV (UTF-8, comma-separated, a header row) with the columns `system`, `code`,
//! `label`, `valid_from` and, optionally, `valid_until` (days, `YYYY-MM-DD`). The rows of one
//! system, across every file of one load, are that system's new version, whole.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use concerto_domain::terminology::Entry;
use concerto_persistence::terminology::ListVersion;
use serde::Deserialize;

/// The lists the project writes itself, by file name: redistributable, unlike the national
/// CIM-10 and CIM-O-3 lists, of which only the codes the demo and the tests use are here.
pub const SHIPPED: &[(&str, &str)] = &[
    ("frcp-treatment.csv", include_str!("../../terminology/frcp-treatment.csv")),
    ("frcp-organ-system.csv", include_str!("../../terminology/frcp-organ-system.csv")),
    ("frcp-organ.csv", include_str!("../../terminology/frcp-organ.csv")),
    ("frcp-rcp-nature.csv", include_str!("../../terminology/frcp-rcp-nature.csv")),
    ("cim10-demo.csv", include_str!("../../terminology/cim10-demo.csv")),
    ("cim-o-3-demo.csv", include_str!("../../terminology/cim-o-3-demo.csv")),
];

/// One row of a file, before it is checked.
#[derive(Debug, Deserialize)]
struct Row {
    system: String,
    code: String,
    label: String,
    valid_from: String,
    #[serde(default)]
    valid_until: Option<String>,
}

/// Where a row was read: file name and line.
type Place = (String, u64);

/// A system's rows gathered so far: its entries, where each code was read, and the files.
#[derive(Default)]
struct Gathered {
    entries: Vec<Entry>,
    places: BTreeMap<String, Place>,
    files: Vec<String>,
}

fn day(value: &str, column: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d").map_err(|_| format!("{column} `{value}` is not a day (YYYY-MM-DD)"))
}

/// The lists these files hold, one version per system, checked row by row against the systems
/// the store knows (`known`). `files` are (name, content); `version` names the versions, by
/// default after the files (their names without `.csv`, joined by `+`). An error names the
/// file and line at fault.
pub fn read(files: &[(String, String)], known: &[String], version: Option<&str>) -> Result<Vec<ListVersion>, String> {
    let mut systems: BTreeMap<String, Gathered> = BTreeMap::new();
    for (name, content) in files {
        let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(content.as_bytes());
        let headers = reader.headers().map_err(|e| format!("{name}: cannot read the header row: {e}"))?.clone();
        for column in ["system", "code", "label", "valid_from"] {
            if !headers.iter().any(|h| h == column) {
                return Err(format!(
                    "{name}:1: the header row lacks the column `{column}` (expected system,code,label,valid_from[,valid_until])"
                ));
            }
        }
        for record in reader.records() {
            let record = record.map_err(|e| match e.position() {
                Some(p) => format!("{name}:{}: {e}", p.line()),
                None => format!("{name}: {e}"),
            })?;
            let line = record.position().map_or(0, csv::Position::line);
            let at = |message: String| format!("{name}:{line}: {message}");
            let row: Row = record.deserialize(Some(&headers)).map_err(|e| at(e.to_string()))?;
            if !known.contains(&row.system) {
                return Err(at(format!("unknown system `{}` (known: {})", row.system, known.join(", "))));
            }
            let valid_from = day(&row.valid_from, "valid_from").map_err(at)?;
            let valid_until = match row.valid_until.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                Some(v) => Some(day(v, "valid_until").map_err(at)?),
                None => None,
            };
            let entry = Entry::new(&row.code, &row.label, valid_from, valid_until).map_err(|e| at(e.to_string()))?;
            let gathered = systems.entry(row.system.clone()).or_default();
            if let Some((file, first)) = gathered.places.get(&entry.code) {
                return Err(at(format!("code `{}` of `{}` is already on {file}:{first}", entry.code, row.system)));
            }
            gathered.places.insert(entry.code.clone(), (name.clone(), line));
            if !gathered.files.contains(name) {
                gathered.files.push(name.clone());
            }
            gathered.entries.push(entry);
        }
    }
    Ok(systems
        .into_iter()
        .map(|(system, g)| {
            let stems: Vec<&str> = g.files.iter().map(|f| f.rsplit('/').next().unwrap_or(f).trim_end_matches(".csv")).collect();
            ListVersion {
                system,
                version: version.map_or_else(|| stems.join("+"), str::to_owned),
                source: g.files.join(", "),
                entries: g.entries,
            }
        })
        .collect())
}

/// The lists of [`SHIPPED`].
pub fn shipped(known: &[String]) -> Result<Vec<ListVersion>, String> {
    let files: Vec<(String, String)> = SHIPPED.iter().map(|(name, text)| ((*name).to_owned(), (*text).to_owned())).collect();
    read(&files, known, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> Vec<String> {
        ["cim10", "frcp-treatment"].map(str::to_owned).to_vec()
    }

    fn one(text: &str) -> Result<Vec<ListVersion>, String> {
        read(&[("list.csv".to_owned(), text.to_owned())], &known(), None)
    }

    #[test]
    fn rows_become_one_version_per_system() {
        let lists = one(
            "system,code,label,valid_from,valid_until\ncim10,C50.9,\"Sein, sans précision\",2026-01-01,\nfrcp-treatment,C15313,Radiothérapie,2026-01-01,2030-12-31\ncim10,C18.7,Côlon sigmoïde,2026-01-01,\n",
        );
        let lists = lists.unwrap_or_default();
        assert_eq!(
            lists.iter().map(|l| (l.system.as_str(), l.entries.len(), l.version.as_str())).collect::<Vec<_>>(),
            [("cim10", 2, "list"), ("frcp-treatment", 1, "list")]
        );
        assert_eq!(lists[0].entries[0].label, "Sein, sans précision");
        assert_eq!(lists[1].entries[0].valid_until, NaiveDate::from_ymd_opt(2030, 12, 31));
    }

    #[test]
    fn valid_until_may_be_left_out_as_a_column() {
        let lists = one("system,code,label,valid_from\ncim10,C50.9,Sein,2026-01-01\n").unwrap_or_default();
        assert_eq!(lists[0].entries[0].valid_until, None);
    }

    #[test]
    fn a_bad_line_is_named() {
        let header = "system,code,label,valid_from,valid_until\n";
        let cases = [
            ("cim10,C50.9,Sein,2026-01-01,\ncim10,C50.1,Sein,2026-13-01,\n", "list.csv:3: valid_from `2026-13-01`"),
            ("cim10,C50.9,Sein,2026-01-01,\nicd11,X,Y,2026-01-01,\n", "list.csv:3: unknown system `icd11`"),
            (
                "cim10,C50.9,Sein,2026-01-01,\ncim10,C50.9,Sein bis,2026-01-01,\n",
                "list.csv:3: code `C50.9` of `cim10` is already on list.csv:2",
            ),
            ("cim10,C50.9,,2026-01-01,\n", "list.csv:2: label"),
            ("cim10,C50.9,Sein,2026-01-01\n", "list.csv:2:"),
            ("cim10,C50.9,Sein,2026-02-01,2026-01-01\n", "list.csv:2: valid_until"),
        ];
        for (rows, expected) in cases {
            let got = one(&format!("{header}{rows}")).err().unwrap_or_default();
            assert!(got.starts_with(expected), "{rows:?}: {got}");
        }
        assert!(one("code,label\nC50,Sein\n").err().unwrap_or_default().contains("lacks the column `system`"));
    }

    #[test]
    fn the_shipped_lists_read() {
        let all: Vec<String> =
            ["cim10", "cim-o-3", "frcp-treatment", "frcp-organ-system", "frcp-organ", "frcp-rcp-nature"].map(str::to_owned).to_vec();
        let lists = shipped(&all).unwrap_or_default();
        assert_eq!(lists.len(), all.len());
        let treatments = lists.iter().find(|l| l.system == "frcp-treatment").map_or(0, |l| l.entries.len());
        assert_eq!(treatments, 18);
    }
}

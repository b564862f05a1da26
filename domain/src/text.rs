//! Normalisation of names for searching.

/// The search key of a name: lowercase ASCII with accents folded and spacing collapsed, so that
/// "Hélène" is found by "hel" with a plain prefix comparison on an indexed column.
pub fn search_key(name: &str) -> String {
    let folded = deunicode::deunicode(name).to_lowercase();
    folded.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accents_and_case_fold() {
        assert_eq!(search_key("Hélène"), "helene");
        assert_eq!(search_key("  DUPONT-Lévêque  Émile "), "dupont leveque emile");
        assert!(search_key("Hélène Martin").starts_with(&search_key("HEL")));
    }
}

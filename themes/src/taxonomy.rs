//! Theme taxonomies: the embedded default and user TOML files that extend or replace it.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The default patient-experience taxonomy, embedded at compile time.
pub const DEFAULT_TAXONOMY_TOML: &str = include_str!("../taxonomy/default.toml");

/// One theme: a stable id used in storage and exports, a human label, a description for
/// commissioners, and the phrases that signal it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Theme {
    pub id: String,
    pub label: String,
    pub description: String,
    pub phrases: Vec<String>,
    /// Phrases that must not trigger this theme even though they contain one of its
    /// phrases (e.g. "free text" for `cost`).
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Co-occurrence rule: the theme also matches when one of `near.terms` and one of
    /// `near.cues` occur in the same part of a sentence ("the nurse was so kind").
    #[serde(default, skip_serializing_if = "Near::is_empty")]
    pub near: Near,
}

/// Terms and cues that signal a theme when they occur together.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Near {
    #[serde(default)]
    pub terms: Vec<String>,
    #[serde(default)]
    pub cues: Vec<String>,
}

impl Near {
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty() && self.cues.is_empty()
    }
}

/// An ordered set of themes with unique ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Taxonomy {
    themes: Vec<Theme>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileToml {
    #[serde(default)]
    replace: bool,
    #[serde(default)]
    theme: Vec<ThemeToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeToml {
    id: Option<String>,
    label: Option<String>,
    description: Option<String>,
    #[serde(default)]
    phrases: Vec<String>,
    #[serde(default)]
    exclude: Vec<String>,
    #[serde(default)]
    near: Near,
}

fn invalid(key: String, problem: impl Into<String>) -> Error {
    Error::InvalidTaxonomy { key, problem: problem.into() }
}

pub(crate) fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && id.as_bytes()[0].is_ascii_lowercase()
}

fn check_phrases(key: &str, phrases: &[String]) -> Result<()> {
    for (j, p) in phrases.iter().enumerate() {
        let t = p.trim();
        if t.is_empty() || !t.chars().any(|c| c.is_alphanumeric() || c == '£') {
            return Err(invalid(format!("{key}[{j}]"), "phrase has no words"));
        }
        if t.split_whitespace().next() == Some("*") {
            return Err(invalid(format!("{key}[{j}]"), "phrase must not start with the wildcard `*`"));
        }
    }
    Ok(())
}

impl Default for Taxonomy {
    /// The embedded patient-experience taxonomy (see `taxonomy/default.toml`).
    fn default() -> Self {
        #[allow(clippy::expect_used)] // embedded file, covered by tests
        Taxonomy::from_toml_str(DEFAULT_TAXONOMY_TOML).expect("embedded default taxonomy is valid")
    }
}

impl Taxonomy {
    /// Parses a complete taxonomy from TOML (`[[theme]]` tables with `id`, `label`,
    /// `description`, `phrases` and optional `exclude`). A `replace` flag is accepted
    /// and ignored: the result is always just this file's themes.
    pub fn from_toml_str(toml_text: &str) -> Result<Taxonomy> {
        let file = parse(toml_text)?;
        let mut tax = Taxonomy { themes: Vec::new() };
        tax.merge(file.theme, false)?;
        if tax.themes.is_empty() {
            return Err(invalid("theme".into(), "a taxonomy needs at least one [[theme]]"));
        }
        Ok(tax)
    }

    /// The default taxonomy adjusted by a user file: with `replace = true` the file is the
    /// whole taxonomy; otherwise a `[[theme]]` with an existing id adds phrases (and may
    /// override label and description), and one with a new id adds a theme.
    pub fn with_user_toml(toml_text: &str) -> Result<Taxonomy> {
        let file = parse(toml_text)?;
        if file.replace {
            return Taxonomy::from_toml_str(toml_text);
        }
        let mut tax = Taxonomy::default();
        tax.merge(file.theme, true)?;
        Ok(tax)
    }

    /// Extends this taxonomy with user TOML (the same rules as [`Taxonomy::with_user_toml`],
    /// except that `replace = true` replaces `self`).
    pub fn extend_from_toml_str(&mut self, toml_text: &str) -> Result<()> {
        let file = parse(toml_text)?;
        if file.replace {
            *self = Taxonomy::from_toml_str(toml_text)?;
            return Ok(());
        }
        let mut next = self.clone();
        next.merge(file.theme, true)?;
        *self = next;
        Ok(())
    }

    /// Adds another taxonomy's themes: same id merges phrases, new ids are appended.
    pub fn extend(&mut self, other: Taxonomy) {
        for theme in other.themes {
            match self.themes.iter_mut().find(|t| t.id == theme.id) {
                Some(existing) => {
                    existing.label = theme.label;
                    existing.description = theme.description;
                    existing.phrases.extend(theme.phrases);
                    existing.exclude.extend(theme.exclude);
                    existing.near.terms.extend(theme.near.terms);
                    existing.near.cues.extend(theme.near.cues);
                }
                None => self.themes.push(theme),
            }
        }
    }

    pub fn themes(&self) -> &[Theme] {
        &self.themes
    }

    /// Appends themes (ids not yet in the taxonomy).
    pub(crate) fn extend_themes(&mut self, themes: Vec<Theme>) {
        self.extend(Taxonomy { themes });
    }

    pub fn get(&self, id: &str) -> Option<&Theme> {
        self.themes.iter().find(|t| t.id == id)
    }

    /// The label for a theme id, or the id itself when the taxonomy does not know it
    /// (e.g. a theme that has since been removed).
    pub fn label<'a>(&'a self, id: &'a str) -> &'a str {
        self.get(id).map_or(id, |t| t.label.as_str())
    }

    fn merge(&mut self, themes: Vec<ThemeToml>, allow_partial: bool) -> Result<()> {
        for (i, t) in themes.into_iter().enumerate() {
            let key = format!("theme[{i}]");
            let id = t.id.ok_or_else(|| invalid(format!("{key}.id"), "missing"))?;
            if !valid_id(&id) {
                return Err(invalid(
                    format!("{key}.id"),
                    format!("`{id}` must be lowercase letters, digits and underscores, starting with a letter"),
                ));
            }
            let key = format!("theme[{i}] ({id})");
            check_phrases(&format!("{key}.phrases"), &t.phrases)?;
            check_phrases(&format!("{key}.exclude"), &t.exclude)?;
            check_phrases(&format!("{key}.near.terms"), &t.near.terms)?;
            check_phrases(&format!("{key}.near.cues"), &t.near.cues)?;
            if t.near.terms.is_empty() != t.near.cues.is_empty() {
                return Err(invalid(format!("{key}.near"), "needs both `terms` and `cues`"));
            }
            if let Some(existing) = self.themes.iter_mut().find(|x| x.id == id) {
                if !allow_partial {
                    return Err(invalid(format!("{key}.id"), format!("duplicate theme id `{id}`")));
                }
                if let Some(label) = t.label {
                    existing.label = label;
                }
                if let Some(description) = t.description {
                    existing.description = description;
                }
                existing.phrases.extend(t.phrases);
                existing.exclude.extend(t.exclude);
                existing.near.terms.extend(t.near.terms);
                existing.near.cues.extend(t.near.cues);
                continue;
            }
            let label = t.label.filter(|l| !l.trim().is_empty());
            let label = label.ok_or_else(|| invalid(format!("{key}.label"), "missing or empty"))?;
            if t.phrases.is_empty() && t.near.terms.is_empty() {
                return Err(invalid(format!("{key}.phrases"), "a new theme needs at least one phrase"));
            }
            self.themes.push(Theme {
                id,
                label,
                description: t.description.unwrap_or_default(),
                phrases: t.phrases,
                exclude: t.exclude,
                near: t.near,
            });
        }
        Ok(())
    }
}

fn parse(toml_text: &str) -> Result<FileToml> {
    toml::from_str(toml_text).map_err(|e| Error::TaxonomyToml(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_has_the_twelve_themes() {
        let ids: Vec<_> = Taxonomy::default().themes().iter().map(|t| t.id.clone()).collect();
        assert_eq!(
            ids,
            [
                "access",
                "waiting",
                "staff_attitude",
                "communication",
                "mental_health",
                "medication",
                "environment",
                "transport",
                "digital",
                "coordination",
                "cost",
                "safety"
            ]
        );
        for t in Taxonomy::default().themes() {
            assert!(!t.label.is_empty() && !t.description.is_empty() && !t.phrases.is_empty());
        }
    }

    #[test]
    fn user_file_extends_and_adds() {
        let tax = Taxonomy::with_user_toml(
            r#"
            [[theme]]
            id = "transport"
            phrases = ["park and ride"]

            [[theme]]
            id = "maternity"
            label = "Maternity"
            description = "Pregnancy and birth"
            phrases = ["midwife", "labour ward"]
            "#,
        )
        .unwrap();
        assert_eq!(tax.themes().len(), 13);
        assert!(tax.get("transport").unwrap().phrases.contains(&"park and ride".to_owned()));
        assert_eq!(tax.label("maternity"), "Maternity");
        assert_eq!(tax.label("gone"), "gone");
    }

    #[test]
    fn user_file_can_replace() {
        let tax = Taxonomy::with_user_toml(
            "replace = true\n[[theme]]\nid = \"food\"\nlabel = \"Food\"\nphrases = [\"meal\"]\n",
        )
        .unwrap();
        assert_eq!(tax.themes().len(), 1);
        let mut t = Taxonomy::default();
        t.extend_from_toml_str("replace = true\n[[theme]]\nid = \"x\"\nlabel = \"X\"\nphrases = [\"x\"]\n").unwrap();
        assert_eq!(t.themes().len(), 1);
    }

    #[test]
    fn extend_merges_taxonomies() {
        let mut t = Taxonomy::default();
        let extra =
            Taxonomy::from_toml_str("[[theme]]\nid = \"cost\"\nlabel = \"Money\"\nphrases = [\"dosh\"]\n").unwrap();
        t.extend(extra);
        assert_eq!(t.label("cost"), "Money");
        assert!(t.get("cost").unwrap().phrases.contains(&"dosh".to_owned()));
    }

    #[test]
    fn errors_name_the_key_and_problem() {
        let err = Taxonomy::from_toml_str("[[theme]]\nid = \"Bad Id\"\nlabel = \"x\"\nphrases = [\"a\"]")
            .unwrap_err()
            .to_string();
        assert!(err.contains("theme[0].id") && err.contains("lowercase"), "{err}");

        let err = Taxonomy::with_user_toml("[[theme]]\nid = \"new_one\"\nphrases = [\"a\"]").unwrap_err().to_string();
        assert!(err.contains("theme[0] (new_one).label") && err.contains("missing"), "{err}");

        let err = Taxonomy::with_user_toml("[[theme]]\nid = \"cost\"\nphrases = [\"  \"]").unwrap_err().to_string();
        assert!(err.contains("theme[0] (cost).phrases[0]"), "{err}");

        let err = Taxonomy::from_toml_str(
            "[[theme]]\nid = \"a\"\nlabel = \"A\"\nphrases = [\"a\"]\n[[theme]]\nid = \"a\"\nlabel = \"A\"\nphrases = [\"b\"]",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("duplicate theme id `a`"), "{err}");

        let err = Taxonomy::from_toml_str("[[theme]]\nid = \"a\"\nlabel = \"A\"\nphrases = [\"* x\"]")
            .unwrap_err()
            .to_string();
        assert!(err.contains("wildcard"), "{err}");

        let err = Taxonomy::from_toml_str("[[theme]]\nidd = \"a\"").unwrap_err().to_string();
        assert!(err.contains("idd"), "{err}");
        assert!(matches!(Taxonomy::from_toml_str(""), Err(Error::InvalidTaxonomy { .. })));
    }
}

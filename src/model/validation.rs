//! What users type, validated: titles, descriptions and comments, with per-field messages.

use serde::{Deserialize, Serialize};

pub const TITLE_MAX_CHARS: usize = 200;
pub const DESCRIPTION_MAX_CHARS: usize = 10_000;
pub const COMMENT_MAX_CHARS: usize = 10_000;

/// A comment's body: trimmed, 1–10,000 characters, no control characters but line breaks and
/// tabs.
pub fn parse_comment(body: &str) -> Result<String, String> {
    let body = body.trim();
    let length = body.chars().count();
    if length == 0 {
        Err("Write a comment.".into())
    } else if length > COMMENT_MAX_CHARS {
        Err(format!(
            "Keep the comment to {COMMENT_MAX_CHARS} characters ({length} now)."
        ))
    } else if has_control_characters(body) {
        Err("The comment contains control characters.".into())
    } else {
        Ok(body.to_string())
    }
}

pub(super) fn has_control_characters(text: &str) -> bool {
    text.chars()
        .any(|c| (c.is_control() && !matches!(c, '\n' | '\r' | '\t')) || is_bidi_control(c))
}

/// Per-field validation messages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FieldErrors {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<String>,
    /// The labels put on an issue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<String>,
    /// A label's definition (name, colour, description).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

impl FieldErrors {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// A validated new issue: title trimmed, 1–200 characters; description at most 10,000.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIssue {
    pub title: String,
    pub description: String,
}

impl NewIssue {
    pub fn parse(title: &str, description: &str) -> Result<Self, FieldErrors> {
        let title = title.trim();
        let description = description.trim_end();
        let errors = FieldErrors {
            title: title_problem(title),
            description: description_problem(description),
            ..FieldErrors::default()
        };
        if errors.is_empty() {
            Ok(Self {
                title: title.to_string(),
                description: description.to_string(),
            })
        } else {
            Err(errors)
        }
    }
}

pub fn title_problem(title: &str) -> Option<String> {
    let title = title.trim();
    let length = title.chars().count();
    if length == 0 {
        Some("Enter a title.".into())
    } else if length > TITLE_MAX_CHARS {
        Some(format!(
            "Keep the title to {TITLE_MAX_CHARS} characters ({length} now)."
        ))
    } else if title.chars().any(|c| c.is_control() || is_bidi_control(c)) {
        Some("The title contains control characters.".into())
    } else {
        None
    }
}

pub fn description_problem(description: &str) -> Option<String> {
    let length = description.chars().count();
    if length > DESCRIPTION_MAX_CHARS {
        Some(format!(
            "Keep the description to {DESCRIPTION_MAX_CHARS} characters ({length} now)."
        ))
    } else if has_control_characters(description) {
        Some("The description contains control characters.".into())
    } else {
        None
    }
}

/// The longest display name kept (characters).
const DISPLAY_NAME_CHARS: usize = 200;

/// A person's name as the identity provider gives it, made fit to store and show: control and
/// bidirectional-override characters dropped (a name must not reorder or hide the text around
/// it), runs of spaces made one, trimmed, at most 200 characters. `None` when nothing is left.
pub fn display_name(raw: &str) -> Option<String> {
    let mut name = String::with_capacity(raw.len().min(DISPLAY_NAME_CHARS * 4));
    for word in raw.split(char::is_whitespace).filter(|word| !word.is_empty()) {
        let word: String = word
            .chars()
            .filter(|c| !c.is_control() && !is_bidi_control(*c) && *c != '\u{200B}')
            .collect();
        if word.is_empty() {
            continue;
        }
        if !name.is_empty() {
            name.push(' ');
        }
        name.push_str(&word);
    }
    let name: String = name.chars().take(DISPLAY_NAME_CHARS).collect();
    let name = name.trim_end().to_string();
    (!name.is_empty()).then_some(name)
}

/// Unicode bidirectional overrides and isolates (the "Trojan Source" characters).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_display_name_keeps_letters_and_loses_what_could_disguise_it() {
        use super::display_name;
        assert_eq!(display_name("  John   Manager "), Some("John Manager".into()));
        assert_eq!(display_name("Ève Ñúñez-O'Brien"), Some("Ève Ñúñez-O'Brien".into()));
        assert_eq!(display_name("Alice\u{202E}nimda"), Some("Alicenimda".into()));
        assert_eq!(display_name("Mal\nlory\u{0007}\tX"), Some("Mal lory X".into()));
        assert_eq!(display_name("\u{2066}\u{2069} \u{200B}"), None);
        assert_eq!(display_name(&"a".repeat(500)).unwrap().chars().count(), 200);
    }

    use super::*;

    #[test]
    fn titles_are_trimmed_and_bounded() {
        assert_eq!(NewIssue::parse("  Broken  ", "").unwrap().title, "Broken");
        assert!(NewIssue::parse("   ", "").unwrap_err().title.is_some());
        assert!(NewIssue::parse(&"x".repeat(201), "").unwrap_err().title.is_some());
        assert!(NewIssue::parse(&"é".repeat(200), "").is_ok());
        assert!(NewIssue::parse("a\u{0}b", "").unwrap_err().title.is_some());
        assert!(NewIssue::parse("a\u{202E}b", "").unwrap_err().title.is_some());
        assert!(
            NewIssue::parse("ok", &"d".repeat(10_001))
                .unwrap_err()
                .description
                .is_some()
        );
        assert!(NewIssue::parse("ok", "line one\nline two\ttab").is_ok());
        // Markup and SQL are data: stored as given.
        assert_eq!(
            NewIssue::parse("<script>x</script>", "").unwrap().title,
            "<script>x</script>"
        );
        assert_eq!(
            NewIssue::parse("'; DROP TABLE issues;--", "").unwrap().title,
            "'; DROP TABLE issues;--"
        );
    }
}

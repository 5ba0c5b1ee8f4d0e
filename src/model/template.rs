//! Issue templates: the starting points config.json offers on the create page
//! (`Features.Issues.Templates`), and label names as a form writes them (comma separated).

use serde::{Deserialize, Serialize};

/// Templates config.json may name.
pub const TEMPLATES_MAX: usize = 20;
/// The longest template name and title prefix (characters).
pub const TEMPLATE_NAME_MAX_CHARS: usize = 50;
pub const TEMPLATE_PREFIX_MAX_CHARS: usize = 50;

/// A new issue's starting point: its title starts with `title_prefix`, its description is
/// `body`, and it carries `labels` (by name: names no label has are skipped when the issue is
/// created, as the admin may name a label before anyone defines it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueTemplate {
    pub name: String,
    pub title_prefix: String,
    pub body: String,
    pub labels: Vec<String>,
}

impl IssueTemplate {
    /// Whether `name` (as a link writes it) names this template: one name however it is
    /// capitalised.
    pub fn is_named(&self, name: &str) -> bool {
        self.name.trim().to_lowercase() == name.trim().to_lowercase()
    }
}

/// Label names as a form writes them, comma separated; blanks left out.
pub fn split_label_names(names: &str) -> Vec<String> {
    names
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_names_lose_blanks_and_templates_are_named_without_case() {
        assert_eq!(split_label_names(" bug, ,needs triage,"), ["bug", "needs triage"]);
        assert!(split_label_names("").is_empty());
        let template = IssueTemplate {
            name: "Bug report".into(),
            ..IssueTemplate::default()
        };
        assert!(template.is_named("bug REPORT"));
        assert!(!template.is_named("Feature request"));
    }
}

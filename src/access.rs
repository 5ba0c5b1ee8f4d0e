//! The one scope decision, shared by the UI (as data), the server functions and the REST API.
//! An action is allowed when every scope config.json lists for it was granted; an action the
//! file turns off (`delete` unless named) is allowed to no one. Hiding a control is cosmetic;
//! the server's call to [`require`] is the security.

use serde::{Deserialize, Serialize};

use crate::model::{IssueChange, SessionDeadlines, UserSummary};

/// What a caller may want to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Permission {
    ViewIssues,
    CreateIssue,
    Comment,
    EditIssue,
    CloseIssue,
    AssignIssue,
    DeleteIssue,
    /// Define, change and delete labels (putting them on issues is editing).
    ManageLabels,
    ViewAudit,
}

impl Permission {
    pub const ALL: [Self; 9] = [
        Self::ViewIssues,
        Self::CreateIssue,
        Self::Comment,
        Self::EditIssue,
        Self::CloseIssue,
        Self::AssignIssue,
        Self::DeleteIssue,
        Self::ManageLabels,
        Self::ViewAudit,
    ];

    /// A stable name, for metrics, records and the OpenAPI document.
    pub fn name(self) -> &'static str {
        match self {
            Self::ViewIssues => "view_issues",
            Self::CreateIssue => "create_issue",
            Self::Comment => "comment",
            Self::EditIssue => "edit_issue",
            Self::CloseIssue => "close_issue",
            Self::AssignIssue => "assign_issue",
            Self::DeleteIssue => "delete_issue",
            Self::ManageLabels => "manage_labels",
            Self::ViewAudit => "view_audit",
        }
    }

    /// Completes "You don't have permission to …".
    pub fn describe(self) -> &'static str {
        match self {
            Self::ViewIssues => "view issues",
            Self::CreateIssue => "create issues",
            Self::Comment => "comment on issues",
            Self::EditIssue => "edit issues",
            Self::CloseIssue => "close or reopen issues",
            Self::AssignIssue => "assign issues",
            Self::DeleteIssue => "delete issues",
            Self::ManageLabels => "define labels",
            Self::ViewAudit => "view the audit trail",
        }
    }

    /// Where config.json names its scopes.
    pub fn config_field(self) -> &'static str {
        match self {
            Self::ViewIssues => "Features.Issues.scopes.view",
            Self::CreateIssue => "Features.Issues.scopes.create",
            Self::Comment => "Features.Issues.scopes.comment",
            Self::EditIssue => "Features.Issues.scopes.edit",
            Self::CloseIssue => "Features.Issues.scopes.close",
            Self::AssignIssue => "Features.Issues.scopes.assign",
            Self::DeleteIssue => "Features.Issues.scopes.delete",
            Self::ManageLabels => "Features.Issues.scopes.labels",
            Self::ViewAudit => "Features.Audit.scopes.view",
        }
    }
}

/// Scopes each action needs, from config.json's `Features.Issues.scopes` and
/// `Features.Audit.scopes`. `None`: the action is turned off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureScopes {
    pub view: Vec<String>,
    pub create: Vec<String>,
    pub comment: Vec<String>,
    pub edit: Vec<String>,
    pub close: Vec<String>,
    pub assign: Vec<String>,
    pub delete: Option<Vec<String>>,
    pub labels: Vec<String>,
    pub audit_view: Vec<String>,
}

impl FeatureScopes {
    /// The scopes `permission` needs; `None` when it is turned off.
    pub fn required(&self, permission: Permission) -> Option<&[String]> {
        match permission {
            Permission::ViewIssues => Some(&self.view),
            Permission::CreateIssue => Some(&self.create),
            Permission::Comment => Some(&self.comment),
            Permission::EditIssue => Some(&self.edit),
            Permission::CloseIssue => Some(&self.close),
            Permission::AssignIssue => Some(&self.assign),
            Permission::DeleteIssue => self.delete.as_deref(),
            Permission::ManageLabels => Some(&self.labels),
            Permission::ViewAudit => Some(&self.audit_view),
        }
    }

    /// Exact scope match: `issues:create-x` does not satisfy `issues:create`.
    pub fn allows(&self, granted: &[String], permission: Permission) -> bool {
        self.required(permission)
            .is_some_and(|required| required.iter().all(|needed| granted.contains(needed)))
    }

    /// Every scope some action needs, each once.
    pub fn all_scopes(&self) -> impl Iterator<Item = &String> {
        let mut seen: Vec<&String> = Vec::new();
        for permission in Permission::ALL {
            for scope in self.required(permission).unwrap_or_default() {
                if !seen.contains(&scope) {
                    seen.push(scope);
                }
            }
        }
        seen.into_iter()
    }

    pub fn permissions(&self, granted: &[String]) -> Permissions {
        let mut permissions = Permissions::default();
        for permission in Permission::ALL {
            let allowed = self.allows(granted, permission);
            *permissions.flag(permission) = allowed;
            if !allowed {
                let missing = self
                    .required(permission)
                    .unwrap_or_default()
                    .iter()
                    .filter(|scope| !granted.contains(scope))
                    .cloned()
                    .collect();
                permissions.refused.push(Why { permission, missing });
            }
        }
        permissions
    }
}

/// Why one action is refused: the scopes the caller lacks; none when config.json turns the
/// action off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Why {
    pub permission: Permission,
    pub missing: Vec<String>,
}

impl Why {
    /// One line for the person refused.
    pub fn line(&self) -> String {
        let action = self.permission.describe();
        match self.missing.as_slice() {
            [] => format!("No one may {action} here: config.json does not allow it."),
            [scope] => format!("You can't {action}: your access lacks the scope {scope}."),
            scopes => format!(
                "You can't {action}: your access lacks the scopes {}.",
                scopes.join(", ")
            ),
        }
    }
}

/// `ApplicationConfig.AccessHelp`: whom to ask for more access (a line, and a web page or a
/// `mailto:` address).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessHelp {
    pub text: String,
    pub link: Option<String>,
}

impl AccessHelp {
    /// The help as plain text, after a "why" line.
    pub fn sentence(&self) -> String {
        match &self.link {
            Some(link) => format!("{} ({})", self.text, link.trim_start_matches("mailto:")),
            None => self.text.clone(),
        }
    }
}

/// The decision for one caller, as the UI receives it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permissions {
    pub view_issues: bool,
    pub create_issue: bool,
    pub comment: bool,
    pub edit_issue: bool,
    pub close_issue: bool,
    pub assign_issue: bool,
    pub delete_issue: bool,
    pub manage_labels: bool,
    pub view_audit: bool,
    /// Why each refused action is refused.
    pub refused: Vec<Why>,
}

impl Permissions {
    fn flag(&mut self, permission: Permission) -> &mut bool {
        match permission {
            Permission::ViewIssues => &mut self.view_issues,
            Permission::CreateIssue => &mut self.create_issue,
            Permission::Comment => &mut self.comment,
            Permission::EditIssue => &mut self.edit_issue,
            Permission::CloseIssue => &mut self.close_issue,
            Permission::AssignIssue => &mut self.assign_issue,
            Permission::DeleteIssue => &mut self.delete_issue,
            Permission::ManageLabels => &mut self.manage_labels,
            Permission::ViewAudit => &mut self.view_audit,
        }
    }

    /// The line saying why `permission` is refused; `None` when it is allowed.
    pub fn why_not(&self, permission: Permission) -> Option<String> {
        self.refused
            .iter()
            .find(|why| why.permission == permission)
            .map(Why::line)
    }
}

/// What a change to an issue needs: `edit` for the title, description and triage (labels,
/// priority, due date), `close` for the status, `assign` for the assignee; each field its own.
pub fn needed_for(change: &IssueChange) -> Vec<Permission> {
    let mut needed = Vec::new();
    let triage = change.labels.is_some() || change.priority.is_some() || change.due.is_some();
    if change.title.is_some() || change.description.is_some() || triage {
        needed.push(Permission::EditIssue);
    }
    if change.status.is_some() {
        needed.push(Permission::CloseIssue);
    }
    if change.assignee.is_some() {
        needed.push(Permission::AssignIssue);
    }
    needed
}

/// What the UI knows about the caller: decided on the server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    pub user: Option<UserSummary>,
    pub permissions: Permissions,
    pub scopes: Vec<String>,
    /// Shown once, e.g. "Your session ended. Sign in again."
    pub notice: Option<String>,
    /// Whom to ask for more access (config.json), shown with the "why" lines.
    pub access_help: Option<AccessHelp>,
    /// When the session ends (signed in only).
    pub deadlines: Option<SessionDeadlines>,
}

/// Someone the server has authenticated: a signed-in user or a bearer-token client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    pub sub: String,
    pub name: String,
    pub scopes: Vec<String>,
    /// For a bearer-token caller, the application the token was issued to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

impl Viewer {
    /// The scopes `required` lists that this caller was not granted.
    pub fn missing<'a>(&self, required: &'a [String]) -> Vec<&'a str> {
        required
            .iter()
            .filter(|scope| !self.scopes.contains(scope))
            .map(String::as_str)
            .collect()
    }
}

/// Why [`require`] refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No authenticated caller: 401.
    Unauthenticated,
    /// Authenticated but a scope is missing (`required` lists them all), or the action is
    /// turned off (`required` is empty): 403.
    Forbidden {
        permission: Permission,
        required: Vec<String>,
    },
}

impl Refusal {
    /// The line saying why, for `viewer`.
    pub fn why(&self, viewer: Option<&Viewer>) -> Option<Why> {
        match self {
            Self::Unauthenticated => None,
            Self::Forbidden { permission, required } => Some(Why {
                permission: *permission,
                missing: match viewer {
                    Some(viewer) => viewer.missing(required).into_iter().map(str::to_string).collect(),
                    None => required.clone(),
                },
            }),
        }
    }
}

/// The authorization check every protected operation makes.
pub fn require<'a>(
    viewer: Option<&'a Viewer>,
    features: &FeatureScopes,
    permission: Permission,
) -> Result<&'a Viewer, Refusal> {
    let viewer = viewer.ok_or(Refusal::Unauthenticated)?;
    if features.allows(&viewer.scopes, permission) {
        Ok(viewer)
    } else {
        Err(Refusal::Forbidden {
            permission,
            required: features.required(permission).unwrap_or_default().to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn features() -> FeatureScopes {
        FeatureScopes {
            view: scopes(&["issues:view"]),
            create: scopes(&["issues:create", "issues:view"]),
            comment: scopes(&["issues:comment"]),
            edit: scopes(&["issues:edit"]),
            close: scopes(&["issues:close"]),
            assign: scopes(&["issues:assign"]),
            delete: None,
            labels: scopes(&["issues:labels"]),
            audit_view: scopes(&["audit:view"]),
        }
    }

    fn viewer(names: &[&str]) -> Viewer {
        Viewer {
            sub: "s".into(),
            name: "n".into(),
            scopes: scopes(names),
            client_id: None,
        }
    }

    #[test]
    fn every_listed_scope_is_needed_and_matched_exactly() {
        let features = features();
        let allowed = |names: &[&str], permission| require(Some(&viewer(names)), &features, permission).is_ok();
        assert!(allowed(&["issues:create", "issues:view"], Permission::CreateIssue));
        assert!(!allowed(&["issues:create"], Permission::CreateIssue));
        assert!(!allowed(&["issues:create-x", "issues:view"], Permission::CreateIssue));
        assert!(allowed(&["issues:close"], Permission::CloseIssue));
        assert!(!allowed(&["issues:edit"], Permission::CloseIssue));
        assert_eq!(
            require(None, &features, Permission::ViewIssues),
            Err(Refusal::Unauthenticated)
        );
    }

    #[test]
    fn a_turned_off_action_is_allowed_to_no_one() {
        let features = features();
        let everything = viewer(&["issues:view", "issues:create", "issues:delete", "audit:view"]);
        assert!(require(Some(&everything), &features, Permission::DeleteIssue).is_err());
        let permissions = features.permissions(&everything.scopes);
        assert!(!permissions.delete_issue);
        assert_eq!(
            permissions.why_not(Permission::DeleteIssue).unwrap(),
            "No one may delete issues here: config.json does not allow it."
        );
    }

    #[test]
    fn the_ui_learns_every_decision_and_why() {
        let permissions = features().permissions(&scopes(&["issues:view", "issues:comment"]));
        assert!(permissions.view_issues && permissions.comment);
        assert!(!permissions.create_issue && !permissions.close_issue && !permissions.view_audit);
        assert_eq!(permissions.why_not(Permission::Comment), None);
        assert_eq!(
            permissions.why_not(Permission::CloseIssue).unwrap(),
            "You can't close or reopen issues: your access lacks the scope issues:close."
        );
        assert_eq!(
            permissions.why_not(Permission::CreateIssue).unwrap(),
            "You can't create issues: your access lacks the scope issues:create."
        );
    }
}

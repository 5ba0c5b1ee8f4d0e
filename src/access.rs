//! The one scope decision, shared by the UI (as data), the server functions and the REST API.
//! A feature is allowed when every scope it lists was granted. Hiding a button is cosmetic;
//! the server's call to [`require`] is the security.

use serde::{Deserialize, Serialize};

/// What a caller may want to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Permission {
    ViewIssues,
    CreateIssue,
    ViewAudit,
}

impl Permission {
    /// A stable name, for metrics and records.
    pub fn name(self) -> &'static str {
        match self {
            Self::ViewIssues => "view_issues",
            Self::CreateIssue => "create_issue",
            Self::ViewAudit => "view_audit",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Self::ViewIssues => "view issues",
            Self::CreateIssue => "create issues",
            Self::ViewAudit => "view the audit trail",
        }
    }
}

/// Scopes each feature needs, from config.json's `Features.Issues.scopes` and
/// `Features.Audit.scopes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureScopes {
    pub view: Vec<String>,
    pub create: Vec<String>,
    pub audit_view: Vec<String>,
}

impl FeatureScopes {
    pub fn required(&self, permission: Permission) -> &[String] {
        match permission {
            Permission::ViewIssues => &self.view,
            Permission::CreateIssue => &self.create,
            Permission::ViewAudit => &self.audit_view,
        }
    }

    /// Exact scope match: `issues:create-x` does not satisfy `issues:create`.
    pub fn allows(&self, granted: &[String], permission: Permission) -> bool {
        self.required(permission)
            .iter()
            .all(|needed| granted.iter().any(|scope| scope == needed))
    }

    pub fn permissions(&self, granted: &[String]) -> Permissions {
        Permissions {
            view_issues: self.allows(granted, Permission::ViewIssues),
            create_issue: self.allows(granted, Permission::CreateIssue),
            view_audit: self.allows(granted, Permission::ViewAudit),
        }
    }
}

/// The decision for one caller, as the UI receives it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permissions {
    pub view_issues: bool,
    pub create_issue: bool,
    pub view_audit: bool,
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
    /// Authenticated but a scope is missing: 403.
    Forbidden {
        permission: Permission,
        required: Vec<String>,
    },
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
            required: features.required(permission).to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn features() -> FeatureScopes {
        FeatureScopes {
            view: vec!["issues:view".into()],
            create: vec!["issues:create".into(), "issues:view".into()],
            audit_view: vec!["audit:view".into()],
        }
    }

    fn viewer(scopes: &[&str]) -> Viewer {
        Viewer {
            sub: "s".into(),
            name: "n".into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            client_id: None,
        }
    }

    #[test]
    fn every_listed_scope_is_needed_and_matched_exactly() {
        let features = features();
        assert!(
            require(
                Some(&viewer(&["issues:create", "issues:view"])),
                &features,
                Permission::CreateIssue
            )
            .is_ok()
        );
        assert!(matches!(
            require(Some(&viewer(&["issues:create"])), &features, Permission::CreateIssue),
            Err(Refusal::Forbidden { .. })
        ));
        assert!(matches!(
            require(
                Some(&viewer(&["issues:create-x", "issues:view"])),
                &features,
                Permission::CreateIssue
            ),
            Err(Refusal::Forbidden { .. })
        ));
        assert_eq!(
            require(None, &features, Permission::ViewIssues),
            Err(Refusal::Unauthenticated)
        );
    }
}

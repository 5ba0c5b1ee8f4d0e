//! `Features`: the scopes each action needs (with the defaults of the actions the file does not
//! name) and `Features.Issues.StepUp`, checked as part of `Checker::check`.

use super::checker::Checker;
use super::file::{ConfigError, FeaturesSection, IssuesScopes};
use crate::access::{FeatureScopes, Permission, StepUp};

impl Checker<'_> {
    /// `Features`: every scope list the file names, then each action's scopes with the defaults
    /// filled in, and the actions that got one.
    pub(super) fn features(&self, features: FeaturesSection) -> Result<(FeatureScopes, Vec<Permission>), ConfigError> {
        self.scopes("Features.Issues.scopes.create", &features.issues.scopes.create, false)?;
        self.scopes("Features.Issues.scopes.view", &features.issues.scopes.view, false)?;
        let issues = &features.issues.scopes;
        for (field, scopes) in [
            ("comment", &issues.comment),
            ("edit", &issues.edit),
            ("close", &issues.close),
            ("assign", &issues.assign),
            ("delete", &issues.delete),
            ("labels", &issues.labels),
        ] {
            if let Some(scopes) = scopes {
                self.scopes(&format!("Features.Issues.scopes.{field}"), scopes, false)?;
            }
        }
        self.scopes("Features.Audit.scopes.view", &features.audit.scopes.view, false)?;
        if let Some(review) = &features.access.scopes.review {
            self.scopes("Features.Access.scopes.review", review, false)?;
        }
        let step_up = self.step_up(&features.issues.step_up)?;
        let (mut scopes, defaulted) = feature_scopes(features);
        scopes.step_up = step_up;
        Ok((scopes, defaulted))
    }

    /// `Features.Issues.StepUp`: each key an action of `Features.Issues.scopes`, each value how
    /// recent (in seconds, from 30 to a day) an authentication that action needs.
    fn step_up(&self, named: &std::collections::BTreeMap<String, u64>) -> Result<Vec<StepUp>, ConfigError> {
        let mut step_up = Vec::with_capacity(named.len());
        for (action, &max_age) in named {
            let field = format!("Features.Issues.StepUp.{action}");
            let permission = STEP_UP_ACTIONS
                .iter()
                .find(|(name, _)| name == action)
                .map(|&(_, permission)| permission)
                .ok_or_else(|| {
                    let names: Vec<&str> = STEP_UP_ACTIONS.iter().map(|(name, _)| *name).collect();
                    self.fail(&field, format!("expected one of the actions {}", names.join(", ")))
                })?;
            if !(STEP_UP_MIN_SECONDS..=STEP_UP_MAX_SECONDS).contains(&max_age) {
                return Err(self.fail(
                    &field,
                    format!(
                        "expected seconds from {STEP_UP_MIN_SECONDS} (time to sign in) to {STEP_UP_MAX_SECONDS} (a day), got {max_age}"
                    ),
                ));
            }
            step_up.push(StepUp { permission, max_age });
        }
        Ok(step_up)
    }
}

/// The actions `Features.Issues.StepUp` may name (viewing is never stepped up: a page would
/// send everyone to the provider).
const STEP_UP_ACTIONS: [(&str, Permission); 7] = [
    ("create", Permission::CreateIssue),
    ("comment", Permission::Comment),
    ("edit", Permission::EditIssue),
    ("close", Permission::CloseIssue),
    ("assign", Permission::AssignIssue),
    ("delete", Permission::DeleteIssue),
    ("labels", Permission::ManageLabels),
];
/// A step-up shorter than this could expire between signing in and the call repeated.
const STEP_UP_MIN_SECONDS: u64 = 30;
const STEP_UP_MAX_SECONDS: u64 = 86_400;

/// Each action's scopes, and which of them the file does not name. An action the file does not
/// name gets a default never wider than a named one, and never a write on the `view` scope:
/// `comment`, `edit`, `close` and `assign` as `create`; `delete` off. (The original demo's file
/// names only `create` and `view`: its Employee, who only views, stays unable to write.)
/// Commenting also needs the `view` scopes.
fn feature_scopes(features: FeaturesSection) -> (FeatureScopes, Vec<Permission>) {
    let IssuesScopes {
        create,
        view,
        comment,
        edit,
        close,
        assign,
        delete,
        labels,
    } = features.issues.scopes;
    let mut defaulted = Vec::new();
    let mut as_create = |named: Option<Vec<String>>, permission: Permission| {
        named.unwrap_or_else(|| {
            defaulted.push(permission);
            create.clone()
        })
    };
    // A comment is written on an issue the writer can see: commenting needs `view` too (else a
    // comment-only caller would write blind and learn which issue ids exist).
    let mut comment = as_create(comment, Permission::Comment);
    for scope in &view {
        if !comment.contains(scope) {
            comment.push(scope.clone());
        }
    }
    let edit = as_create(edit, Permission::EditIssue);
    let close = as_create(close, Permission::CloseIssue);
    let assign = as_create(assign, Permission::AssignIssue);
    let labels = labels.unwrap_or_else(|| {
        defaulted.push(Permission::ManageLabels);
        edit.clone()
    });
    let scopes = FeatureScopes {
        comment,
        labels,
        edit,
        close,
        assign,
        delete,
        create,
        view,
        access_review: features.access.scopes.review.unwrap_or_else(|| {
            defaulted.push(Permission::ReviewAccess);
            features.audit.scopes.view.clone()
        }),
        audit_view: features.audit.scopes.view,
        step_up: Vec::new(),
    };
    if scopes.delete.is_none() {
        defaulted.push(Permission::DeleteIssue);
    }
    (scopes, defaulted)
}

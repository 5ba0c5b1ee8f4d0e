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
    /// See and answer requests for access.
    ReviewAccess,
}

impl Permission {
    pub const ALL: [Self; 10] = [
        Self::ViewIssues,
        Self::CreateIssue,
        Self::Comment,
        Self::EditIssue,
        Self::CloseIssue,
        Self::AssignIssue,
        Self::DeleteIssue,
        Self::ManageLabels,
        Self::ViewAudit,
        Self::ReviewAccess,
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
            Self::ReviewAccess => "review_access",
        }
    }

    /// The permission [`Self::name`] names.
    pub fn named(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|permission| permission.name() == name)
    }

    /// What an action named `name` does, in words ("close or reopen issues"); the name itself
    /// when no action has it.
    pub fn words_for(name: &str) -> String {
        Self::named(name).map_or_else(|| name.to_string(), |permission| permission.describe().to_string())
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
            Self::ReviewAccess => "answer requests for access",
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
            Self::ReviewAccess => "Features.Access.scopes.review",
        }
    }
}

/// Scopes each action needs, from config.json's `Features.Issues.scopes`,
/// `Features.Audit.scopes` and `Features.Access.scopes`. `None`: the action is turned off.
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
    pub access_review: Vec<String>,
    /// `Features.Issues.StepUp`: the actions that need a recent authentication, and how recent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub step_up: Vec<StepUp>,
}

/// An action that needs an authentication at the identity provider no older than `max_age`
/// seconds (`Features.Issues.StepUp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepUp {
    pub permission: Permission,
    pub max_age: u64,
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
            Permission::ReviewAccess => Some(&self.access_review),
        }
    }

    /// How recent an authentication `permission` needs, in seconds; `None`: any will do.
    pub fn step_up(&self, permission: Permission) -> Option<u64> {
        self.step_up
            .iter()
            .find(|step_up| step_up.permission == permission)
            .map(|step_up| step_up.max_age)
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
                permissions.refused.push(Why::new(permission, missing));
            }
        }
        permissions
    }
}

/// Why one action is refused: the scopes the caller lacks (none when config.json turns the
/// action off), and which roles grant them ([`RoleGrants::explain`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Why {
    pub permission: Permission,
    pub missing: Vec<String>,
    /// Roles the caller does not have that grant every missing scope.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub granted_by: Vec<String>,
    /// Roles the caller has that should grant the missing scopes: the role's grant at the
    /// identity provider is what is wrong.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held: Vec<String>,
    /// The roles were learned from sign-ins, not written in config.json: said as seen.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub learned: bool,
}

impl Why {
    pub fn new(permission: Permission, missing: Vec<String>) -> Self {
        Self {
            permission,
            missing,
            granted_by: Vec::new(),
            held: Vec::new(),
            learned: false,
        }
    }

    /// One line for the person refused: what they lack, and which role grants it. It never
    /// names as the way to get it a role the person already has.
    pub fn line(&self) -> String {
        let action = self.permission.describe();
        let lacks = match self.missing.as_slice() {
            [] => return format!("No one may {action} here: config.json does not allow it."),
            [scope] => format!("You can't {action}: your access lacks the scope {scope}"),
            scopes => format!("You can't {action}: your access lacks the scopes {}", scopes.join(", ")),
        };
        let them = match self.missing.len() {
            1 => "it",
            _ => "them",
        };
        let mut line = match (self.granted_by.is_empty(), self.learned) {
            (true, _) => format!("{lacks}."),
            (false, false) => format!("{lacks}, granted by the {} role.", roles(&self.granted_by)),
            (false, true) => format!("{lacks}; people with the {} role have {them}.", roles(&self.granted_by)),
        };
        if !self.held.is_empty() {
            let plural = if self.held.len() == 1 { "role" } else { "roles" };
            let held = roles_and(&self.held);
            line.push_str(&match self.learned {
                false => format!(
                    " You have the {held} {plural}, which config.json says grants {them}: \
                     the role's grant at the identity provider is missing {them}."
                ),
                true => format!(
                    " You have the {held} {plural}, and others with it have {them}: \
                     your grant at the identity provider is missing {them}."
                ),
            });
        }
        line
    }
}

/// "Manager", "Manager or Lead", "Manager, Lead or Owner".
fn roles(names: &[String]) -> String {
    joined(names, "or")
}

fn roles_and(names: &[String]) -> String {
    joined(names, "and")
}

fn joined(names: &[String], word: &str) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} {word} {last}", rest.join(", ")),
    }
}

/// Which roles grant which scopes, for the "why" lines: config.json's
/// `ApplicationConfig.AccessHelp.Roles` as the admin set them up at the identity provider, or
/// else learned from sign-ins (a role grants what everyone seen with it was granted).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleGrants {
    /// Each role and the scopes it grants.
    pub roles: Vec<(String, Vec<String>)>,
    /// Learned from sign-ins rather than written by the admin.
    pub learned: bool,
}

impl RoleGrants {
    /// The roles that grant every one of `scopes`.
    pub fn granting<'a>(&'a self, scopes: &'a [String]) -> impl Iterator<Item = &'a str> + 'a {
        self.roles
            .iter()
            .filter(|(_, granted)| scopes.iter().all(|scope| granted.contains(scope)))
            .map(|(role, _)| role.as_str())
    }

    /// Names in `why` the roles that grant what it lacks, apart from those in `held` (the
    /// caller's own roles), which it names as held.
    pub fn explain(&self, why: &mut Why, held: &[String]) {
        if why.missing.is_empty() {
            return;
        }
        for role in self.granting(&why.missing) {
            let list = match held.iter().any(|own| own == role) {
                true => &mut why.held,
                false => &mut why.granted_by,
            };
            list.push(role.to_string());
        }
        why.learned = self.learned;
    }

    /// [`Self::explain`] for every refusal in `permissions`.
    pub fn explain_all(&self, permissions: &mut Permissions, held: &[String]) {
        for why in &mut permissions.refused {
            self.explain(why, held);
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
    pub review_access: bool,
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
            Permission::ReviewAccess => &mut self.review_access,
        }
    }

    /// The line saying why `permission` is refused; `None` when it is allowed.
    pub fn why_not(&self, permission: Permission) -> Option<String> {
        self.refused
            .iter()
            .find(|why| why.permission == permission)
            .map(Why::line)
    }

    /// The lines saying why each of `permissions` is refused, in that order.
    pub fn why_not_each(&self, permissions: &[Permission]) -> Vec<(Permission, String)> {
        permissions
            .iter()
            .filter_map(|&permission| self.why_not(permission).map(|line| (permission, line)))
            .collect()
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
    /// When the person last proved who they are at the identity provider (the ID or access
    /// token's `auth_time`), in seconds since the epoch; `None` when the provider did not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
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
    /// Allowed, but config.json wants a more recent authentication for it: the caller signs in
    /// again at the identity provider (asking it for one no older than `max_age` seconds) and
    /// repeats the call. 401 with `insufficient_user_authentication` (RFC 9470).
    StepUp { permission: Permission, max_age: u64 },
}

impl Refusal {
    /// The line saying why, for `viewer`.
    pub fn why(&self, viewer: Option<&Viewer>) -> Option<Why> {
        match self {
            Self::Unauthenticated | Self::StepUp { .. } => None,
            Self::Forbidden { permission, required } => Some(Why::new(
                *permission,
                match viewer {
                    Some(viewer) => viewer.missing(required).into_iter().map(str::to_string).collect(),
                    None => required.clone(),
                },
            )),
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

/// [`require`], then, for an action config.json names in `Features.Issues.StepUp`, an
/// authentication at the identity provider no older than it says (`now`: seconds since the
/// epoch). A caller whose provider never said when they authenticated must do so again.
pub fn require_recent<'a>(
    viewer: Option<&'a Viewer>,
    features: &FeatureScopes,
    permission: Permission,
    now: i64,
) -> Result<&'a Viewer, Refusal> {
    let viewer = require(viewer, features, permission)?;
    match step_up_needed(viewer, features, permission, now) {
        Some(max_age) => Err(Refusal::StepUp { permission, max_age }),
        None => Ok(viewer),
    }
}

/// How far ahead of our clock a provider's `auth_time` may be and still be believed.
pub const AUTH_TIME_LEEWAY_SECONDS: i64 = 60;

/// The `max_age` `viewer` must sign in again within before doing `permission` at `now`; `None`
/// when their authentication is recent enough, or the action asks for none. An `auth_time` not
/// said, or further in the future than a clock could be off, is not recent.
pub fn step_up_needed(viewer: &Viewer, features: &FeatureScopes, permission: Permission, now: i64) -> Option<u64> {
    let max_age = features.step_up(permission)?;
    let recent = viewer.auth_time.is_some_and(|at| {
        at <= now.saturating_add(AUTH_TIME_LEEWAY_SECONDS) && now.saturating_sub(at) <= max_age as i64
    });
    (!recent).then_some(max_age)
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
            access_review: scopes(&["audit:view"]),
            step_up: Vec::new(),
        }
    }

    fn viewer(names: &[&str]) -> Viewer {
        Viewer {
            sub: "s".into(),
            name: "n".into(),
            scopes: scopes(names),
            client_id: None,
            auth_time: None,
        }
    }

    #[test]
    fn a_step_up_action_needs_an_authentication_no_older_than_config_json_says() {
        let features = FeatureScopes {
            delete: Some(scopes(&["issues:delete"])),
            step_up: vec![StepUp {
                permission: Permission::DeleteIssue,
                max_age: 60,
            }],
            ..features()
        };
        let now = 1_000_000;
        let at = |auth_time: Option<i64>| Viewer {
            auth_time,
            ..viewer(&["issues:delete", "issues:close"])
        };
        let delete = |viewer: &Viewer| require_recent(Some(viewer), &features, Permission::DeleteIssue, now).map(drop);
        assert!(delete(&at(Some(now - 60))).is_ok());
        let step_up = Err(Refusal::StepUp {
            permission: Permission::DeleteIssue,
            max_age: 60,
        });
        assert_eq!(delete(&at(Some(now - 61))), step_up);
        assert_eq!(
            delete(&at(None)),
            step_up,
            "a provider that never said when must be asked"
        );
        assert_eq!(
            delete(&at(Some(now + 61))),
            step_up,
            "a time to come is no authentication"
        );
        assert!(delete(&at(Some(now + 60))).is_ok(), "a clock a minute fast is believed");
        // Scopes first: a caller who may not delete at all is told that, not sent to sign in.
        let closer = viewer(&["issues:close"]);
        let refused = require_recent(Some(&closer), &features, Permission::DeleteIssue, now);
        assert!(matches!(refused, Err(Refusal::Forbidden { .. })), "{refused:?}");
        // Other actions take any authentication.
        let old = at(Some(now - 86_400));
        assert!(require_recent(Some(&old), &features, Permission::CloseIssue, now).is_ok());
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

    fn grants(roles: &[(&str, &[&str])], learned: bool) -> RoleGrants {
        RoleGrants {
            roles: roles
                .iter()
                .map(|(role, granted)| (role.to_string(), scopes(granted)))
                .collect(),
            learned,
        }
    }

    #[test]
    fn a_refusal_names_the_roles_that_grant_what_is_missing() {
        let written = grants(
            &[
                ("Manager", &["issues:view", "issues:close", "issues:edit"]),
                ("Lead", &["issues:close"]),
                ("Employee", &["issues:view"]),
            ],
            false,
        );
        let mut permissions = features().permissions(&scopes(&["issues:view"]));
        written.explain_all(&mut permissions, &scopes(&["Employee"]));
        assert_eq!(
            permissions.why_not(Permission::CloseIssue).unwrap(),
            "You can't close or reopen issues: your access lacks the scope issues:close, \
             granted by the Manager or Lead role."
        );
        // No role grants it: the line says only what is missing.
        assert_eq!(
            permissions.why_not(Permission::ViewAudit).unwrap(),
            "You can't view the audit trail: your access lacks the scope audit:view."
        );
        // Turned off: no role can help.
        assert_eq!(
            permissions.why_not(Permission::DeleteIssue).unwrap(),
            "No one may delete issues here: config.json does not allow it."
        );
    }

    #[test]
    fn a_role_the_person_has_is_never_the_way_to_get_it() {
        let written = grants(
            &[
                ("Manager", &["issues:view", "issues:close"]),
                ("Lead", &["issues:close"]),
            ],
            false,
        );
        let mut permissions = features().permissions(&scopes(&["issues:view"]));
        written.explain_all(&mut permissions, &scopes(&["Manager"]));
        let line = permissions.why_not(Permission::CloseIssue).unwrap();
        assert_eq!(
            line,
            "You can't close or reopen issues: your access lacks the scope issues:close, \
             granted by the Lead role. You have the Manager role, which config.json says grants it: \
             the role's grant at the identity provider is missing it."
        );
        let mut permissions = features().permissions(&scopes(&["issues:view"]));
        grants(&[("Manager", &["issues:close"])], false).explain_all(&mut permissions, &scopes(&["Manager"]));
        let line = permissions.why_not(Permission::CloseIssue).unwrap();
        assert!(!line.contains("granted by"), "{line}");
        assert!(line.contains("You have the Manager role"), "{line}");
    }

    #[test]
    fn learned_roles_are_said_as_seen() {
        let learned = grants(&[("Manager", &["issues:view", "issues:close"])], true);
        let mut permissions = features().permissions(&scopes(&["issues:view"]));
        learned.explain_all(&mut permissions, &[]);
        assert_eq!(
            permissions.why_not(Permission::CloseIssue).unwrap(),
            "You can't close or reopen issues: your access lacks the scope issues:close; \
             people with the Manager role have it."
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

//! The access review for auditors: everyone who signed in here, with their roles and granted
//! scopes as last seen, the actions those allow under the configuration in force, the scopes they
//! hold but did not use in [`UNUSED_AFTER_DAYS`] days (fewer when the audit trail is kept for
//! less: it cannot tell of older use), and their refusals per action. Use is read from the audit
//! trail (each change is recorded with its actor, a read of the trail or of this review hourly;
//! viewing is counted as used by a sign-in in the window), so reading it costs no request
//! anything.

use std::collections::HashMap;

use crate::access::{FeatureScopes, Permission};
use crate::model::{PersonAccess, Refusals, UNUSED_AFTER_DAYS};
use crate::server::storage::audit::{AuditTrail, EventKind};
use crate::server::storage::people::{People, PersonSeen};

/// The people the review lists at most (the most recently seen).
pub const REVIEW_PEOPLE: i64 = 2_000;

/// Which action an audited event used.
const USES: [(EventKind, Permission); 20] = [
    (EventKind::IssueCreated, Permission::CreateIssue),
    (EventKind::IssueEdited, Permission::EditIssue),
    (EventKind::IssueTriaged, Permission::EditIssue),
    (EventKind::CommentHidden, Permission::EditIssue),
    (EventKind::CommentShown, Permission::EditIssue),
    (EventKind::IssueClosed, Permission::CloseIssue),
    (EventKind::IssueReopened, Permission::CloseIssue),
    (EventKind::IssueAssigned, Permission::AssignIssue),
    (EventKind::IssueDeleted, Permission::DeleteIssue),
    (EventKind::IssueRestored, Permission::DeleteIssue),
    (EventKind::CommentAdded, Permission::Comment),
    (EventKind::CommentEdited, Permission::Comment),
    (EventKind::CommentDeleted, Permission::Comment),
    (EventKind::LabelDefined, Permission::ManageLabels),
    (EventKind::LabelChanged, Permission::ManageLabels),
    (EventKind::LabelDeleted, Permission::ManageLabels),
    (EventKind::WebhookRedelivered, Permission::ViewAudit),
    (EventKind::AuditRead, Permission::ViewAudit),
    (EventKind::AccessAnswered, Permission::ReviewAccess),
    (EventKind::AccessReviewed, Permission::ReviewAccess),
];

fn used_by(event: &str) -> Option<Permission> {
    USES.iter()
        .find(|(kind, _)| kind.name() == event)
        .map(|(_, permission)| *permission)
}

/// The review as of `now` (Unix seconds), under `features`, looking back no further than the
/// audit trail keeps events (`kept`).
pub async fn review(
    people: &People,
    audit: &AuditTrail,
    (features, kept): (&FeatureScopes, std::time::Duration),
    now: i64,
) -> Result<Vec<PersonAccess>, sqlx::Error> {
    let window_days = window_days(kept);
    let since = now - window_days * 24 * 60 * 60;
    let everyone = people.everyone(REVIEW_PEOPLE).await?;
    let done = audit.last_done_since(since).await?;
    let refused = audit.refusals_since(since).await?;
    let mut review = assemble(everyone, &done, &refused, features, since);
    for person in &mut review {
        person.window_days = window_days;
    }
    Ok(review)
}

/// [`UNUSED_AFTER_DAYS`], or the whole days the audit trail keeps if fewer (at least one).
fn window_days(kept: std::time::Duration) -> i64 {
    let kept_days = (kept.as_secs() / (24 * 60 * 60)) as i64;
    UNUSED_AFTER_DAYS.min(kept_days).max(1)
}

/// Each person's line, from what the audit trail says they did (`done`: sub, event, when) and
/// were refused (`refused`: sub, action, how often) since `since`.
fn assemble(
    everyone: Vec<PersonSeen>,
    done: &[(String, String, i64)],
    refused: &[(String, String, i64)],
    features: &FeatureScopes,
    since: i64,
) -> Vec<PersonAccess> {
    let mut used: HashMap<&str, Vec<Permission>> = HashMap::new();
    for (sub, event, _) in done {
        if let Some(permission) = used_by(event) {
            used.entry(sub.as_str()).or_default().push(permission);
        }
    }
    let mut refusals: HashMap<&str, Vec<Refusals>> = HashMap::new();
    for (sub, action, count) in refused {
        refusals.entry(sub.as_str()).or_default().push(Refusals {
            action: action.clone(),
            count: *count,
        });
    }
    let needed: Vec<&String> = features.all_scopes().collect();
    everyone
        .into_iter()
        .map(|person| {
            let scopes = person.seen.scopes;
            let mut theirs = used.remove(person.sub.as_str()).unwrap_or_default();
            if person.last_seen_at >= since {
                theirs.push(Permission::ViewIssues);
            }
            let used_scopes: Vec<&String> = theirs
                .iter()
                .filter(|permission| features.allows(&scopes, **permission))
                .flat_map(|permission| features.required(*permission).unwrap_or_default())
                .collect();
            let unused_scopes = scopes
                .iter()
                .filter(|scope| needed.contains(scope) && !used_scopes.contains(scope))
                .cloned()
                .collect();
            let actions = Permission::ALL
                .into_iter()
                .filter(|permission| features.allows(&scopes, *permission))
                .map(|permission| permission.name().to_string())
                .collect();
            let mut refused = refusals.remove(person.sub.as_str()).unwrap_or_default();
            refused.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.action.cmp(&b.action)));
            PersonAccess {
                last_seen_at: person.last_seen_at * 1000,
                sub: person.sub,
                name: person.name,
                roles: person.seen.roles,
                scopes,
                actions,
                unused_scopes,
                refusals: refused,
                window_days: UNUSED_AFTER_DAYS,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::storage::people::RolesSeen;

    fn strings(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn features() -> FeatureScopes {
        FeatureScopes {
            view: strings(&["issues:view"]),
            create: strings(&["issues:create"]),
            comment: strings(&["issues:comment", "issues:view"]),
            edit: strings(&["issues:edit"]),
            close: strings(&["issues:close"]),
            assign: strings(&["issues:assign"]),
            delete: Some(strings(&["issues:delete"])),
            labels: strings(&["issues:edit"]),
            audit_view: strings(&["audit:view"]),
            access_review: strings(&["audit:view"]),
            step_up: Vec::new(),
        }
    }

    fn person(sub: &str, last_seen_at: i64, roles: &[&str], scopes: &[&str]) -> PersonSeen {
        PersonSeen {
            sub: sub.into(),
            name: sub.to_uppercase(),
            last_seen_at,
            seen: RolesSeen {
                roles: strings(roles),
                scopes: strings(scopes),
            },
        }
    }

    #[test]
    fn a_scope_is_unused_when_no_action_that_needs_it_was_done() {
        let everyone = vec![
            person(
                "john",
                100,
                &["Manager"],
                &["openid", "issues:view", "issues:create", "issues:close"],
            ),
            person("alex", 100, &["Admin"], &["issues:view", "issues:delete", "audit:view"]),
            person("gone", 10, &["Employee"], &["issues:view"]),
        ];
        let done = [
            ("john".to_string(), "issue_created".to_string(), 120),
            ("alex".to_string(), "issue_deleted".to_string(), 130),
            ("alex".to_string(), "sign_in".to_string(), 130),
        ];
        let refused = [
            ("john".to_string(), "delete_issue".to_string(), 3),
            ("john".to_string(), "view_audit".to_string(), 1),
        ];
        let review = assemble(everyone, &done, &refused, &features(), 50);
        let john = &review[0];
        assert_eq!(john.actions, ["view_issues", "create_issue", "close_issue"]);
        assert_eq!(john.unused_scopes, ["issues:close"], "openid is no action's scope");
        assert_eq!(
            john.refusals[0],
            Refusals {
                action: "delete_issue".into(),
                count: 3
            }
        );
        assert_eq!(john.last_seen_at, 100_000, "milliseconds");
        let alex = &review[1];
        assert!(alex.actions.contains(&"delete_issue".to_string()));
        assert_eq!(alex.unused_scopes, ["audit:view"]);
        let read = [("alex".to_string(), "audit_read".to_string(), 140)];
        let review_after_a_read = assemble(
            vec![person("alex", 100, &["Admin"], &["issues:view", "audit:view"])],
            &read,
            &[],
            &features(),
            50,
        );
        assert!(
            review_after_a_read[0].unused_scopes.is_empty(),
            "reading the trail uses audit:view"
        );
        // Not seen in the window: viewing is not used either.
        assert_eq!(review[2].unused_scopes, ["issues:view"]);
    }

    #[test]
    fn the_review_looks_back_no_further_than_the_audit_trail_keeps_events() {
        let days = |n: u64| std::time::Duration::from_secs(n * 24 * 60 * 60);
        assert_eq!(window_days(days(365)), UNUSED_AFTER_DAYS);
        assert_eq!(
            window_days(days(30)),
            30,
            "older use is gone from the trail: not claimed unused"
        );
        assert_eq!(window_days(std::time::Duration::from_secs(3600)), 1);
    }
}

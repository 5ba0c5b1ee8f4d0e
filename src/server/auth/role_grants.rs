//! Which roles grant which scopes, for the "why" lines: config.json's
//! `ApplicationConfig.AccessHelp.Roles` when the admin wrote them, otherwise learned from
//! sign-ins: a role is said to grant a scope when everyone seen with the role in the last 90
//! days was granted it ("people with the Manager role have it"). The learned table is read
//! again after a sign-in here and at least once a minute; it only words refusals, it never
//! decides one.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::access::{Permissions, RoleGrants, Why};
use crate::server::ops::live::LiveConfig;
use crate::server::storage::people::{People, RolesSeen};
use crate::server::support::clock;

/// How far back sign-ins teach which role grants what.
const SEEN_WITHIN_SECONDS: i64 = 90 * 24 * 60 * 60;
/// The most recently seen people it learns from.
const PEOPLE_READ: i64 = 5_000;
/// How long a learned table is used before it is read again.
const LEARNED_FOR: Duration = Duration::from_secs(60);

pub struct RoleGuide {
    config: Arc<LiveConfig>,
    people: People,
    learned: Mutex<Option<(Instant, Arc<RoleGrants>)>>,
    /// Held while the table is read: refusals arriving meanwhile wait for that one reading
    /// instead of each reading the people again.
    learning: tokio::sync::Mutex<()>,
}

impl RoleGuide {
    pub fn new(config: Arc<LiveConfig>, people: People) -> Self {
        Self {
            config,
            people,
            learned: Mutex::new(None),
            learning: tokio::sync::Mutex::new(()),
        }
    }

    /// The table in force: config.json's, or the learned one (empty when it cannot be read:
    /// a refusal is then worded without roles).
    pub async fn grants(&self) -> Arc<RoleGrants> {
        if let Some(written) = &self.config.load().role_grants {
            return Arc::new(written.clone());
        }
        if let Some(grants) = self.still_learned() {
            return grants;
        }
        let _learning = self.learning.lock().await;
        if let Some(grants) = self.still_learned() {
            return grants;
        }
        let grants = match self
            .people
            .roles_seen(clock::now() - SEEN_WITHIN_SECONDS, PEOPLE_READ)
            .await
        {
            Ok(seen) => Arc::new(learn(&seen)),
            Err(error) => {
                tracing::warn!(%error, "could not read the roles seen at sign-in");
                return Arc::new(RoleGrants::default());
            }
        };
        if let Ok(mut learned) = self.learned.lock() {
            *learned = Some((Instant::now(), grants.clone()));
        }
        grants
    }

    /// The learned table, while it is fresh.
    fn still_learned(&self) -> Option<Arc<RoleGrants>> {
        let learned = self.learned.lock().ok()?;
        let (at, grants) = learned.as_ref()?;
        (at.elapsed() < LEARNED_FOR).then(|| grants.clone())
    }

    /// Someone signed in here (their roles and scopes recorded): the next explanation learns
    /// again. (A sign-in at another instance is learned within a minute.)
    pub fn relearn(&self) {
        if let Ok(mut learned) = self.learned.lock() {
            *learned = None;
        }
    }

    /// Words each refusal in `permissions` with the roles that grant it, for a caller with
    /// `held` roles.
    pub async fn explain_all(&self, permissions: &mut Permissions, held: &[String]) {
        if permissions.refused.iter().any(|why| !why.missing.is_empty()) {
            self.grants().await.explain_all(permissions, held);
        }
    }

    /// Words one refusal with the roles that grant it, for a caller with `held` roles.
    pub async fn explain_held(&self, why: &mut Why, held: &[String]) {
        if !why.missing.is_empty() {
            self.grants().await.explain(why, held);
        }
    }

    /// Words one refusal of `sub` with the roles that grant it (their roles as their newest
    /// sign-in carried them; none for a program that never signed in here).
    pub async fn explain(&self, why: &mut Why, sub: &str) {
        if why.missing.is_empty() {
            return;
        }
        let held = match self.people.roles_of(sub).await {
            Ok(held) => held,
            Err(error) => {
                // Without them, a role the caller has could be named as the way to get it.
                tracing::warn!(%error, "could not read the caller's roles");
                return;
            }
        };
        self.grants().await.explain(why, &held);
    }
}

/// A role grants what every person seen with it was granted.
fn learn(seen: &[RolesSeen]) -> RoleGrants {
    let mut roles: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for person in seen {
        for role in &person.roles {
            match roles.get_mut(role.as_str()) {
                None => {
                    roles.insert(role, person.scopes.clone());
                }
                Some(common) => common.retain(|scope| person.scopes.contains(scope)),
            }
        }
    }
    RoleGrants {
        roles: roles
            .into_iter()
            .filter(|(_, scopes)| !scopes.is_empty())
            .map(|(role, scopes)| (role.to_string(), scopes))
            .collect(),
        learned: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(roles: &[&str], scopes: &[&str]) -> RolesSeen {
        RolesSeen {
            roles: roles.iter().map(|r| r.to_string()).collect(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn a_role_grants_what_everyone_seen_with_it_was_granted() {
        let grants = learn(&[
            person(&["Manager"], &["issues:view", "issues:create", "issues:close"]),
            person(&["Manager", "Admin"], &["issues:view", "issues:close", "issues:delete"]),
            person(&["Employee"], &["issues:view"]),
            person(&["Visitor"], &[]),
        ]);
        assert!(grants.learned);
        let of = |role: &str| {
            grants
                .roles
                .iter()
                .find(|(name, _)| name == role)
                .map(|(_, s)| s.clone())
        };
        assert_eq!(of("Manager").unwrap(), ["issues:view", "issues:close"]);
        assert_eq!(of("Admin").unwrap(), ["issues:view", "issues:close", "issues:delete"]);
        assert_eq!(of("Employee").unwrap(), ["issues:view"]);
        assert_eq!(of("Visitor"), None, "a role seen granting nothing is not named");
        let close = ["issues:close".to_string()];
        assert_eq!(grants.granting(&close).collect::<Vec<_>>(), ["Admin", "Manager"]);
    }
}

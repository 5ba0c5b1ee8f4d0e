//! The app's pages, one file per page, rendered on the server (islands hydrate in the browser); what
//! they show comes from the server's decision (`session_info`), and the server checks again on every
//! call. Start at `app.rs`'s routes, then the page's file: `home`, `board` (`/issues`), `new_issue`,
//! `issue`, `deleted` (`/issues/deleted`), `labels`, `audit`, `access`, `profile`, `notifications`,
//! `not_found`; `common`, `create_form` and `triage` (label chips, priority, the triage form, an
//! issue's history) are what several pages share.

pub mod access;
pub mod audit;
pub mod board;
pub(crate) mod common;
pub(crate) mod create_form;
pub mod deleted;
pub mod home;
pub mod issue;
pub mod labels;
pub mod new_issue;
pub mod not_found;
pub mod notifications;
pub mod profile;
pub(crate) mod triage;

pub use access::AccessPage;
pub use audit::{AuditTrailPage, WebhookDeliveriesPage};
pub use board::IssuesPage;
pub use deleted::DeletedIssuesPage;
pub use home::HomePage;
pub use labels::LabelsPage;
pub use new_issue::NewIssuePage;
pub use not_found::NotFound;
pub use notifications::NotificationsPage;

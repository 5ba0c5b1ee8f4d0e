//! What several pages share: the sign-in prompt, the "not permitted" notice, and query-string
//! encoding for the addresses of filtered lists.

use leptos::prelude::*;

use crate::access::Permission;
use crate::access::SessionView;
use crate::ui::account::SignInButton;
use crate::ui::why::{AccessHelpNote, ask_for_access_form};

#[component]
pub(crate) fn SignInPrompt(#[prop(into)] return_to: String, message: &'static str) -> impl IntoView {
    view! {
        <section class="card prompt">
            <p>{message}</p>
            <SignInButton return_to id="sign-in" primary=true/>
        </section>
    }
}

/// The page's "not permitted" notice, saying why (and which role grants it), with "Ask for
/// access" when a scope would grant it.
pub(crate) fn not_permitted(info: &SessionView, permission: Permission) -> AnyView {
    #[cfg(feature = "ssr")]
    crate::server::http::status::of_page(403);
    let why = info.permissions.why_not(permission).unwrap_or_default();
    view! {
        <p class="notice error" role="alert" id="no-permission">{why}</p>
        {ask_for_access_form(&info.permissions, &[permission])}
        <AccessHelpNote help=info.access_help.clone()/>
    }
    .into_any()
}

/// `value` percent-encoded for a query string (everything but unreserved characters).
pub(crate) fn query_value(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (byte as char).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

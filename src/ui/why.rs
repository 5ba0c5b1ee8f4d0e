//! The "What can I do here?" panel: why each refused action is refused (and which role grants
//! it), "Ask for access", whom to ask (config.json's `ApplicationConfig.AccessHelp`), and
//! "Refresh my access", a silent re-authorization (`prompt=none`) that picks up a role changed
//! at the identity provider without signing out. Plain forms, drawn on the server: no WASM.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use crate::access::{AccessHelp, Permission, Permissions};
use crate::api::AskForAccess;
use crate::model::ACCESS_REASON_MAX_CHARS;

/// "What can I do here?": one collapsed panel with why each of this page's `actions` the
/// caller may not do is refused (and which role grants it), a form to ask for one of them, then
/// whom to ask and "Refresh my access". Nothing when every one is allowed.
pub fn what_can_i_do(
    permissions: &Permissions,
    actions: &[Permission],
    help: Option<AccessHelp>,
) -> Option<impl IntoView + use<>> {
    let lines = permissions.why_not_each(actions);
    let ask = ask_for_access_form(permissions, actions);
    (!lines.is_empty()).then(|| {
        view! {
            <details class="what-can-i-do" id="what-can-i-do">
                <summary>"What can I do here?"</summary>
                <ul class="why-not" id="why-not">
                    {lines
                        .into_iter()
                        .map(|(permission, line)| view! { <li id=format!("why-not-{}", permission.name())>{line}</li> })
                        .collect_view()}
                </ul>
                {ask}
                <AccessHelpNote help=help/>
            </details>
        }
    })
}

/// "Ask for access" to those of `actions` a scope would grant (not those config.json turns
/// off): which action, and why. A plain form (the server function sends the browser to the
/// profile, where the request shows as open); nothing when none can be asked for.
pub fn ask_for_access_form(permissions: &Permissions, actions: &[Permission]) -> Option<impl IntoView + use<>> {
    let askable: Vec<Permission> = actions
        .iter()
        .copied()
        .filter(|&action| {
            permissions
                .refused
                .iter()
                .any(|why| why.permission == action && !why.missing.is_empty())
        })
        .collect();
    if askable.is_empty() {
        return None;
    }
    let options = askable
        .iter()
        .map(|action| view! { <option value=action.name()>{action.describe()}</option> })
        .collect_view();
    Some(view! {
        <form method="post" action=AskForAccess::PATH class="ask-access" id="ask-access-form">
            <label for="ask-action">"Ask an admin to let you"</label>
            " "
            <select name="action" id="ask-action">{options}</select>
            <label for="ask-reason">"Why you need it"</label>
            <textarea name="reason" id="ask-reason" rows="2" maxlength=ACCESS_REASON_MAX_CHARS required></textarea>
            <button type="submit" class="secondary" id="ask-access">"Ask for access"</button>
        </form>
    })
}

#[component]
pub fn AccessHelpNote(help: Option<AccessHelp>) -> impl IntoView {
    let return_to = crate::ui::account::this_page();
    let help = help.map(|AccessHelp { text, link }| {
        let link = link.map(|link| {
            let shown = link.trim_start_matches("mailto:").to_string();
            view! { " " <a href=link id="access-help-link">{shown}</a> }
        });
        view! { <p id="access-help">{text}{link}</p> }
    });
    view! {
        <div class="access-help">
            {help}
            <form method="post" action="/api/sign_in" class="inline">
                <input type="hidden" name="return_to" value=return_to/>
                <input type="hidden" name="prompt" value="none"/>
                <button type="submit" class="secondary" id="refresh-access">"Refresh my access"</button>
            </form>
            <span class="muted">" Picks up a change to your roles without signing out."</span>
        </div>
    }
}

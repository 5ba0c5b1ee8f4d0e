//! Under the "why" lines: whom to ask (config.json's `ApplicationConfig.AccessHelp`), and
//! "Refresh my access", a silent re-authorization (`prompt=none`) that picks up a role changed
//! at the identity provider without signing out. Plain forms: no WASM needed.

use leptos::prelude::*;

use crate::access::AccessHelp;

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

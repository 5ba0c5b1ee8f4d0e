//! `/`: the home page. Signed out, a sign-in button; signed in, a welcome with the caller's
//! permissions (each granted one, or why not) and granted scopes. Rendered on the server.

use leptos::prelude::*;

use crate::access::Permission;
use crate::access::SessionView;
use crate::ui::account::SignInButton;
use crate::ui::session::use_session;
use crate::ui::why::AccessHelpNote;

#[component]
pub fn HomePage() -> impl IntoView {
    let session = use_session();
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || session.get().map(|result| match result {
                Ok(info) => home(info),
                Err(error) => view! { <p class="notice error" role="alert">{error.to_string()}</p> }.into_any(),
            })}
        </Suspense>
    }
}

fn home(info: SessionView) -> AnyView {
    let notice = info
        .notice
        .clone()
        .map(|notice| view! { <p class="notice warning" role="status" id="session-notice">{notice}</p> });
    match info.user {
        None => view! {
            {notice}
            <section class="hero card">
                <h1>"Issues"</h1>
                <p class="lead">"Track your team's issues. What you may see and do is decided by your organization's identity provider."</p>
                <SignInButton return_to="/" id="sign-in" primary=true/>
            </section>
        }
        .into_any(),
        Some(user) => {
            let permissions = info.permissions;
            view! {
                <section class="card welcome">
                    <h1>"Welcome, " <span id="welcome-name">{user.name}</span></h1>
                    <h2>"Your permissions"</h2>
                    <ul class="permissions">
                        {Permission::ALL
                            .into_iter()
                            .map(|permission| {
                                let (class, text) = match permissions.why_not(permission) {
                                    None => ("granted", format!("✓ You can {}", permission.describe())),
                                    Some(why) => ("denied", format!("✗ {why}")),
                                };
                                view! { <li id=format!("perm-{}", permission.name()) class=class>{text}</li> }
                            })
                            .collect_view()}
                    </ul>
                    <p class="scopes">
                        "Granted scopes: "
                        {info.scopes.into_iter().map(|scope| view! { <code class="scope">{scope}</code> " " }).collect_view()}
                    </p>
                    {(!permissions.refused.is_empty()).then(|| view! { <AccessHelpNote help=info.access_help/> })}
                    <a class="button primary" href="/issues">"Go to issues"</a>
                </section>
            }
            .into_any()
        }
    }
}

//! `/profile`: who the identity provider says you are, what you were granted, when this session
//! ends, how notifications reach you by e-mail (when the server mails), your requests for access
//! and their answers, and every session of yours, with "Sign out this session", "Sign out everywhere" and "Sign in as someone else".
//! Rendered on the server; its buttons are plain forms.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use crate::access::Permission;
use crate::api::{SetMailPreference, my_profile};
use crate::error::AppError;
use crate::model::{AccessRequest, MailPreference, MailSettings, Profile, RequestState, SessionSummary};
use crate::ui::pages::common::SignInPrompt;
use crate::ui::time::time;

#[component]
pub fn ProfilePage() -> impl IntoView {
    let profile = Resource::new(|| (), |_| my_profile());
    view! {
        <div class="page-head">
            <h1>"Your profile"</h1>
        </div>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || profile.get().map(|result| match result {
                Ok(profile) => profile_view(profile),
                Err(AppError::Unauthenticated | AppError::SessionEnded) => {
                    #[cfg(feature = "ssr")]
                    crate::server::http::status::of_page(401);
                    view! { <SignInPrompt return_to="/profile" message="Sign in to see your profile."/> }.into_any()
                }
                Err(error) => view! { <p class="notice error" role="alert">{error.to_string()}</p> }.into_any(),
            })}
        </Suspense>
    }
}

fn profile_view(profile: Profile) -> AnyView {
    let fact = |label: &'static str, id: &'static str, value: Option<String>| {
        value.map(|value| view! { <dt>{label}</dt> <dd id=id>{value}</dd> })
    };
    let list = |values: Vec<String>| Some(values.join(", ")).filter(|joined| !joined.is_empty());
    let deadlines = profile.deadlines;
    let idle_minutes = (deadlines.idle_ends_at - deadlines.now + 59) / 60;
    view! {
        <section class="card profile" id="profile">
            <dl class="facts">
                {fact("Name", "profile-name", Some(profile.name))}
                {fact("Username", "profile-username", profile.username)}
                {fact("Email", "profile-email", profile.email)}
                {fact("Organisation", "profile-organization", profile.organization)}
                {fact("Groups", "profile-groups", list(profile.groups))}
                {fact("Roles", "profile-roles", list(profile.roles))}
                <dt>"Granted scopes"</dt>
                <dd id="profile-scopes">
                    {profile.scopes.into_iter().map(|scope| view! { <code class="scope">{scope}</code> " " }).collect_view()}
                </dd>
                <dt>"Signed in"</dt>
                <dd id="session-started">{time(profile.started_at * 1000)}</dd>
                <dt>"Session ends"</dt>
                <dd id="session-ends">
                    "after " {idle_minutes} " minutes without use (" {time(deadlines.idle_ends_at * 1000)} " if unused), and at the latest "
                    {time(deadlines.absolute_ends_at * 1000)}
                </dd>
            </dl>
            <form method="post" action="/api/sign_in" class="inline">
                <input type="hidden" name="return_to" value="/"/>
                <input type="hidden" name="prompt" value="login"/>
                <button type="submit" class="secondary" id="sign-in-as-someone-else">"Sign in as someone else"</button>
            </form>
        </section>
        {profile.mail.map(mail_section)}
        {(!profile.access_requests.is_empty()).then(|| access_requests_section(profile.access_requests))}
        <section class="card" aria-labelledby="sessions-heading">
            <h2 id="sessions-heading">"Your sessions"</h2>
            <ul class="sessions" id="my-sessions">{profile.sessions.into_iter().map(session_item).collect_view()}</ul>
            <form method="post" action="/api/sign_out_everywhere" class="inline">
                <button type="submit" class="danger" id="sign-out-everywhere">"Sign out everywhere"</button>
            </form>
            <span class="muted">" Ends every session of yours, on every device, and revokes their refresh tokens."</span>
        </section>
    }
    .into_any()
}

/// How notifications reach you by e-mail: a plain form (the server function sends the browser
/// back here).
fn mail_section(mail: MailSettings) -> impl IntoView {
    let address = match mail.address {
        Some(address) => format!("Notifications are mailed to {address}, the address your organisation gave."),
        None => "Your organisation gave no e-mail address at sign-in: notifications stay in the app.".to_string(),
    };
    let choices = MailPreference::ALL
        .into_iter()
        .map(|choice| {
            let (id, input) = (format!("mail-{}", choice.name()), format!("mail-{}", choice.name()));
            view! {
                <label class="choice" for=id>
                    <input type="radio" name="mail" id=input value=choice.name() checked=choice == mail.preference/>
                    " " {choice.label()}
                </label>
            }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="mail-heading">
            <h2 id="mail-heading">"E-mail"</h2>
            <p class="muted" id="mail-address">{address}</p>
            <form method="post" action=SetMailPreference::PATH id="mail-form">
                <fieldset>
                    <legend>"Tell me by e-mail"</legend>
                    {choices}
                </fieldset>
                <button type="submit" class="secondary" id="mail-save">"Save"</button>
            </form>
        </section>
    }
}

/// Your requests for access and their answers; after "granted", Refresh my access picks up the
/// role the admin gave at the identity provider.
fn access_requests_section(requests: Vec<AccessRequest>) -> impl IntoView {
    let granted = requests.iter().any(|request| request.state == RequestState::Granted);
    let items = requests
        .into_iter()
        .map(|request| {
            let action = Permission::words_for(&request.action);
            let state = request.state.name();
            let answer = match request.state {
                RequestState::Open => view! { " · open since " {time(request.created_at)} }.into_any(),
                RequestState::Granted | RequestState::Declined => {
                    let by = request.decided_by.unwrap_or_default();
                    let note =
                        (!request.note.is_empty()).then(|| view! { ": " <q class="access-note">{request.note}</q> });
                    view! { " · " {state} " by " {by} " " {time(request.decided_at.unwrap_or_default())} {note} }
                        .into_any()
                }
            };
            view! {
                <li class=format!("access-request {state}") data-state=state>
                    "To " {action} " (" {request.scopes.join(", ")} ")" {answer}
                </li>
            }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="access-requests-heading" id="access-requests">
            <h2 id="access-requests-heading">"Your requests for access"</h2>
            <ul class="access-requests" id="my-access-requests">{items}</ul>
            {granted.then(|| view! {
                <p class="muted" id="access-granted-hint">
                    "Once an admin has granted a request at the identity provider, Refresh my access picks it up."
                </p>
                <form method="post" action="/api/sign_in" class="inline">
                    <input type="hidden" name="return_to" value="/profile"/>
                    <input type="hidden" name="prompt" value="none"/>
                    <button type="submit" class="secondary" id="refresh-access">"Refresh my access"</button>
                </form>
            })}
        </section>
    }
}

fn session_item(session: SessionSummary) -> impl IntoView {
    let class = if session.current { "session current" } else { "session" };
    let handle = session.handle.clone();
    let label = format!(
        "Sign out this session ({}, signed in {})",
        session.browser,
        crate::ui::time::format_time(session.first_seen * 1000)
    );
    view! {
        <li class=class data-handle=handle>
            <span class="browser">{session.browser}</span>
            {session.current.then(|| view! { " " <strong class="badge">"This session"</strong> })}
            <span class="muted">
                " · signed in " {time(session.first_seen * 1000)} " · last seen " {time(session.last_seen * 1000)}
            </span>
            <form method="post" action="/api/sign_out_session" class="inline">
                <input type="hidden" name="handle" value=session.handle/>
                <button type="submit" class="secondary sign-out-session" aria-label=label>"Sign out this session"</button>
            </form>
        </li>
    }
}

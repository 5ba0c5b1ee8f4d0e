//! The Sign in and Sign out controls: plain forms over the `sign_in` / `sign_out` server
//! functions, answered with a redirect (to the identity provider, or back with the reason it
//! did not go through, shown by `FormRefusal`). They need no WASM, so they ship none.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::error::AppError;

#[component]
pub fn SignInButton(
    /// Where the browser comes back to after signing in (a path of this app).
    #[prop(into)]
    return_to: String,
    #[prop(into)] id: String,
    primary: bool,
) -> impl IntoView {
    view! {
        <form method="post" action="/api/sign_in" class="inline">
            <input type="hidden" name="return_to" value=return_to/>
            <button type="submit" class=if primary { "primary" } else { "" } id=id>"Sign in"</button>
        </form>
    }
}

#[component]
pub fn SignOutButton() -> impl IntoView {
    view! {
        <form method="post" action="/api/sign_out" class="inline">
            <button type="submit" class="secondary" id="sign-out">"Sign out"</button>
        </form>
    }
}

/// Why a plain form's post did not go through (the identity provider or the store unavailable,
/// a session that ended): it comes back to its page with the error in the address (`__path`,
/// `__err`, as leptos_axum encodes it), shown here once for every form of the page. Anyone can
/// write an address, so only the kind of error is read and the words are ours: a link can
/// never put someone else's text on this page.
#[component]
pub fn FormRefusal() -> impl IntoView {
    let query = use_query_map();
    let problem = query.with_untracked(|query| {
        let from_a_form = query.get_str("__path").is_some_and(|path| path.starts_with("/api/"));
        let error = query.get_str("__err").filter(|_| from_a_form)?;
        let error = leptos::server_fn::error::ServerFnUrlError::<AppError>::decode_err(error);
        if let AppError::StepUp { max_age } = error {
            let problem = "That needs a recent sign-in: sign in again, then send it once more.".to_string();
            return Some((problem, Some(max_age)));
        }
        Some((
            match error {
                AppError::Forbidden(_) => "You may not do that with the access you have.".to_string(),
                AppError::Invalid(_) => "That was not saved: check what you wrote (it may be empty, too long, or hold \
                     control characters)."
                    .to_string(),
                AppError::BadRequest(_) | AppError::Transport(_) => "That request was refused.".to_string(),
                AppError::Stale(_) => "Someone else changed it meanwhile: nothing was saved.".to_string(),
                AppError::Conflict(_) => {
                    "That was not saved: it clashes with what is there now (a label of that name, \
                     or a request for access answered meanwhile)."
                        .to_string()
                }
                fixed @ (AppError::Unauthenticated
                | AppError::SessionEnded
                | AppError::NotFound
                | AppError::LabelNotFound
                | AppError::CommentNotFound
                | AppError::Unavailable
                | AppError::NotSignedOut
                | AppError::SearchTooSlow
                | AppError::TooManySearches
                | AppError::SearchesBusy
                | AppError::TooManyAccessRequests
                | AppError::Internal
                | AppError::StepUp { .. }) => fixed.to_string(),
            },
            None,
        ))
    });
    // Back to this page without the refusal in its address.
    let page = leptos_router::hooks::use_location().pathname.get_untracked();
    problem.map(|(problem, step_up)| {
        view! {
            <div class="notice error" role="alert" id="form-refusal">
                <p>{problem}</p>
                {step_up.map(|max_age| crate::ui::step_up::sign_in_again_form(max_age, page))}
            </div>
        }
    })
}

/// The page being rendered, path and query: where a form sends the browser back to.
pub fn this_page() -> String {
    let location = leptos_router::hooks::use_location();
    // `try_`: on the server, Suspense may re-run a child after the route's location was disposed
    // (seen once in the soak); a panic there stalled that page's stream, "/" does no harm.
    let path = location.pathname.try_get_untracked().unwrap_or_else(|| "/".into());
    let query = location.search.try_get_untracked().unwrap_or_default();
    if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    }
}

/// After a session ended: a plain form that signs in again and comes back to this page (where
/// any draft is restored). A plain function: it is used inside islands.
pub fn sign_in_again() -> impl IntoView {
    view! {
        <form method="post" action="/api/sign_in" class="inline sign-in-again">
            <input type="hidden" name="return_to" value=crate::ui::drafts::here()/>
            <button type="submit" class="primary" id="sign-in-again">"Sign in again"</button>
        </form>
    }
}

/// Whether a refusal means the session is gone (the answer is to sign in again).
pub fn needs_sign_in(error: &AppError) -> bool {
    matches!(error, AppError::Unauthenticated | AppError::SessionEnded)
}

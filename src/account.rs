//! The Sign in and Sign out controls: forms over the `sign_in` / `sign_out` server functions.
//! Without WASM they are plain form posts answered with a redirect; hydrated, the app sends
//! them and follows the answer to the identity provider.

use leptos::prelude::*;

use crate::api::{SignIn, SignOut};
use crate::error::AppError;

#[island]
pub fn SignInButton(
    /// Where the browser comes back to after signing in (a path of this app).
    #[prop(into)]
    return_to: String,
    #[prop(into)] id: String,
    primary: bool,
) -> impl IntoView {
    let action = ServerAction::<SignIn>::new();
    view! {
        <ActionForm action attr:class="inline">
            <input type="hidden" name="return_to" value=return_to/>
            <button type="submit" class=if primary { "primary" } else { "" } id=id>"Sign in"</button>
            <Refusal action/>
        </ActionForm>
    }
}

#[island]
pub fn SignOutButton() -> impl IntoView {
    let action = ServerAction::<SignOut>::new();
    view! {
        <ActionForm action attr:class="inline">
            <button type="submit" class="secondary" id="sign-out">"Sign out"</button>
            <Refusal action/>
        </ActionForm>
    }
}

/// Why the last attempt did not go through (the identity provider or the store unavailable).
#[component]
fn Refusal<A>(action: ServerAction<A>) -> impl IntoView
where
    A: leptos::server_fn::ServerFn<Output = (), Error = AppError> + Clone + Send + Sync + 'static,
    A::Output: Send + Sync + 'static,
{
    let problem = move || {
        action
            .value()
            .get()
            .and_then(Result::err)
            .map(|error| error.to_string())
    };
    view! { <span class="status" role="status">{problem}</span> }
}

/// After a session ended: a plain form that signs in again and comes back to this page (where
/// any draft is restored).
#[component]
pub fn SignInAgain() -> impl IntoView {
    view! {
        <form method="post" action="/api/sign_in" class="inline sign-in-again">
            <input type="hidden" name="return_to" value=crate::drafts::here()/>
            <button type="submit" class="primary" id="sign-in-again">"Sign in again"</button>
        </form>
    }
}

/// Whether a refusal means the session is gone (the answer is to sign in again).
pub fn needs_sign_in(error: &AppError) -> bool {
    matches!(error, AppError::Unauthenticated | AppError::SessionEnded)
}

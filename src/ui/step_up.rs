//! An action config.json wants a recent sign-in for (`Features.Issues.StepUp`) is refused with
//! `AppError::StepUp` when the session's sign-in is older. The form's call is then kept in this
//! tab's session storage while the person proves who they are at the identity provider
//! (`/auth/login?max_age=…`, which comes back to the same page), and sent again once they are
//! back: the action completes with nothing retyped. A kept call is sent once, from the page it
//! was made on, within ten minutes; a second refusal is shown, not sent round again.
//!
//! Without script, the form's refusal offers the same sign-in (`sign_in_again_form`), and the
//! person sends the form again.

use leptos::prelude::*;

/// A plain form that sends the browser to sign in again, proving who they are within
/// `max_age` seconds, and back to `return_to`.
pub fn sign_in_again_form(max_age: u64, return_to: String) -> impl IntoView {
    view! {
        <form method="get" action="/auth/login" class="inline" id="step-up-form">
            <input type="hidden" name="max_age" value=max_age.to_string()/>
            <input type="hidden" name="return_to" value=return_to/>
            <button type="submit" class="secondary" id="step-up-sign-in">"Sign in again"</button>
        </form>
    }
}

#[cfg(feature = "hydrate")]
pub(crate) use browser::{resume, sign_in_again};

#[cfg(feature = "hydrate")]
mod browser {
    use leptos::prelude::{document, window};
    use serde::{Deserialize, Serialize};

    use crate::error::AppError;

    /// Where the call waits while the person signs in again.
    const KEY: &str = "issues-app:step-up";
    /// A call kept longer than this is dropped, not sent.
    const KEPT_MS: f64 = 600_000.0;

    #[derive(Serialize, Deserialize)]
    struct Kept {
        url: String,
        body: String,
        page: String,
        at: f64,
    }

    fn this_page() -> String {
        let location = window().location();
        format!(
            "{}{}",
            location.pathname().unwrap_or_default(),
            location.search().unwrap_or_default()
        )
    }

    /// Keeps the call (`body` posted to `url`) and sends the browser to sign in again within
    /// `max_age` seconds, back to this page; `false` when it cannot be kept (then nothing is
    /// left half done: the refusal is shown).
    pub fn sign_in_again(url: &str, body: &str, max_age: u64) -> bool {
        let page = this_page();
        // The sign-in comes back only to an address it accepts (`safe_return_to`).
        if page.len() > 1024 {
            return false;
        }
        let kept = Kept {
            url: url.to_string(),
            body: body.to_string(),
            page: page.clone(),
            at: js_sys::Date::now(),
        };
        let (Some(storage), Ok(json)) = (window().session_storage().ok().flatten(), serde_json::to_string(&kept))
        else {
            return false;
        };
        let Ok(params) = web_sys::UrlSearchParams::new() else {
            return false;
        };
        if storage.set_item(KEY, &json).is_err() {
            return false;
        }
        params.append("max_age", &max_age.to_string());
        params.append("return_to", &page);
        let to = format!("/auth/login?{}", String::from(params.to_string()));
        window().location().set_href(&to).is_ok()
    }

    /// Sends the call kept for this page, if there is one: the page then shows its outcome
    /// (the function's redirect, or this page again), or the refusal at the top of the page.
    pub fn resume() {
        let Some(storage) = window().session_storage().ok().flatten() else {
            return;
        };
        let Some(kept) = storage.get_item(KEY).ok().flatten() else {
            return;
        };
        let _ = storage.remove_item(KEY);
        let Ok(kept) = serde_json::from_str::<Kept>(&kept) else {
            return;
        };
        if kept.page != this_page() || js_sys::Date::now() - kept.at > KEPT_MS {
            return;
        }
        leptos::task::spawn_local(async move {
            match crate::ui::post::post(&kept.url, kept.body).await {
                // A function that redirects was followed by `post`; else the page shows the change.
                Ok((_, redirected)) => {
                    if !redirected {
                        let _ = window().location().reload();
                    }
                }
                Err(error) => show(&error),
            }
        });
    }

    fn show(error: &AppError) {
        let Some(main) = document().get_element_by_id("main") else {
            return;
        };
        let Ok(line) = document().create_element("p") else {
            return;
        };
        line.set_class_name("notice error");
        line.set_id("step-up-result");
        let _ = line.set_attribute("role", "alert");
        line.set_text_content(Some(&format!("That was not done: {error}")));
        let _ = main.prepend_with_node_1(&line);
    }
}

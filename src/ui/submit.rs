//! Forms that call a server function from the browser without a page load, all through one
//! path: the form's own fields, URL-encoded, posted to its `action`, the answer read as the
//! function's output or as its [`AppError`]. It is what the form does as plain HTML (before
//! the page is hydrated, or without script), done in place.
//!
//! Leptos' `ActionForm` would rebuild each form's fields as the function's typed arguments and
//! encode them again: a decoder and an encoder per form in the WASM. Here every form shares
//! one non-generic sender; only reading the answer is per type, as for any server call.

use leptos::prelude::*;
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// The calls one form makes: the last answer, how many have been answered, and how many are
/// on their way. A form is not sent again while it is on its way (a double click posts once).
pub struct Submission<T: Send + Sync + 'static> {
    value: RwSignal<Option<Result<T, AppError>>>,
    version: RwSignal<usize>,
    in_flight: RwSignal<usize>,
}

impl<T: Send + Sync + 'static> Clone for Submission<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Send + Sync + 'static> Copy for Submission<T> {}

impl<T: DeserializeOwned + Send + Sync + 'static> Default for Submission<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: DeserializeOwned + Send + Sync + 'static> Submission<T> {
    pub fn new() -> Self {
        Submission {
            value: RwSignal::new(None),
            version: RwSignal::new(0),
            in_flight: RwSignal::new(0),
        }
    }

    /// The last answer: none before the first.
    pub fn value(&self) -> ReadSignal<Option<Result<T, AppError>>> {
        self.value.read_only()
    }

    /// How many calls have been answered.
    pub fn version(&self) -> ReadSignal<usize> {
        self.version.read_only()
    }

    /// Whether a call is on its way.
    pub fn pending(&self) -> Signal<bool> {
        let in_flight = self.in_flight;
        Signal::derive(move || in_flight.get() > 0)
    }

    /// The form's `on:submit`: its fields go to its `action` and the page stays.
    pub fn on_submit(self) -> impl Fn(leptos::ev::SubmitEvent) + Copy + 'static {
        move |event| {
            #[cfg(feature = "hydrate")]
            {
                use wasm_bindgen::JsCast;
                let form = event
                    .target()
                    .and_then(|target| target.dyn_into::<web_sys::HtmlFormElement>().ok());
                if let Some(form) = form.filter(|_| !event.default_prevented()) {
                    event.prevent_default();
                    if self.in_flight.get_untracked() == 0 {
                        self.send(form.action(), fields(&form));
                    }
                }
            }
            #[cfg(not(feature = "hydrate"))]
            let _ = event;
        }
    }

    /// Calls the server function at `path` with `fields` (name, value), as a form would.
    pub fn dispatch(self, path: &str, fields: &[(&str, &str)]) {
        #[cfg(feature = "hydrate")]
        if let Ok(params) = web_sys::UrlSearchParams::new() {
            for (name, value) in fields {
                params.append(name, value);
            }
            self.send(path.to_string(), params.to_string().into());
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (path, fields);
    }

    #[cfg(feature = "hydrate")]
    fn send(self, url: String, body: String) {
        self.in_flight.update(|count| *count += 1);
        leptos::task::spawn_local(async move {
            let answer = crate::ui::post::post(&url, body.clone()).await;
            // A recent sign-in is needed: the call waits while the person signs in again, and
            // is sent again when they are back (`step_up`).
            if let Err(AppError::StepUp { max_age }) = &answer
                && crate::ui::step_up::sign_in_again(&url, &body, *max_age)
            {
                return;
            }
            let answer = answer.and_then(|(text, _)| {
                serde_json::from_str::<T>(&text).map_err(|error| AppError::Transport(error.to_string()))
            });
            self.value.set(Some(answer));
            self.version.update(|version| *version += 1);
            self.in_flight.update(|count| *count = count.saturating_sub(1));
        });
    }
}

/// The form's fields, URL-encoded, as the browser would post them.
#[cfg(feature = "hydrate")]
fn fields(form: &web_sys::HtmlFormElement) -> String {
    web_sys::FormData::new_with_form(form)
        .ok()
        .and_then(|data| web_sys::UrlSearchParams::new_with_str_sequence_sequence(&data).ok())
        .map(|params| String::from(params.to_string()))
        .unwrap_or_default()
}

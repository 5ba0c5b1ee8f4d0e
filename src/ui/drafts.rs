//! Text being written (a new issue, a comment) is kept in the browser's local storage as it is
//! typed, so a session that ends before it is sent loses nothing: after signing in again the
//! same page restores it. It never goes to the server until the user sends it. Drafts belong
//! to the signed-in user (the page names them with an opaque key, `data-drafts` on the header's
//! name) and are forgotten when they sign out.

/// The saved draft under `key`, if any.
pub fn load(key: &str) -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        storage()?
            .get_item(&owned(key)?)
            .ok()
            .flatten()
            .filter(|text| !text.is_empty())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = key;
        None
    }
}

/// Keeps `text` under `key` (an empty text removes it).
pub fn save(key: &str, text: &str) {
    #[cfg(feature = "hydrate")]
    if let (Some(storage), Some(key)) = (storage(), owned(key)) {
        let _ = if text.is_empty() {
            storage.remove_item(&key)
        } else {
            storage.set_item(&key, text)
        };
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (key, text);
}

/// An `on:input` handler: what is typed goes into `text` and is kept as the draft `key`.
pub fn kept_as(key: String, text: leptos::prelude::RwSignal<String>) -> impl FnMut(leptos::ev::Event) {
    use leptos::prelude::Set;
    move |event| {
        let typed = leptos::prelude::event_target_value(&event);
        save(&key, &typed);
        text.set(typed);
    }
}

/// Forgets the draft: it was sent.
pub fn clear(key: &str) {
    save(key, "");
}

#[cfg(feature = "hydrate")]
fn storage() -> Option<web_sys::Storage> {
    leptos::prelude::window().local_storage().ok().flatten()
}

/// `issues-app:draft:<owner>:`: the signed-in user's drafts; `None` when nobody is.
#[cfg(feature = "hydrate")]
fn prefix() -> Option<String> {
    let owner = leptos::prelude::document()
        .get_element_by_id("user-name")?
        .get_attribute("data-drafts")?;
    Some(format!("issues-app:draft:{owner}:"))
}

#[cfg(feature = "hydrate")]
fn owned(key: &str) -> Option<String> {
    Some(format!("{}{key}", prefix()?))
}

/// Signing out (here, everywhere, or to sign in as someone else) forgets the user's drafts, so
/// nothing they typed stays behind on this browser.
#[cfg(feature = "hydrate")]
pub fn forget_on_sign_out() {
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;

    let Some(prefix) = prefix() else { return };
    let forget = Closure::<dyn Fn()>::new(move || {
        let Some(storage) = storage() else { return };
        let length = storage.length().unwrap_or(0);
        let keys: Vec<String> = (0..length)
            .filter_map(|index| storage.key(index).ok().flatten())
            .filter(|key| key.starts_with(&prefix))
            .collect();
        for key in keys {
            let _ = storage.remove_item(&key);
        }
    });
    let document = leptos::prelude::document();
    for id in ["sign-out", "sign-out-everywhere", "sign-in-as-someone-else"] {
        if let Some(form) = document
            .get_element_by_id(id)
            .and_then(|button| button.closest("form").ok().flatten())
        {
            let _ = form.add_event_listener_with_callback("submit", forget.as_ref().unchecked_ref());
        }
    }
    forget.forget();
}

/// The page the browser is on (path and query), to come back to after signing in again.
pub fn here() -> String {
    #[cfg(feature = "hydrate")]
    {
        let location = leptos::prelude::window().location();
        let path = location.pathname().unwrap_or_else(|_| "/".into());
        format!("{path}{}", location.search().unwrap_or_default())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        "/".to_string()
    }
}

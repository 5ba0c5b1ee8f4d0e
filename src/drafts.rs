//! Text being written (a new issue, a comment) is kept in the browser's local storage as it is
//! typed, so a session that ends before it is sent loses nothing: after signing in again the
//! same page restores it. It never goes to the server until the user sends it.

/// The saved draft under `key`, if any.
pub fn load(key: &str) -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        storage()?
            .get_item(&prefixed(key))
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
    if let Some(storage) = storage() {
        let _ = if text.is_empty() {
            storage.remove_item(&prefixed(key))
        } else {
            storage.set_item(&prefixed(key), text)
        };
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (key, text);
}

/// Forgets the draft: it was sent.
pub fn clear(key: &str) {
    save(key, "");
}

#[cfg(feature = "hydrate")]
fn storage() -> Option<web_sys::Storage> {
    leptos::prelude::window().local_storage().ok().flatten()
}

#[cfg(feature = "hydrate")]
fn prefixed(key: &str) -> String {
    format!("issues-app:draft:{key}")
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

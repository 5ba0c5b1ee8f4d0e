//! Islands that move with changes made elsewhere: `public/live.js` holds the page's stream of
//! changes (`GET /live`) and says on `window` that the board or this issue changed; an island
//! counts those announcements in a signal and reads again. No stream code in the WASM.

use leptos::prelude::*;

/// Announced on `window` for any change the reader may see (the board reads again).
pub const BOARD_CHANGED: &str = "issues-app:board-changed";
/// Announced on `window` when the issue on this page changed (the issue reads again).
pub const ISSUE_CHANGED: &str = "issues-app:issue-changed";

/// How many times `event` was announced: a source for a resource that should read again.
pub fn changes(event: &'static str) -> ReadSignal<u32> {
    let (count, set_count) = signal(0u32);
    let handle = window_event_listener_untyped(event, move |_| set_count.update(|n| *n = n.wrapping_add(1)));
    on_cleanup(move || handle.remove());
    count
}

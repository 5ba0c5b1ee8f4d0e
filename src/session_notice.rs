//! A few minutes before the session ends, a notice that does not get in the way: "Stay signed
//! in" when it is the idle deadline (the session is renewed); an explanation when it is the
//! absolute one. Once it has ended: "Sign in again", back to the same page, where drafts are
//! restored. An island, told the deadlines (and the server's clock) by the page.

use leptos::prelude::*;

use crate::account::SignInAgain;
use crate::api::{peek_session, stay_signed_in};
use crate::model::SessionDeadlines;

#[derive(Clone, Copy, PartialEq)]
enum Phase {
    Quiet,
    /// Ends at this time (seconds) unless used.
    Idle(i64),
    /// Reaches its maximum length at this time.
    Absolute(i64),
    Ended,
}

/// Seconds since the epoch by this side's clock.
fn clock() -> i64 {
    #[cfg(feature = "hydrate")]
    {
        (js_sys::Date::now() / 1000.0) as i64
    }
    #[cfg(not(feature = "hydrate"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_secs() as i64)
            .unwrap_or_default()
    }
}

/// A moment as the reader's clock shows it.
fn at(seconds: i64) -> String {
    #[cfg(feature = "hydrate")]
    {
        crate::time::clock_time(seconds * 1000)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        crate::time::format_time(seconds * 1000)
    }
}

#[island]
pub fn SessionNotice(deadlines: SessionDeadlines) -> impl IntoView {
    let ends = RwSignal::new(deadlines);
    // The server's clock minus this one: the page counts in the server's time.
    let skew = RwSignal::new(deadlines.now - clock());
    let tick = RwSignal::new(clock());
    let ended = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    let _ = set_interval_with_handle(move || tick.set(clock()), std::time::Duration::from_secs(5));
    // A renewal also resets the clocks' difference; a mere question keeps it (the page's idea
    // of the time is measured once, at load, and again at each renewal).
    let adopt = move |answer: Option<SessionDeadlines>, resync: bool| match answer {
        Some(deadlines) => {
            if resync {
                skew.set(deadlines.now - clock());
                tick.set(clock());
            }
            ends.set(deadlines);
        }
        None => ended.set(true),
    };
    let phase = move || {
        let ends = ends.get();
        let now = tick.get() + skew.get();
        if ended.get() || now >= ends.idle_ends_at {
            Phase::Ended
        } else if ends.idle_ends_at - now > ends.warn_before {
            Phase::Quiet
        } else if ends.idle_ends_at < ends.absolute_ends_at {
            Phase::Idle(ends.idle_ends_at)
        } else {
            Phase::Absolute(ends.absolute_ends_at)
        }
    };
    // Before warning, ask the server (without counting it as use) whether the session was used
    // meanwhile from another tab, which moves the deadline.
    let asked = RwSignal::new(0);
    Effect::new(move |_| {
        let deadline = ends.get().idle_ends_at;
        if phase() != Phase::Quiet && !ended.get() && asked.get_untracked() != deadline {
            asked.set(deadline);
            leptos::task::spawn_local(async move {
                if let Ok(answer) = peek_session().await {
                    adopt(answer, false);
                }
            });
        }
    });
    let stay = Action::new(|_: &()| stay_signed_in());
    Effect::new(move |_| {
        if let Some(Ok(answer)) = stay.value().get() {
            adopt(answer, true);
        }
    });
    view! {
        <div class="session-notice" role="status" aria-live="polite" id="session-deadline">
            {move || match phase() {
                Phase::Quiet => ().into_any(),
                Phase::Idle(end) => view! {
                    <p class="notice warning">
                        "Your session ends at " {at(end)} " unless you use it. "
                        <button type="button" class="primary" id="stay-signed-in" on:click=move |_| {
                            stay.dispatch(());
                        }>"Stay signed in"</button>
                    </p>
                }
                .into_any(),
                Phase::Absolute(end) => view! {
                    <p class="notice warning">
                        "Your session reaches its maximum length at " {at(end)}
                        ". Send what you are writing before then: you will need to sign in again."
                    </p>
                }
                .into_any(),
                Phase::Ended => view! {
                    <p class="notice warning" id="session-over">
                        "Your session has ended. Anything you were writing is kept in this browser. "
                        <SignInAgain/>
                    </p>
                }
                .into_any(),
            }}
        </div>
    }
}

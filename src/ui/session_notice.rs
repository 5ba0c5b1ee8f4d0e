//! A few minutes before the session ends, a notice that does not get in the way: "Stay signed
//! in" when it is the idle deadline (the session is renewed); an explanation when it is the
//! absolute one. Once it has ended: "Sign in again", back to the same page, where drafts are
//! restored.
//!
//! The server renders the notice hidden, with the deadlines (and its clock) as data; `watch`
//! runs in the browser and shows it in time. Plain DOM work rather than an island: a timer and
//! three toggles do not need the reactive view machinery, whose WASM would not fit the first
//! load's budget.

use leptos::prelude::*;

use crate::model::SessionDeadlines;

/// The notice, hidden until its time; its deadlines as data for `watch`.
#[component]
pub fn SessionNotice(deadlines: SessionDeadlines) -> impl IntoView {
    let return_to = crate::ui::account::this_page();
    view! {
        <div
            class="session-notice"
            id="session-deadline"
            role="status"
            aria-live="polite"
            data-now=deadlines.now
            data-idle=deadlines.idle_ends_at
            data-absolute=deadlines.absolute_ends_at
            data-warn=deadlines.warn_before
        >
            <div class="notice warning" hidden>
                <span id="session-deadline-text"></span>
                " "
                <button type="button" class="primary" id="stay-signed-in" hidden>"Stay signed in"</button>
                <form method="post" action="/api/sign_in" class="inline" id="session-sign-in-again" hidden>
                    <input type="hidden" name="return_to" value=return_to/>
                    <button type="submit" class="primary">"Sign in again"</button>
                </form>
            </div>
        </div>
    }
}

#[cfg(feature = "hydrate")]
pub use watch::watch;

#[cfg(feature = "hydrate")]
mod watch {
    use std::cell::Cell;
    use std::rc::Rc;

    use leptos::prelude::*;
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;
    use web_sys::Element;

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

    impl Phase {
        /// Where a session with `ends` stands at `now` (the server's time).
        fn of(ends: SessionDeadlines, now: i64, ended: bool) -> Self {
            if ended || now >= ends.idle_ends_at {
                Self::Ended
            } else if ends.idle_ends_at - now > ends.warn_before {
                Self::Quiet
            } else if ends.idle_ends_at < ends.absolute_ends_at {
                Self::Idle(ends.idle_ends_at)
            } else {
                Self::Absolute(ends.absolute_ends_at)
            }
        }
    }

    /// What the page knows of its session.
    #[derive(Clone, Copy)]
    struct Known {
        ends: SessionDeadlines,
        /// The server's clock minus this one, measured at load and at each renewal (a mere
        /// question keeps it).
        skew: i64,
        /// Confirmed by the server: the session has ended.
        ended: bool,
        /// When the server was last asked (this browser's clock).
        asked_at: i64,
        /// What the notice shows now: the page is touched only when it changes (a live region
        /// is read out at every change).
        shown: Phase,
    }

    /// Seconds since the epoch by this browser's clock.
    fn clock() -> i64 {
        (js_sys::Date::now() / 1000.0) as i64
    }

    /// While warning, the server is asked again this often (use in another tab moves the
    /// deadline).
    const ASK_EVERY_SECONDS: i64 = 30;

    impl Known {
        /// What to show: by the page's clock, except that "ended" is only said once the server
        /// has confirmed it (until then the warning stays).
        fn phase(self) -> Phase {
            match Phase::of(self.ends, clock() + self.skew, self.ended) {
                Phase::Ended if !self.ended => Phase::of(self.ends, self.ends.idle_ends_at - 1, false),
                phase => phase,
            }
        }

        /// Whether to ask the server now: near or past the deadline, not confirmed ended, and
        /// not asked lately (at once when the page's clock says it has ended).
        fn should_ask(self) -> bool {
            let now = clock();
            let local = Phase::of(self.ends, now + self.skew, self.ended);
            !self.ended
                && local != Phase::Quiet
                && (now - self.asked_at >= ASK_EVERY_SECONDS || (local == Phase::Ended && now > self.asked_at))
        }
    }

    /// Starts watching the page's session notice, if the page has one (signed in).
    pub fn watch() {
        let Some(root) = document().get_element_by_id("session-deadline") else {
            return;
        };
        let number = |name: &str| root.get_attribute(name).and_then(|value| value.parse::<i64>().ok());
        let (Some(now), Some(idle), Some(absolute), Some(warn)) = (
            number("data-now"),
            number("data-idle"),
            number("data-absolute"),
            number("data-warn"),
        ) else {
            return;
        };
        let ends = SessionDeadlines {
            now,
            idle_ends_at: idle,
            absolute_ends_at: absolute,
            warn_before: warn,
        };
        let known = Rc::new(Cell::new(Known {
            ends,
            skew: now - clock(),
            ended: false,
            asked_at: 0,
            shown: Phase::Quiet,
        }));
        let root = Rc::new(root);
        let tick = {
            let (known, root) = (known.clone(), root.clone());
            move || {
                show(&known, &root);
                let state = known.get();
                if state.should_ask() {
                    known.set(Known {
                        asked_at: clock(),
                        ..state
                    });
                    leptos::task::spawn_local(ask(known.clone(), root.clone(), false));
                }
            }
        };
        let _ = set_interval_with_handle(tick, std::time::Duration::from_secs(5));
        if let Some(button) = document().get_element_by_id("stay-signed-in") {
            let stay = Closure::<dyn Fn()>::new(move || {
                leptos::task::spawn_local(ask(known.clone(), root.clone(), true));
            });
            let _ = button.add_event_listener_with_callback("click", stay.as_ref().unchecked_ref());
            stay.forget();
        }
    }

    /// Asks the server when the session ends (`renew`: "Stay signed in" first) and shows it.
    /// A renewal also measures the clocks' difference again; a question keeps it.
    async fn ask(known: Rc<Cell<Known>>, root: Rc<Element>, renew: bool) {
        let Ok(answer) = crate::api::check_session(renew).await else {
            return;
        };
        let state = known.get();
        let state = match answer {
            Some(ends) => Known {
                ends,
                skew: if renew { ends.now - clock() } else { state.skew },
                ..state
            },
            None => Known { ended: true, ..state },
        };
        known.set(state);
        show(&known, &root);
    }

    /// Brings the notice up to date, if what it should show changed.
    fn show(known: &Cell<Known>, root: &Element) {
        let state = known.get();
        let phase = state.phase();
        if phase == state.shown {
            return;
        }
        known.set(Known { shown: phase, ..state });
        let toggle = |element: Option<Element>, hidden: bool| {
            if let Some(element) = element {
                let _ = element.toggle_attribute_with_force("hidden", hidden);
            }
        };
        let by_id = |id: &str| document().get_element_by_id(id);
        toggle(root.first_element_child(), phase == Phase::Quiet);
        toggle(by_id("stay-signed-in"), !matches!(phase, Phase::Idle(_)));
        toggle(by_id("session-sign-in-again"), phase != Phase::Ended);
        if let Some(text) = by_id("session-deadline-text") {
            text.set_text_content(Some(&message(phase)));
        }
    }

    fn message(phase: Phase) -> String {
        let at = |seconds: i64| crate::ui::time::clock_time(seconds * 1000);
        match phase {
            Phase::Quiet => String::new(),
            Phase::Idle(end) => format!("Your session ends at {} unless you use it.", at(end)),
            Phase::Absolute(end) => format!(
                "Your session reaches its maximum length at {}. Send what you are writing before then: you will need to sign in again.",
                at(end)
            ),
            Phase::Ended => "Your session has ended. Anything you were writing is kept in this browser.".into(),
        }
    }
}

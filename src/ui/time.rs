//! Times as the reader sees them. The server renders each as `<time>` in UTC; in the browser
//! they are rewritten to the reader's time zone ("5 minutes ago" when recent), with UTC kept in
//! the tooltip.

use leptos::prelude::*;

/// A moment, in milliseconds since the epoch. (A plain function, not a component: it is used
/// inside islands, and every erased component costs WASM.)
pub fn time(millis: i64) -> impl IntoView {
    let utc = format_time(millis);
    let text = shown(millis, utc.clone());
    view! { <time datetime=iso(millis) data-at=millis title=utc>{text}</time> }
}

/// Rendered by the server: UTC, the same for every reader.
#[cfg(not(feature = "hydrate"))]
fn shown(_millis: i64, utc: String) -> String {
    utc
}

/// Rendered in the browser (a new comment, say): local at once.
#[cfg(feature = "hydrate")]
fn shown(millis: i64, _utc: String) -> String {
    local(millis, js_sys::Date::now() as i64)
}

/// Rewrites every server-rendered time on the page to the reader's zone.
#[cfg(feature = "hydrate")]
pub fn localize_page() {
    let Ok(times) = document().query_selector_all("time[data-at]") else {
        return;
    };
    let now = js_sys::Date::now() as i64;
    for index in 0..times.length() {
        let Some(node) = times.item(index) else { continue };
        let at = wasm_bindgen::JsCast::dyn_ref::<web_sys::Element>(&node)
            .and_then(|element| element.get_attribute("data-at"))
            .and_then(|at| at.parse::<i64>().ok());
        if let Some(at) = at {
            node.set_text_content(Some(&local(at, now)));
        }
    }
}

/// "just now", "5 minutes ago", "3 hours ago" within a day; otherwise (older, or ahead: a
/// deadline) the date and time in the reader's locale and zone.
#[cfg(feature = "hydrate")]
pub fn local(millis: i64, now: i64) -> String {
    let ago = (now - millis) / 1000;
    match ago {
        0..60 => "just now".into(),
        60..3600 => plural(ago / 60, "minute"),
        3600..86_400 => plural(ago / 3600, "hour"),
        _ => {
            let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(millis as f64));
            let options = js_sys::JSON::parse(r#"{"dateStyle":"medium","timeStyle":"short"}"#)
                .unwrap_or(wasm_bindgen::JsValue::UNDEFINED);
            date.to_locale_string("default", &options).into()
        }
    }
}

/// The reader's local clock time of a moment, e.g. "14:05" (or "2:05 PM").
#[cfg(feature = "hydrate")]
pub fn clock_time(millis: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(millis as f64));
    let options = js_sys::JSON::parse(r#"{"timeStyle":"short"}"#).unwrap_or(wasm_bindgen::JsValue::UNDEFINED);
    date.to_locale_time_string_with_options("default", &options).into()
}

#[cfg(feature = "hydrate")]
fn plural(count: i64, unit: &str) -> String {
    if count == 1 {
        format!("1 {unit} ago")
    } else {
        format!("{count} {unit}s ago")
    }
}

/// `2026-11-22T09:30:00Z`, for the `datetime` attribute.
fn iso(millis: i64) -> String {
    let (date, clock) = civil(millis);
    format!("{date}T{clock}:00Z")
}

/// `2026-11-22 09:30 UTC` from milliseconds since the epoch; the same on server and browser.
pub fn format_time(millis: i64) -> String {
    let (date, clock) = civil(millis);
    format!("{date} {clock} UTC")
}

/// (`2026-11-22`, `09:30`).
fn civil(millis: i64) -> (String, String) {
    let seconds = millis.div_euclid(1000);
    let (days, of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        format!("{year:04}-{month:02}-{day:02}"),
        format!("{:02}:{:02}", of_day / 3600, of_day % 3600 / 60),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_utc_times() {
        assert_eq!(super::format_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(super::format_time(1_795_347_000_000), "2026-11-22 11:30 UTC");
        assert_eq!(super::iso(1_795_347_000_000), "2026-11-22T11:30:00Z");
    }
}

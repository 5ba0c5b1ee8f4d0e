//! What people write, as the page shows it: Markdown (CommonMark with tables, task lists and
//! strikethrough) rendered here, on the server, and sanitized by ammonia — no script, no style,
//! no event attributes, only safe link schemes, links `rel="nofollow noopener"` — so the
//! browser receives HTML it may insert as is and the WASM carries no Markdown code.
//!
//! `@Name` of someone who has signed in is a mention: a link to their work on the board, and
//! recorded so they find the issue on their home page. A name is matched whole, ignoring case,
//! the longest first (`@Ann Lee` over `@Ann`), never inside code or a link.

use std::sync::LazyLock;

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd};

use crate::model::Person;

/// The sanitizer's rules, built once.
static CLEANER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut cleaner = ammonia::Builder::default();
    cleaner
        .link_rel(Some("nofollow noopener"))
        .add_allowed_classes("a", ["mention"]);
    cleaner
});

fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_TASKLISTS | Options::ENABLE_STRIKETHROUGH
}

/// `text` as sanitized HTML, its mentions of `people` as links.
pub fn render(text: &str, people: &[Person]) -> String {
    if text.is_empty() {
        return String::new();
    }
    let mut events = Vec::new();
    let mut plain = 0usize; // > 0 inside code or a link: no mentions there
    for event in Parser::new_ext(text, options()) {
        match event {
            Event::Start(Tag::CodeBlock(_) | Tag::Link { .. }) => {
                plain += 1;
                events.push(event);
            }
            Event::End(TagEnd::CodeBlock | TagEnd::Link) => {
                plain = plain.saturating_sub(1);
                events.push(event);
            }
            // A marker people read; no form controls in the page's text.
            Event::TaskListMarker(done) => {
                events.push(Event::Text(CowStr::Borrowed(if done { "☑ " } else { "☐ " })))
            }
            Event::Text(text) if plain == 0 && text.contains('@') => linked_mentions(&text, people, &mut events),
            other => events.push(other),
        }
    }
    let mut html = String::with_capacity(text.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    CLEANER.clean(&html).to_string()
}

/// The `sub`s of the people `text` mentions (each once, in order), outside code and links.
pub fn mentioned(text: &str, people: &[Person]) -> Vec<String> {
    let mut subs: Vec<String> = Vec::new();
    let mut plain = 0usize;
    for event in Parser::new_ext(text, options()) {
        match event {
            Event::Start(Tag::CodeBlock(_) | Tag::Link { .. }) => plain += 1,
            Event::End(TagEnd::CodeBlock | TagEnd::Link) => plain = plain.saturating_sub(1),
            Event::Text(text) if plain == 0 => {
                for (_, _, person) in mentions_in(&text, people) {
                    if !subs.contains(&person.sub) {
                        subs.push(person.sub.clone());
                    }
                }
            }
            _ => {}
        }
    }
    subs
}

/// Pushes `text` with its mentions as links.
fn linked_mentions<'a>(text: &str, people: &[Person], events: &mut Vec<Event<'a>>) {
    let mut rest = 0;
    for (start, end, person) in mentions_in(text, people) {
        if start > rest {
            events.push(Event::Text(CowStr::from(text[rest..start].to_string())));
        }
        let sub: String = url::form_urlencoded::byte_serialize(person.sub.as_bytes()).collect();
        let href = format!("/issues?assignee={sub}");
        events.push(Event::InlineHtml(CowStr::from(format!(
            r#"<a class="mention" href="{}">{}</a>"#,
            html_escape::encode_double_quoted_attribute(&href),
            html_escape::encode_text(&text[start..end]),
        ))));
        rest = end;
    }
    if rest < text.len() {
        events.push(Event::Text(CowStr::from(text[rest..].to_string())));
    }
}

/// Each `@Name` in `text`: where it starts (the `@`), where it ends, and who.
fn mentions_in<'p>(text: &str, people: &'p [Person]) -> Vec<(usize, usize, &'p Person)> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find('@').map(|i| from + i) {
        let after = at + 1;
        let word_before = text[..at].chars().next_back().is_some_and(char::is_alphanumeric);
        let person = (!word_before)
            .then(|| {
                people
                    .iter()
                    .filter(|person| !person.name.is_empty() && names_at(text, after, &person.name))
                    .max_by_key(|person| person.name.len())
            })
            .flatten();
        match person {
            Some(person) => {
                let end = after + person.name.len();
                found.push((at, end, person));
                from = end;
            }
            None => from = after,
        }
    }
    found
}

/// Whether `name` is written at `at` in `text` (ignoring case), ending a word.
fn names_at(text: &str, at: usize, name: &str) -> bool {
    let Some(written) = text.get(at..at + name.len()) else {
        return false;
    };
    let ends_word = !text[at + name.len()..]
        .chars()
        .next()
        .is_some_and(char::is_alphanumeric);
    ends_word && (written.eq_ignore_ascii_case(name) || written.to_lowercase() == name.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::{mentioned, render};
    use crate::model::Person;

    fn people() -> Vec<Person> {
        ["John Manager", "John", "Emily Employee"]
            .iter()
            .enumerate()
            .map(|(i, name)| Person {
                sub: format!("sub-{i}"),
                name: name.to_string(),
            })
            .collect()
    }

    #[test]
    fn markdown_renders_tables_task_lists_and_code() {
        let html = render(
            "# Steps\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n- [x] done\n- [ ] todo\n\n```\nlet x = 1;\n```",
            &[],
        );
        assert!(html.contains("<h1>Steps</h1>"), "{html}");
        assert!(html.contains("<table>") && html.contains("<td>1</td>"), "{html}");
        assert!(html.contains("☑ done") && html.contains("☐ todo"), "{html}");
        assert!(html.contains("<pre><code>let x = 1;\n</code></pre>"), "{html}");
    }

    #[test]
    fn scripts_styles_event_attributes_and_javascript_links_render_inert() {
        let html = render(
            "<script>alert(1)</script>\n\n<style>body{}</style><img src=x onerror=alert(1)>\n\n\
             [click](javascript:alert(1)) <a href=\"javascript:alert(2)\" onclick=\"x()\">b</a> [ok](https://example.com)",
            &[],
        );
        for bad in ["<script", "alert(1)</", "<style", "onerror", "onclick", "javascript:"] {
            assert!(!html.contains(bad), "{bad} in {html}");
        }
        assert!(
            html.contains(r#"<a href="https://example.com" rel="nofollow noopener">ok</a>"#),
            "{html}"
        );
    }

    #[test]
    fn mentions_are_links_to_the_longest_name_and_never_inside_code() {
        let people = people();
        let html = render("@john manager, see `@John` and @Emily Employee. mail@John", &people);
        assert!(
            html.contains(
                r#"<a href="/issues?assignee=sub-0" class="mention" rel="nofollow noopener">@john manager</a>"#
            ) || html.contains(
                r#"<a class="mention" href="/issues?assignee=sub-0" rel="nofollow noopener">@john manager</a>"#
            ),
            "{html}"
        );
        assert!(html.contains("<code>@John</code>"), "{html}");
        assert_eq!(
            mentioned(
                "@john manager, see `@John` and @Emily Employee. mail@John @Johnny",
                &people
            ),
            ["sub-0", "sub-2"]
        );
    }
}

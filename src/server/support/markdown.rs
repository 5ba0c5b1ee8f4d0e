//! What people write, as the page shows it: Markdown (CommonMark with tables, task lists and
//! strikethrough) rendered here, on the server, and sanitized by ammonia — no script, no style,
//! no event attributes, only safe link schemes, links `rel="nofollow noopener"` — so the
//! browser receives HTML it may insert as is and the WASM carries no Markdown code.
//!
//! `@Name` of someone who has signed in is a mention: a link to their work on the board, and
//! recorded so they find the issue on their home page. A name is matched whole, ignoring case,
//! the longest first (`@Ann Lee` over `@Ann`), never inside code or a link; a name two people
//! share names neither.
//!
//! HTML people type is shown as the text they typed: every tag in the output is one Markdown
//! made (so a "mention" link is always ours), and an image is a link to it, so reading a page
//! fetches nothing its writer chose.

use std::collections::HashMap;
use std::sync::LazyLock;

use pulldown_cmark::{CowStr, Event, LinkType, Options, Parser, Tag, TagEnd, TextMergeStream};

use crate::model::Person;

/// At most this many mentions are linked (and recorded) in one text.
const MENTIONS_MAX: usize = 50;

/// The sanitizer's rules, built once: ammonia's defaults without images.
static CLEANER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut cleaner = ammonia::Builder::default();
    cleaner
        .rm_tags(["img"])
        .link_rel(Some("nofollow noopener"))
        .add_allowed_classes("a", ["mention"]);
    cleaner
});

fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_TASKLISTS | Options::ENABLE_STRIKETHROUGH
}

/// The people who may be mentioned, looked up by the first letter of their name (lower case),
/// longest name first. Built once per page, used for each text on it.
pub struct Names<'p> {
    by_first: HashMap<char, Vec<(Vec<char>, &'p Person)>>,
}

impl<'p> Names<'p> {
    pub fn new(people: &'p [Person]) -> Self {
        let mut by_first: HashMap<char, Vec<(Vec<char>, &'p Person)>> = HashMap::new();
        for person in people {
            let name: Vec<char> = person.name.chars().flat_map(char::to_lowercase).collect();
            if let Some(&first) = name.first() {
                by_first.entry(first).or_default().push((name, person));
            }
        }
        for candidates in by_first.values_mut() {
            candidates.sort_by_key(|(name, _)| std::cmp::Reverse(name.len()));
        }
        Names { by_first }
    }

    /// Who is named at the start of `text` (a whole word), and how many bytes the name takes.
    /// The longest name wins; two people of that name: no one.
    fn at_start(&self, text: &str) -> Option<(usize, &'p Person)> {
        let first = text.chars().next()?.to_lowercase().next()?;
        let candidates = self.by_first.get(&first)?;
        let mut found: Option<(usize, usize, &'p Person)> = None; // (name length, bytes, who)
        for (name, person) in candidates {
            if found.is_some_and(|(length, _, _)| name.len() < length) {
                break;
            }
            let Some(bytes) = written_at_start(text, name) else {
                continue;
            };
            match found {
                Some((length, _, other)) if length == name.len() && other.sub != person.sub => return None,
                Some(_) => {}
                None => found = Some((name.len(), bytes, person)),
            }
        }
        found.map(|(_, bytes, person)| (bytes, person))
    }
}

/// The bytes `name` (lower case) takes at the start of `text` (any case), ending a word.
fn written_at_start(text: &str, name: &[char]) -> Option<usize> {
    let mut letters = text.char_indices();
    let mut wanted = name.iter();
    let mut end = 0;
    while let Some(&want) = wanted.next() {
        let (at, written) = letters.next()?;
        // One written letter may lower-case to several (İ → i̇): all must follow in `name`.
        let mut lower = written.to_lowercase();
        if lower.next() != Some(want) {
            return None;
        }
        for more in lower {
            if wanted.next() != Some(&more) {
                return None;
            }
        }
        end = at + written.len_utf8();
    }
    let ends_word = !text[end..].chars().next().is_some_and(char::is_alphanumeric);
    ends_word.then_some(end)
}

/// Markdown's events for `text`: adjacent text merged (so a name is never split), raw HTML
/// as the text it is, and images as links; each with whether a mention may be there (not
/// inside code or a link).
fn events(text: &str) -> impl Iterator<Item = (Event<'_>, bool)> {
    let events = TextMergeStream::new(Parser::new_ext(text, options())).map(|event| match event {
        Event::Html(html) | Event::InlineHtml(html) => Event::Text(html),
        Event::Start(Tag::Image {
            dest_url, title, id, ..
        }) => Event::Start(Tag::Link {
            link_type: LinkType::Inline,
            dest_url,
            title,
            id,
        }),
        Event::End(TagEnd::Image) => Event::End(TagEnd::Link),
        other => other,
    });
    // How deep inside code or links the event is.
    events.scan(0usize, |depth, event| {
        match event {
            Event::Start(Tag::CodeBlock(_) | Tag::Link { .. }) => *depth += 1,
            Event::End(TagEnd::CodeBlock | TagEnd::Link) => *depth = depth.saturating_sub(1),
            _ => {}
        }
        Some((event, *depth == 0))
    })
}

/// `text` as sanitized HTML, its mentions of `names` as links.
pub fn render(text: &str, names: &Names) -> String {
    if text.is_empty() {
        return String::new();
    }
    let mut out = Vec::new();
    let mut budget = MENTIONS_MAX;
    for (event, mentionable) in events(text) {
        match event {
            // A marker people read; no form controls in the page's text.
            Event::TaskListMarker(done) => out.push(Event::Text(CowStr::Borrowed(if done { "☑ " } else { "☐ " }))),
            Event::Text(text) if mentionable && budget > 0 && text.contains('@') => {
                linked_mentions(&text, names, &mut budget, &mut out)
            }
            other => out.push(other),
        }
    }
    let mut html = String::with_capacity(text.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, out.into_iter());
    CLEANER.clean(&html).to_string()
}

/// The `sub`s of the people `text` mentions (each once, in order), outside code and links.
pub fn mentioned(text: &str, names: &Names) -> Vec<String> {
    let mut subs: Vec<String> = Vec::new();
    let mut budget = MENTIONS_MAX;
    for (event, mentionable) in events(text) {
        let Event::Text(text) = event else { continue };
        if !mentionable {
            continue;
        }
        for (_, _, person) in mentions_in(&text, names, &mut budget) {
            if !subs.contains(&person.sub) {
                subs.push(person.sub.clone());
            }
        }
    }
    subs
}

/// Pushes `text` with its mentions as links.
fn linked_mentions<'a>(text: &str, names: &Names, budget: &mut usize, events: &mut Vec<Event<'a>>) {
    let mut rest = 0;
    for (start, end, person) in mentions_in(text, names, budget) {
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

/// Each `@Name` in `text` (at most `budget` more): where it starts (the `@`), where it ends,
/// and who.
fn mentions_in<'p>(text: &str, names: &Names<'p>, budget: &mut usize) -> Vec<(usize, usize, &'p Person)> {
    let mut found = Vec::new();
    let mut from = 0;
    while *budget > 0 {
        let Some(at) = text[from..].find('@').map(|i| from + i) else {
            break;
        };
        let after = at + 1;
        let word_before = text[..at].chars().next_back().is_some_and(char::is_alphanumeric);
        match (!word_before).then(|| names.at_start(&text[after..])).flatten() {
            Some((length, person)) => {
                found.push((at, after + length, person));
                *budget -= 1;
                from = after + length;
            }
            None => from = after,
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::{Names, mentioned, render};
    use crate::model::Person;

    fn people() -> Vec<Person> {
        ["John Manager", "John", "Emily Employee", "Kim", "Kim"]
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
            &Names::new(&[]),
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
            &Names::new(&[]),
        );
        let tags = tags(&html);
        for (tag, attributes) in &tags {
            assert!(["p", "a", "/a", "/p"].contains(&tag.as_str()), "<{tag}> in {html}");
            assert!(
                !attributes.contains(" on") && !attributes.contains("javascript"),
                "<{tag}{attributes}> in {html}"
            );
        }
        // What was typed as HTML is shown as typed.
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{html}");
        assert!(
            html.contains(r#"<a href="https://example.com" rel="nofollow noopener">ok</a>"#),
            "{html}"
        );
    }

    /// Each tag in `html`: its name and the rest up to `>`.
    fn tags(html: &str) -> Vec<(String, String)> {
        html.split('<')
            .skip(1)
            .map(|tag| {
                let tag = tag.split('>').next().unwrap();
                let name_end = tag.find(' ').unwrap_or(tag.len());
                (tag[..name_end].to_string(), tag[name_end..].to_string())
            })
            .collect()
    }

    #[test]
    fn images_are_links_and_a_typed_mention_link_is_text() {
        let html = render(
            "![a cat](https://example.com/cat.png) <a class=\"mention\" href=\"/x\">fake</a>",
            &Names::new(&[]),
        );
        assert_eq!(
            tags(&html).iter().map(|(tag, _)| tag.as_str()).collect::<Vec<_>>(),
            ["p", "a", "/a", "/p"],
            "{html}"
        );
        assert!(
            html.contains(r#"<a href="https://example.com/cat.png" rel="nofollow noopener">a cat</a>"#),
            "{html}"
        );
        assert!(html.contains("&lt;a class=\"mention\""), "{html}");
    }

    #[test]
    fn mentions_are_links_to_the_longest_name_and_never_inside_code() {
        let people = people();
        let names = Names::new(&people);
        let html = render(
            "@john manager, see `@John` and @Emily Employee. mail@John, **@John** @Kim",
            &names,
        );
        assert!(
            html.contains(
                r#"<a href="/issues?assignee=sub-0" class="mention" rel="nofollow noopener">@john manager</a>"#
            ) || html.contains(
                r#"<a class="mention" href="/issues?assignee=sub-0" rel="nofollow noopener">@john manager</a>"#
            ),
            "{html}"
        );
        assert!(html.contains("<code>@John</code>"), "{html}");
        assert!(
            html.contains(r#"assignee=sub-1" rel="nofollow noopener">@John</a></strong>"#),
            "{html}"
        );
        assert!(
            html.ends_with(" @Kim</p>\n"),
            "two people named Kim: neither is linked: {html}"
        );
        assert_eq!(
            mentioned(
                "@john manager, see `@John` and @Emily Employee. mail@John @Johnny @Kim @EMILY EMPLOYEE",
                &names
            ),
            ["sub-0", "sub-2"]
        );
        let many = "@John ".repeat(500);
        assert_eq!(render(&many, &names).matches("class=\"mention\"").count(), 50);
    }
}

//! Errors explained for the admin who edits config.json: for a field, its full name, "this
//! section is missing", and for a misspelt key the key it is probably meant to be ("did you mean
//! `HostedUrl`?", by edit distance) or else the keys allowed there; for invalid JSON, the usual
//! accidents of pasting (curly quotes, a non-breaking space, a missing or a trailing comma) and
//! where they are; for `BaseOrganizationUrl`, the value to write when it holds what admins copy
//! from Asgardeo by mistake (the organization's name, its issuer).

/// A field error as an admin reads it: the field's full name, and for a misspelt key the key it
/// is probably meant to be.
pub(super) fn explain(path: &str, message: &str) -> (String, String) {
    let join = |key: &str| match path {
        "." => key.to_string(),
        _ => format!("{path}.{key}"),
    };
    let quoted = |text: &str| text.split('`').nth(1).unwrap_or_default().to_string();
    if let Some(rest) = message.strip_prefix("missing field ") {
        let key = quoted(rest);
        let what = if path == "." {
            "this section is missing"
        } else {
            "missing"
        };
        return (join(&key), what.to_string());
    }
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let key = quoted(rest);
        let known: Vec<&str> = rest.split('`').skip(3).step_by(2).collect();
        let closest = known
            .iter()
            .map(|candidate| {
                (
                    strsim::levenshtein(&key.to_lowercase(), &candidate.to_lowercase()),
                    *candidate,
                )
            })
            .min()
            .filter(|(distance, _)| *distance <= (key.len() / 3).max(2));
        let message = match closest {
            Some((_, candidate)) => format!("unknown field; did you mean `{candidate}`?"),
            None => format!("unknown field; the fields here are {}", known.join(", ")),
        };
        // The path already ends with the unknown key.
        return (path.to_string(), message);
    }
    if path == "." {
        let expected = "expected a JSON object with AuthorizationConfig, ApplicationConfig and Features sections";
        return ("(the whole file)".into(), expected.into());
    }
    (path.to_string(), message.to_string())
}

// ----- JSON syntax errors: accidents of pasting ---------------------------------------------

/// What `"` becomes when text passes through a word processor or a web page.
const CURLY_QUOTES: [char; 6] = ['“', '”', '‘', '’', '„', '″'];

/// Unicode spaces JSON does not allow between values, by the name an admin knows them.
const ODD_SPACES: [(char, &str); 5] = [
    ('\u{a0}', "a non-breaking space"),
    ('\u{2007}', "a non-breaking space"),
    ('\u{202f}', "a non-breaking space"),
    ('\u{200b}', "a zero-width space"),
    ('\u{feff}', "an invisible byte order mark (U+FEFF)"),
];

/// What is likely wrong at a JSON syntax error, when it is a usual accident of pasting (curly
/// quotes, a non-breaking space, a missing or a trailing comma); `None` otherwise. `message` is
/// serde_json's, without its position; `line` and `column` are serde_json's (1-based, the
/// column counting bytes). The places it names are lines and columns as editors count them
/// (characters).
pub(super) fn paste_accident(text: &str, message: &str, line: usize, column: usize) -> Option<String> {
    if text.starts_with('\u{feff}') {
        let hint = "the file starts with an invisible byte order mark (U+FEFF): save it as UTF-8 without a BOM";
        return Some(hint.into());
    }
    let offset = offset_of(text, line, column);
    let certain = match message {
        "trailing comma" => trailing_comma(text, offset),
        "expected `,` or `}`" => missing_comma(text, offset, false),
        "expected `,` or `]`" => missing_comma(text, offset, true),
        _ => None,
    };
    certain
        .or_else(|| curly_quote(text, offset))
        .or_else(|| odd_space(text, offset))
}

/// serde_json's column (bytes, 1-based; 0 at a line's start) as editors count it (characters).
pub(super) fn editor_column(text: &str, line: usize, column: usize) -> usize {
    if column == 0 {
        return 0;
    }
    line_and_column(text, offset_of(text, line, column)).1
}

/// The byte offset of serde_json's `line` and `column`, on a character boundary.
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let mut offset = (line_start + column.saturating_sub(1)).min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// The line and column (1-based, counting characters as editors do) of a byte offset.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line_start = before.rfind('\n').map_or(0, |index| index + 1);
    let column = before.get(line_start..).unwrap_or_default().chars().count() + 1;
    (before.matches('\n').count() + 1, column)
}

/// The last character before `offset` that is not JSON whitespace, with its byte offset.
fn last_before(text: &str, offset: usize) -> Option<(usize, char)> {
    text.get(..offset)?
        .char_indices()
        .rev()
        .find(|&(_, c)| !matches!(c, ' ' | '\t' | '\n' | '\r'))
}

/// serde_json's "trailing comma", which it reports at the `}` or `]` after the comma: where the
/// comma is.
fn trailing_comma(text: &str, offset: usize) -> Option<String> {
    let (comma, _) = last_before(text, offset).filter(|&(_, c)| c == ',')?;
    let (line, column) = line_and_column(text, comma);
    let last = if text.get(offset..)?.starts_with(']') {
        "the last item of the list"
    } else {
        "the last member"
    };
    Some(format!("remove the comma after {last} at line {line}, column {column}"))
}

/// serde_json's "expected `,` or `}`" (`]` in a list) where the next member (item) starts: the
/// comma after the previous one is missing.
fn missing_comma(text: &str, offset: usize, list: bool) -> Option<String> {
    let next = text.get(offset..)?.chars().next()?;
    let starts_value = match next {
        '"' => true,
        '{' | '[' | '-' | 't' | 'f' | 'n' | '0'..='9' => list,
        _ => false,
    };
    if !starts_value {
        return None;
    }
    let (end, _) = last_before(text, offset)?;
    let (line, column) = line_and_column(text, end);
    let place = if line_and_column(text, offset).0 > line {
        format!("at the end of line {line}")
    } else {
        format!("after column {column} of line {line}")
    };
    let between = if list { "two items of a list" } else { "two members" };
    Some(format!("a comma is missing between {between}: add `,` {place}"))
}

/// The curly quote that broke the file: the first one outside strings up to the error, else
/// the last one on the error's line.
fn curly_quote(text: &str, offset: usize) -> Option<String> {
    // One used as a JSON quote stands outside the strings; one that ends a string that began
    // straight is inside it, on the line where the parser gave up. A typographic apostrophe
    // in a valid value elsewhere is neither.
    let error_line = line_and_column(text, offset).0;
    let (at, quote) = outside_strings(text)
        .take_while(|&(index, _)| index <= offset)
        .find(|(_, c)| CURLY_QUOTES.contains(c))
        .or_else(|| {
            text.char_indices()
                .take_while(|&(index, _)| index <= offset)
                .filter(|(index, c)| CURLY_QUOTES.contains(c) && line_and_column(text, *index).0 == error_line)
                .last()
        })?;
    let (line, column) = line_and_column(text, at);
    Some(format!(
        "the file has curly quotes ({quote}) at line {line}, column {column}: JSON needs straight quotes (\")"
    ))
}

/// The first Unicode space up to the error outside strings (inside one it is part of a value).
fn odd_space(text: &str, offset: usize) -> Option<String> {
    outside_strings(text)
        .take_while(|&(index, _)| index <= offset)
        .find_map(|(at, c)| {
            let (_, name) = ODD_SPACES.iter().find(|(space, _)| *space == c)?;
            let (line, column) = line_and_column(text, at);
            Some(format!(
                "{name} at line {line}, column {column}: replace it with an ordinary space"
            ))
        })
}

/// The characters outside JSON strings (quotes excluded), with their byte offsets.
fn outside_strings(text: &str) -> impl Iterator<Item = (usize, char)> {
    let mut in_string = false;
    let mut escaped = false;
    text.char_indices().filter(move |&(_, c)| {
        let outside = !in_string && c != '"';
        if escaped {
            escaped = false;
        } else if in_string && c == '\\' {
            escaped = true;
        } else if c == '"' {
            in_string = !in_string;
        }
        outside
    })
}

// ----- values admins copy from the wrong place ----------------------------------------------

/// Where Asgardeo serves its organizations: this, then the organization's name.
const ASGARDEO_ORGANIZATIONS: &str = "https://api.asgardeo.io/t/";

/// A `BaseOrganizationUrl` that is something else an admin copies from Asgardeo, said with the
/// value to write instead: the organization's bare name, its issuer (the token endpoint URL), or
/// another of its endpoints under `/oauth2/`. `None` for any other value.
pub(super) fn organization_url_mistake(value: &str) -> Option<String> {
    let value = value.trim();
    let under_oauth2 = value.split_once("/oauth2/").filter(|(base, _)| base.contains("://"));
    if let Some((base, endpoint)) = under_oauth2 {
        return Some(if endpoint.trim_end_matches('/') == "token" {
            format!(
                "this is the issuer (the token endpoint URL); BaseOrganizationUrl is the part before /oauth2/token: \
                 `{base}`"
            )
        } else {
            format!(
                "this is one of the organization's endpoints; BaseOrganizationUrl is the part before /oauth2/: `{base}`"
            )
        });
    }
    let bare = !value.is_empty() && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    bare.then(|| {
        format!(
            "expected an absolute http(s) URL, got `{value}`: for the Asgardeo organization `{value}`, write \
             `{ASGARDEO_ORGANIZATIONS}{value}`"
        )
    })
}

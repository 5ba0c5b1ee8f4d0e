//! Field errors explained for the admin who edits config.json: the field's full name, "this
//! section is missing", and for a misspelt key the key it is probably meant to be ("did you mean
//! `HostedUrl`?", by edit distance) or else the keys allowed there.

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

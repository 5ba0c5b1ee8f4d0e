//! `Features.Issues`' templates and step-ups through `Config::parse`, and the errors (field and
//! message) an admin sees for each mistake.

use super::tests::{DEMO, error_of, parse};

/// The demo's file with `Features.Issues.Templates` set to `templates` (JSON).
fn with_templates(templates: &str) -> String {
    DEMO.replace(
        r#""view": ["issues:view"] } }"#,
        &format!(r#""view": ["issues:view"] }}, "Templates": {templates} }}"#),
    )
}

#[test]
fn issue_templates_are_read_and_none_when_absent() {
    assert!(parse(DEMO).unwrap().issue_templates.is_empty());
    let config = parse(&with_templates(
        r#"[{ "Name": " Bug report ", "TitlePrefix": "[Bug] ", "Body": "Steps:\n1. ", "Labels": [" bug ", "needs triage"] },
            { "Name": "Question" }]"#,
    ))
    .unwrap();
    assert_eq!(
        config.issue_templates,
        [
            crate::model::IssueTemplate {
                name: "Bug report".into(),
                title_prefix: "[Bug] ".into(),
                body: "Steps:\n1. ".into(),
                labels: vec!["bug".into(), "needs triage".into()],
            },
            crate::model::IssueTemplate {
                name: "Question".into(),
                ..Default::default()
            },
        ]
    );
}

#[test]
fn issue_templates_that_break_a_rule_are_refused_naming_the_field() {
    let long = "x".repeat(51);
    let many = (0..21)
        .map(|n| format!(r#"{{ "Name": "T{n}" }}"#))
        .collect::<Vec<_>>()
        .join(", ");
    let too_many_labels = (0..21).map(|n| format!(r#""l{n}""#)).collect::<Vec<_>>().join(", ");
    let long_body = "b".repeat(10_001);
    let cases = [
        (format!("[{many}]"), "Features.Issues.Templates"),
        (r#"[{ "Name": "" }]"#.to_string(), "Features.Issues.Templates[0].Name"),
        (
            format!(r#"[{{ "Name": "{long}" }}]"#),
            "Features.Issues.Templates[0].Name",
        ),
        (
            r#"[{ "Name": "Bug" }, { "Name": "BUG" }]"#.to_string(),
            "Features.Issues.Templates[1].Name",
        ),
        (
            format!(r#"[{{ "Name": "Bug", "TitlePrefix": "{long}" }}]"#),
            "Features.Issues.Templates[0].TitlePrefix",
        ),
        (
            r#"[{ "Name": "Bug", "TitlePrefix": "a\u0007" }]"#.to_string(),
            "Features.Issues.Templates[0].TitlePrefix",
        ),
        (
            format!(r#"[{{ "Name": "Bug", "Body": "{long_body}" }}]"#),
            "Features.Issues.Templates[0].Body",
        ),
        (
            r#"[{ "Name": "Bug", "Body": "a\u0000b" }]"#.to_string(),
            "Features.Issues.Templates[0].Body",
        ),
        (
            format!(r#"[{{ "Name": "Bug", "Labels": [{too_many_labels}] }}]"#),
            "Features.Issues.Templates[0].Labels",
        ),
        (
            r#"[{ "Name": "Bug", "Labels": ["ok", "a,b"] }]"#.to_string(),
            "Features.Issues.Templates[0].Labels[1]",
        ),
        (
            r#"[{ "Name": "Bug", "Labels": ["bug", "Bug"] }]"#.to_string(),
            "Features.Issues.Templates[0].Labels[1]",
        ),
        (
            r#"[{ "Name": "Bug", "Colour": "red" }]"#.to_string(),
            "Features.Issues.Templates[0].Colour",
        ),
        (r#"[{ "Body": "x" }]"#.to_string(), "Features.Issues.Templates[0].Name"),
    ];
    for (templates, field) in cases {
        let error = error_of(&with_templates(&templates));
        assert!(
            error.starts_with(&format!("config.json: field `{field}`: ")),
            "{templates}: {error}"
        );
    }
}

/// The demo's file with `Features.Issues.StepUp` set to `step_up` (JSON).
fn with_step_up(step_up: &str) -> String {
    DEMO.replace(
        r#""view": ["issues:view"] } }"#,
        &format!(r#""view": ["issues:view"] }}, "StepUp": {step_up} }}"#),
    )
}

#[test]
fn step_up_names_actions_and_how_recent_a_sign_in_each_needs() {
    use crate::access::{Permission, StepUp};
    assert!(parse(DEMO).unwrap().features.step_up.is_empty(), "none unless named");
    let config = parse(&with_step_up(r#"{ "delete": 300, "close": 30 }"#)).unwrap();
    assert_eq!(
        config.features.step_up,
        [
            StepUp {
                permission: Permission::CloseIssue,
                max_age: 30
            },
            StepUp {
                permission: Permission::DeleteIssue,
                max_age: 300
            },
        ]
    );
    assert_eq!(config.features.step_up(Permission::CreateIssue), None);
    for (step_up, expected) in [
        (
            r#"{ "view": 60 }"#,
            "`Features.Issues.StepUp.view`: expected one of the actions create, comment, edit, close, assign, delete, labels",
        ),
        (
            r#"{ "delete": 29 }"#,
            "`Features.Issues.StepUp.delete`: expected seconds from 30 (time to sign in) to 86400 (a day), got 29",
        ),
        (r#"{ "delete": 86401 }"#, "`Features.Issues.StepUp.delete`"),
        (r#"{ "delete": "5m" }"#, "Features.Issues.StepUp.delete"),
        (r#"{ "delete": -1 }"#, "Features.Issues.StepUp.delete"),
    ] {
        let message = error_of(&with_step_up(step_up));
        assert!(message.contains(expected), "{step_up}: {message}");
    }
}

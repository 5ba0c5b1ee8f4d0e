//! The config folder's unit tests: config.json texts through `Config::parse`, and the errors
//! (file, field, message) an admin sees for each mistake.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use super::checked::{Config, Overrides};
use super::file::ConfigError;
use crate::access::AccessHelp;
use crate::server::support::network::TrustedProxies;

pub(super) const DEMO: &str = r#"{
      "AuthorizationConfig": { "BaseOrganizationUrl": "https://api.asgardeo.io/t/acme" },
      "ApplicationConfig": { "HostedUrl": "http://localhost:3000", "ClientId": "abc", "ClientSecret": "xyz",
                             "APIScopes": ["openid", "email", "profile", "internal_login"] },
      "Features": { "Issues": { "scopes": { "create": ["issues:create"], "view": ["issues:view"] } } } }"#;

/// As a build with the embedded dev IdP parses it.
pub(super) fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse_for_build(text, Path::new("config.json"), &Overrides::default(), true)
}

#[test]
fn accepts_the_original_demo_file() {
    let config = parse(DEMO).unwrap();
    assert_eq!(config.issuer, "https://api.asgardeo.io/t/acme/oauth2/token");
    assert_eq!(config.redirect_uri(), "http://localhost:3000/auth/callback");
    assert_eq!(config.listen, SocketAddr::from(([127, 0, 0, 1], 3000)));
    assert_eq!(
        config.requested_scopes(),
        [
            "openid",
            "email",
            "profile",
            "internal_login",
            "issues:view",
            "issues:create",
            "audit:view"
        ]
    );
    assert!(config.dev_idp.is_none());
    assert!(format!("{config:?}").contains("redacted") && !format!("{config:?}").contains("xyz"));
}

#[test]
fn access_help_is_one_line_and_a_web_page_or_an_address() {
    let with = |help: &str| DEMO.replace("\"APIScopes\"", &format!("\"AccessHelp\": {help}, \"APIScopes\""));
    let config = parse(&with(r#"{"Text": " Ask the IT desk. ", "Link": "it@example.com"}"#)).unwrap();
    assert_eq!(
        config.access_help,
        Some(AccessHelp {
            text: "Ask the IT desk.".into(),
            link: Some("mailto:it@example.com".into())
        })
    );
    let config = parse(&with(r#"{"Text": "Ask", "Link": "https://it.example.com/access"}"#)).unwrap();
    assert_eq!(
        config.access_help.unwrap().link.as_deref(),
        Some("https://it.example.com/access")
    );
    for (help, field) in [
        (r#"{"Text": ""}"#, "ApplicationConfig.AccessHelp.Text"),
        (
            r#"{"Text": "Ask", "Link": "javascript:alert(1)"}"#,
            "ApplicationConfig.AccessHelp.Link",
        ),
        (r#"{"Text": "Ask", "Whom": "x"}"#, "ApplicationConfig.AccessHelp"),
    ] {
        let error = parse(&with(help)).unwrap_err().to_string();
        assert!(
            error.starts_with("config.json: field `") && error.contains(field),
            "{error}"
        );
    }
}

#[test]
fn access_help_can_say_which_role_grants_which_scopes() {
    let with = |help: &str| DEMO.replace("\"APIScopes\"", &format!("\"AccessHelp\": {help}, \"APIScopes\""));
    let config = parse(&with(
        r#"{"Roles": {"Manager": ["issues:create", "issues:view"], "Employee": ["issues:view"]}}"#,
    ))
    .unwrap();
    assert_eq!(config.access_help, None, "no line without a Text");
    let grants = config.role_grants.unwrap();
    assert!(!grants.learned);
    assert_eq!(
        grants.roles,
        [
            ("Employee".to_string(), vec!["issues:view".to_string()]),
            (
                "Manager".to_string(),
                vec!["issues:create".to_string(), "issues:view".to_string()]
            ),
        ]
    );
    assert!(parse(DEMO).unwrap().role_grants.is_none(), "not written: learned");
    for (help, field) in [
        (
            r#"{"Roles": {"Manager": []}}"#,
            "ApplicationConfig.AccessHelp.Roles.Manager",
        ),
        (
            r#"{"Roles": {"Manager": ["issues:create view"]}}"#,
            "ApplicationConfig.AccessHelp.Roles.Manager[0]",
        ),
        (
            r#"{"Roles": {"": ["issues:view"]}}"#,
            "ApplicationConfig.AccessHelp.Roles.",
        ),
        (r#"{"Roles": ["Manager"]}"#, "ApplicationConfig.AccessHelp"),
        (r#"{"Link": "it@example.com"}"#, "ApplicationConfig.AccessHelp.Text"),
    ] {
        let error = parse(&with(help)).unwrap_err().to_string();
        assert!(
            error.starts_with("config.json: field `") && error.contains(field),
            "{help}: {error}"
        );
    }
}

#[test]
fn errors_name_the_file_and_field() {
    let cases = [
        (
            DEMO.replace("\"http://localhost:3000\"", "\"localhost\""),
            "ApplicationConfig.HostedUrl",
        ),
        (DEMO.replace("\"ClientId\": \"abc\",", ""), "ApplicationConfig"),
        (
            DEMO.replace("\"create\": [\"issues:create\"]", "\"create\": []"),
            "Features.Issues.scopes.create",
        ),
        (
            DEMO.replace("\"HostedUrl\"", "\"Colour\": 1, \"HostedUrl\""),
            "ApplicationConfig",
        ),
        (
            DEMO.replace("http://localhost:3000", "https://issues.example.com"),
            "ApplicationConfig.HostedUrl",
        ),
    ];
    for (text, field) in cases {
        let error = parse(&text).unwrap_err().to_string();
        assert!(
            error.starts_with("config.json: field `") && error.contains(field),
            "{error}"
        );
    }
    let error = parse("{ nope").unwrap_err().to_string();
    assert!(error.starts_with("config.json: invalid JSON at line 1"), "{error}");
    let error = parse(&DEMO.replace("\"ClientSecret\": \"xyz\",", ""))
        .unwrap_err()
        .to_string();
    assert!(error.contains("ISSUES_APP_CLIENT_SECRET"), "{error}");
}

#[test]
fn environment_overrides_secrets_and_address() {
    let overrides = Overrides {
        client_secret: Some("from-env".into()),
        listen: Some("127.0.0.1:4000".into()),
        ..Default::default()
    };
    let config = Config::parse(DEMO, Path::new("config.json"), &overrides).unwrap();
    assert_eq!(config.client_secret.expose(), "from-env");
    assert_eq!(config.listen.port(), 4000);
}

#[test]
fn plain_http_provider_urls_are_refused_off_this_machine_unless_allowed() {
    let insecure = DEMO.replace("https://api.asgardeo.io", "http://api.asgardeo.io");
    let error = parse(&insecure).unwrap_err().to_string();
    assert!(
        error.starts_with("config.json: field `AuthorizationConfig.BaseOrganizationUrl`")
            && error.contains("AllowInsecureProvider"),
        "{error}"
    );
    let jwks = DEMO.replace(
        "\"BaseOrganizationUrl\"",
        "\"JwksUrl\": \"http://keys.example.com/jwks\", \"BaseOrganizationUrl\"",
    );
    let error = parse(&jwks).unwrap_err().to_string();
    assert!(error.contains("`AuthorizationConfig.JwksUrl`"), "{error}");
    let allowed = insecure.replace(
        "\"BaseOrganizationUrl\"",
        "\"AllowInsecureProvider\": true, \"BaseOrganizationUrl\"",
    );
    assert!(parse(&allowed).unwrap().allow_insecure_provider);
    for loopback in [
        "http://localhost:9443/t/dev",
        "http://127.0.0.2:9443/t/dev",
        "http://[::1]:9443/t/dev",
    ] {
        let text = DEMO.replace("https://api.asgardeo.io/t/acme", loopback);
        assert!(parse(&text).is_ok(), "{loopback}");
    }
}

/// The demo's file with the embedded dev IdP as its provider.
fn with_embedded_idp() -> String {
    let dev = r#""DevIdentityProvider": {}, "AuthorizationConfig": { "BaseOrganizationUrl": "http://localhost:9443/t/dev" },"#;
    DEMO.replacen(
        r#""AuthorizationConfig": { "BaseOrganizationUrl": "https://api.asgardeo.io/t/acme" },"#,
        dev,
        1,
    )
}

#[test]
fn the_embedded_identity_provider_serves_only_this_machine() {
    let local = with_embedded_idp();
    assert!(parse(&local).unwrap().dev_idp.is_some());
    for hosted in ["http://issues.example.com", "http://192.168.1.20:3000"] {
        let error = parse(&local.replace("http://localhost:3000", hosted))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("`ApplicationConfig.HostedUrl`") && error.contains("DevIdentityProvider"),
            "{error}"
        );
    }
    let https = local
        .replace("http://localhost:3000", "https://localhost:3000")
        .replacen("{", r#"{ "Server": { "TlsTerminatedByProxy": true },"#, 1);
    let error = parse(&https).unwrap_err().to_string();
    assert!(error.contains("DevIdentityProvider"), "{error}");
}

#[test]
fn a_build_without_the_dev_idp_says_so() {
    let local = with_embedded_idp();
    let production = |text: &str| Config::parse_for_build(text, Path::new("config.json"), &Overrides::default(), false);
    let error = production(&local).unwrap_err().to_string();
    assert!(
        error.starts_with("config.json: field `DevIdentityProvider`: this build has no development IdP"),
        "{error}"
    );
    assert!(production(DEMO).is_ok());
}

#[test]
fn the_demo_s_file_as_its_instructions_show_it_is_accepted() {
    // The original demo's README: HostedUrl and BackendUrl, placeholders filled in.
    let demo = DEMO.replace(
        r#""HostedUrl": "http://localhost:3000","#,
        r#""HostedUrl": "http://localhost:3000", "BackendUrl": "http://localhost:3001","#,
    );
    let config = parse(&demo).unwrap();
    assert_eq!(config.unused, ["ApplicationConfig.BackendUrl"]);
    assert!(parse(DEMO).unwrap().unused.is_empty());
}

#[test]
fn admins_mistakes_are_named_plainly() {
    let error = |text: &str| parse(text).unwrap_err().to_string();
    // A misspelt key: the one it is probably meant to be.
    let message = error(&DEMO.replace("\"HostedUrl\"", "\"HostedURL\""));
    assert_eq!(
        message,
        "config.json: field `ApplicationConfig.HostedURL`: unknown field; did you mean `HostedUrl`?"
    );
    let message = error(&DEMO.replace("\"HostedUrl\"", "\"Colour\": 1, \"HostedUrl\""));
    assert!(
        message.contains("`ApplicationConfig.Colour`: unknown field; the fields here are HostedUrl"),
        "{message}"
    );
    // Placeholders left from the instructions.
    let message = error(&DEMO.replace("acme", "<tenant-name>"));
    assert!(
        message.starts_with(
            "config.json: field `AuthorizationConfig.BaseOrganizationUrl`: still holds the placeholder `<tenant-name>`"
        ),
        "{message}"
    );
    let message = error(&DEMO.replace("\"abc\"", "\"<client-id>\""));
    assert!(
        message.contains("`ApplicationConfig.ClientId`: still holds the placeholder `<client-id>`"),
        "{message}"
    );
    // A missing section is missing, not invalid JSON.
    let without_features = DEMO.replace(
        r#"      "Features": { "Issues": { "scopes": { "create": ["issues:create"], "view": ["issues:view"] } } } }"#,
        "}",
    );
    let without_features = without_features.replacen(r#"] },"#, "] }", 1);
    assert_eq!(
        error(&without_features),
        "config.json: field `Features`: this section is missing"
    );
    // Control characters in ids, secrets and scopes.
    let message = error(&DEMO.replace("\"abc\"", "\"ab\\u0000c\""));
    assert_eq!(
        message,
        "config.json: field `ApplicationConfig.ClientId`: contains a control character"
    );
    let message = error(&DEMO.replace("\"xyz\"", "\"x\\ty\""));
    assert!(
        message.contains("`ApplicationConfig.ClientSecret`: contains a control character"),
        "{message}"
    );
}

/// The message of the error `parse` gives for `text`.
pub(super) fn error_of(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

#[test]
fn the_demo_file_without_its_commas_names_the_first_missing_one() {
    // The published listing of the original demo's file lost all its commas.
    assert_eq!(
        error_of(&DEMO.replace(',', "")),
        "config.json: invalid JSON at line 3, column 7: expected `,` or `}`; \
         a comma is missing between two members: add `,` at the end of line 2"
    );
    // Between two items of a list on one line: after the first.
    assert_eq!(
        error_of(&DEMO.replacen("\"openid\", ", "\"openid\" ", 1)),
        "config.json: invalid JSON at line 4, column 53: expected `,` or `]`; \
         a comma is missing between two items of a list: add `,` after column 51 of line 4"
    );
}

#[test]
fn curly_quotes_are_named_where_the_first_one_is() {
    let curly = DEMO.replacen(
        "\"https://api.asgardeo.io/t/acme\"",
        "“https://api.asgardeo.io/t/acme”",
        1,
    );
    assert_eq!(
        error_of(&curly),
        "config.json: invalid JSON at line 2, column 55: expected value; \
         the file has curly quotes (“) at line 2, column 55: JSON needs straight quotes (\")"
    );
    // A curly quote that ends a string lets it run on: serde_json stops further on, at a column
    // counted in characters (“ is three bytes).
    let message = error_of(&DEMO.replacen("\"abc\"", "\"abc”", 1));
    assert!(
        message.starts_with("config.json: invalid JSON at line 3, column 88: expected `,` or `}`; ")
            && message.ends_with("the file has curly quotes (”) at line 3, column 84: JSON needs straight quotes (\")"),
        "{message}"
    );
}

#[test]
fn a_typographic_apostrophe_in_a_value_is_not_blamed_for_another_mistake() {
    let with_help = DEMO.replace(
        "\"APIScopes\"",
        "\"AccessHelp\": { \"Text\": \"Ask the IT desk’s people.\" }, \"APIScopes\"",
    );
    assert!(parse(&with_help).is_ok(), "the apostrophe is part of a valid value");
    let broken = with_help.replace("\"view\": [\"issues:view\"]", "\"view\": [issues:view]");
    let message = error_of(&broken);
    assert!(
        message.contains("expected value") && !message.contains("curly"),
        "{message}"
    );
}

#[test]
fn a_non_breaking_space_is_named_where_it_is() {
    // After `ä` (two bytes): the columns count characters, as editors do.
    assert_eq!(
        error_of(&DEMO.replacen("\"abc\", ", "\"äbc\",\u{a0}", 1)),
        "config.json: invalid JSON at line 3, column 86: key must be a string; \
         a non-breaking space at line 3, column 86: replace it with an ordinary space"
    );
    // Inside a string it is part of the value, not the mistake.
    let single_quoted = DEMO
        .replacen("\"abc\"", "\"a\u{a0}bc\"", 1)
        .replacen("\"ClientSecret\"", "'ClientSecret'", 1);
    assert_eq!(
        error_of(&single_quoted),
        "config.json: invalid JSON at line 3, column 88: key must be a string"
    );
    assert_eq!(
        error_of(&format!("\u{feff}{DEMO}")),
        "config.json: invalid JSON at line 1, column 1: expected value; \
         the file starts with an invisible byte order mark (U+FEFF): save it as UTF-8 without a BOM"
    );
}

#[test]
fn a_trailing_comma_is_named_where_it_is() {
    let trailing = DEMO.replacen(
        r#""https://api.asgardeo.io/t/acme" }"#,
        r#""https://api.asgardeo.io/t/acme", }"#,
        1,
    );
    assert_eq!(
        error_of(&trailing),
        "config.json: invalid JSON at line 2, column 89: trailing comma; \
         remove the comma after the last member at line 2, column 87"
    );
    assert_eq!(
        error_of(&DEMO.replacen("\"internal_login\"]", "\"internal_login\", ]", 1)),
        "config.json: invalid JSON at line 4, column 92: trailing comma; \
         remove the comma after the last item of the list at line 4, column 90"
    );
    // Other syntax errors keep serde_json's words alone.
    assert_eq!(
        error_of("{ nope"),
        "config.json: invalid JSON at line 1, column 3: key must be a string"
    );
}

#[test]
fn a_bare_organization_name_gets_its_url() {
    assert_eq!(
        error_of(&DEMO.replace("https://api.asgardeo.io/t/acme", "acme")),
        "config.json: field `AuthorizationConfig.BaseOrganizationUrl`: expected an absolute http(s) URL, got `acme`: \
         for the Asgardeo organization `acme`, write `https://api.asgardeo.io/t/acme`"
    );
}

#[test]
fn the_issuer_as_organization_url_is_refused_with_the_part_to_keep() {
    assert_eq!(
        error_of(&DEMO.replace("/t/acme", "/t/acme/oauth2/token")),
        "config.json: field `AuthorizationConfig.BaseOrganizationUrl`: this is the issuer (the token endpoint URL); \
         BaseOrganizationUrl is the part before /oauth2/token: `https://api.asgardeo.io/t/acme`"
    );
    let discovery = DEMO.replace("/t/acme", "/t/acme/oauth2/token/.well-known/openid-configuration");
    assert_eq!(
        error_of(&discovery),
        "config.json: field `AuthorizationConfig.BaseOrganizationUrl`: this is one of the organization's endpoints; \
         BaseOrganizationUrl is the part before /oauth2/: `https://api.asgardeo.io/t/acme`"
    );
}

/// The demo's file with a `Server` section.
fn with_server(server: &str) -> String {
    DEMO.replacen('{', &format!(r#"{{ "Server": {server},"#), 1)
}

/// The demo's file served as https behind a TLS proxy, with more `Server` fields.
fn behind_tls_proxy(more: &str) -> String {
    let server = format!(r#"{{ "TlsTerminatedByProxy": true {more} }}"#);
    with_server(&server).replace("http://localhost:3000", "https://issues.example.com")
}

#[test]
fn connection_limits_default_to_a_client_holding_half_of_the_connections() {
    let config = parse(DEMO).unwrap();
    assert_eq!(config.limits.max_open_connections, 1024);
    assert_eq!(config.limits.max_connections_per_client, 512);
    assert_eq!(config.limits.write_timeout, Duration::from_secs(30));
    assert!(!config.metrics_beyond_loopback);
    assert_eq!(config.trusted_proxies, TrustedProxies::none());
    // Half, rounded up, and at least one.
    for (open, per_client) in [(7, 4), (1, 1), (2, 1)] {
        let config = parse(&with_server(&format!(r#"{{ "MaxOpenConnections": {open} }}"#))).unwrap();
        assert_eq!(config.limits.max_connections_per_client, per_client, "{open}");
    }
    let config = parse(&with_server(
        r#"{ "MaxOpenConnections": 10, "MaxConnectionsPerClient": 10, "WriteTimeoutSeconds": 3600 }"#,
    ))
    .unwrap();
    assert_eq!(config.limits.max_connections_per_client, 10);
    assert_eq!(config.limits.write_timeout, Duration::from_secs(3600));
}

#[test]
fn connection_limits_out_of_range_are_refused_by_name() {
    for (server, field) in [
        (r#"{ "WriteTimeoutSeconds": 0 }"#, "Server.WriteTimeoutSeconds"),
        (r#"{ "WriteTimeoutSeconds": 3601 }"#, "Server.WriteTimeoutSeconds"),
        (r#"{ "MaxConnectionsPerClient": 0 }"#, "Server.MaxConnectionsPerClient"),
        (
            r#"{ "MaxOpenConnections": 100000, "MaxConnectionsPerClient": 100001 }"#,
            "Server.MaxConnectionsPerClient",
        ),
    ] {
        let error = error_of(&with_server(server));
        assert!(
            error.starts_with(&format!("config.json: field `{field}`: expected 1 to ")),
            "{server}: {error}"
        );
    }
}

#[test]
fn one_client_may_not_hold_more_connections_than_all_of_them() {
    assert_eq!(
        error_of(&with_server(
            r#"{ "MaxOpenConnections": 10, "MaxConnectionsPerClient": 11 }"#
        )),
        "config.json: field `Server.MaxConnectionsPerClient`: is 11, more than Server.MaxOpenConnections (10): \
         expected at most 10"
    );
    // Against the default of MaxOpenConnections (1024) too.
    let error = error_of(&with_server(r#"{ "MaxConnectionsPerClient": 2000 }"#));
    assert!(error.contains("`Server.MaxConnectionsPerClient`"), "{error}");
}

#[test]
fn metrics_off_this_machine_need_metrics_beyond_loopback() {
    for address in ["0.0.0.0:9100", "192.168.1.20:9100", "[::]:9100"] {
        let error = error_of(&with_server(&format!(r#"{{ "MetricsListen": "{address}" }}"#)));
        assert!(
            error.starts_with("config.json: field `Server.MetricsListen`: ")
                && error.contains(address)
                && error.contains("Server.MetricsBeyondLoopback"),
            "{error}"
        );
        let allowed = with_server(&format!(
            r#"{{ "MetricsListen": "{address}", "MetricsBeyondLoopback": true }}"#
        ));
        let config = parse(&allowed).unwrap();
        assert_eq!(config.metrics_listen, Some(address.parse::<SocketAddr>().unwrap()));
        assert!(config.metrics_beyond_loopback);
    }
    for address in ["127.0.0.1:9100", "[::1]:9100"] {
        let config = parse(&with_server(&format!(r#"{{ "MetricsListen": "{address}" }}"#))).unwrap();
        assert_eq!(config.metrics_listen, Some(address.parse::<SocketAddr>().unwrap()));
    }
}

#[test]
fn a_trusted_proxy_entry_that_is_not_an_address_or_range_is_named() {
    let error = error_of(&with_server(
        r#"{ "TrustedProxies": ["10.0.0.0/8", "proxy.internal"] }"#,
    ));
    assert_eq!(
        error,
        "config.json: field `Server.TrustedProxies[1]`: expected an address or a CIDR range such as \
         10.0.0.0/8, got `proxy.internal`"
    );
    let error = error_of(&with_server(r#"{ "TrustedProxies": ["10.0.0.0/33"] }"#));
    assert!(
        error.starts_with("config.json: field `Server.TrustedProxies[0]`"),
        "{error}"
    );
    // Trusting every address would let every client say who it is.
    for everyone in ["0.0.0.0/0", "::/0"] {
        let error = error_of(&with_server(&format!(r#"{{ "TrustedProxies": ["{everyone}"] }}"#)));
        assert!(
            error.starts_with("config.json: field `Server.TrustedProxies[0]`") && error.contains("every address"),
            "{error}"
        );
    }
}

#[test]
fn behind_a_tls_proxy_this_machine_is_trusted_unless_the_file_names_the_proxies() {
    let ip = |text: &str| text.parse::<std::net::IpAddr>().unwrap();
    let config = parse(&behind_tls_proxy("")).unwrap();
    assert_eq!(config.trusted_proxies, TrustedProxies::loopback());
    assert!(config.trusted_proxies.is_trusted(ip("127.0.0.1")) && config.trusted_proxies.is_trusted(ip("::1")));
    assert!(!config.trusted_proxies.is_trusted(ip("10.0.0.1")));

    let named = parse(&behind_tls_proxy(
        r#", "TrustedProxies": ["10.0.0.0/8", "192.168.1.5"]"#,
    ))
    .unwrap();
    assert!(named.trusted_proxies.is_trusted(ip("10.20.30.40")) && named.trusted_proxies.is_trusted(ip("192.168.1.5")));
    assert!(!named.trusted_proxies.is_trusted(ip("127.0.0.1")));

    let nobody = parse(&behind_tls_proxy(r#", "TrustedProxies": []"#)).unwrap();
    assert!(nobody.trusted_proxies.is_empty());

    // Without a TLS proxy, no one unless named.
    let named = parse(&with_server(r#"{ "TrustedProxies": ["::1"] }"#)).unwrap();
    assert!(named.trusted_proxies.is_trusted(ip("::1")) && !named.trusted_proxies.is_trusted(ip("127.0.0.1")));
}

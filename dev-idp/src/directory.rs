//! The directory: organization, API resources, applications, roles, groups and users, in
//! Asgardeo's vocabulary. Loaded from JSON and validated once; a change (a user's roles) makes a
//! new directory rather than altering one that requests may be reading.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;

use serde::Deserialize;
use url::Url;
use uuid::Uuid;

use crate::password::PasswordHash;

/// The directory shipped with the crate: organization `dev`, the Issues API, the Issues
/// Application, roles Manager and Employee, users john and emily.
pub const DEFAULT_DIRECTORY_JSON: &str = include_str!("../directory.json");

/// Why a directory description was refused. `field` is a JSON path such as
/// `applications[0].redirectUris[1]`.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("cannot read directory file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{origin}: invalid JSON at line {line}, column {column}: {message}")]
    Syntax {
        origin: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{origin}: field `{field}`: {message}")]
    Field {
        origin: String,
        field: String,
        message: String,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DirectoryFile {
    pub organization: OrganizationFile,
    #[serde(default)]
    pub api_resources: Vec<ApiResource>,
    pub applications: Vec<ApplicationFile>,
    #[serde(default)]
    pub roles: Vec<Role>,
    #[serde(default)]
    pub groups: Vec<Group>,
    #[serde(default)]
    pub users: Vec<UserFile>,
}

impl DirectoryFile {
    /// Parses a directory description; `origin` names the file in error messages.
    pub fn from_json(text: &str, origin: &str) -> Result<Self, DirectoryError> {
        parse_json(text, origin)
    }

    /// Registers an application as an admin would in the provider's console: the application
    /// listed with `registration.client_id` gets its secret and URLs. Names the listed client ids
    /// when there is none such.
    pub fn register(&mut self, registration: Registration) -> Result<(), String> {
        let listed: Vec<&str> = self.applications.iter().map(|app| app.client_id.as_str()).collect();
        let listed = listed.join(", ");
        let Some(app) = self
            .applications
            .iter_mut()
            .find(|app| app.client_id == registration.client_id)
        else {
            return Err(format!(
                "the directory lists no application with client id `{}` (it lists: {listed})",
                registration.client_id
            ));
        };
        app.client_secret = Some(registration.client_secret);
        app.redirect_uris = vec![registration.redirect_uri];
        app.post_logout_redirect_uris = vec![registration.post_logout_redirect_uri];
        app.back_channel_logout_url = registration.back_channel_logout_url;
        Ok(())
    }
}

/// Why a change of a user's roles was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleChangeError {
    #[error("no user `{0}`")]
    UnknownUser(String),
    #[error("no role `{role}` (the directory defines: {defined})")]
    UnknownRole { role: String, defined: String },
}

/// What an application tells its provider about itself when it is registered.
#[derive(Debug, Clone)]
pub struct Registration {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uri: String,
    pub post_logout_redirect_uri: String,
    pub back_channel_logout_url: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrganizationFile {
    pub name: String,
    pub id: Option<Uuid>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiResource {
    pub identifier: String,
    pub display_name: String,
    pub scopes: Vec<ApiScope>,
    #[serde(default = "yes")]
    pub requires_authorization: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiScope {
    pub name: String,
    pub display_name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ApplicationKind {
    /// Confidential client with a secret.
    TraditionalWebApplication,
    /// Public client: no secret, PKCE.
    SinglePageApplication,
    /// Confidential client for client_credentials only.
    MachineToMachine,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AccessTokenFormat {
    Jwt,
    Opaque,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
    Password,
}

impl GrantType {
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "authorization_code" => Self::AuthorizationCode,
            "refresh_token" => Self::RefreshToken,
            "client_credentials" => Self::ClientCredentials,
            "password" => Self::Password,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TokenLifetimes {
    #[serde(default = "default_access_seconds")]
    pub access_token_seconds: i64,
    #[serde(default = "default_refresh_seconds")]
    pub refresh_token_seconds: i64,
    #[serde(default = "default_access_seconds")]
    pub id_token_seconds: i64,
}

impl Default for TokenLifetimes {
    fn default() -> Self {
        Self {
            access_token_seconds: default_access_seconds(),
            refresh_token_seconds: default_refresh_seconds(),
            id_token_seconds: default_access_seconds(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuthorizedApiResource {
    pub identifier: String,
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApplicationFile {
    pub name: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    pub kind: ApplicationKind,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    #[serde(default = "yes")]
    pub pkce_mandatory: bool,
    #[serde(default)]
    pub authorized_api_resources: Vec<AuthorizedApiResource>,
    #[serde(default = "jwt")]
    pub access_token_format: AccessTokenFormat,
    #[serde(default)]
    pub token_lifetimes: TokenLifetimes,
    #[serde(default = "yes")]
    pub refresh_token_rotation: bool,
    #[serde(default = "both_auth_methods")]
    pub client_auth_methods: Vec<ClientAuthMethod>,
    pub back_channel_logout_url: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Role {
    pub name: String,
    #[serde(default)]
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Group {
    pub name: String,
    #[serde(default)]
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserFile {
    pub username: String,
    pub password: String,
    pub sub: Uuid,
    #[serde(default)]
    pub given_name: String,
    #[serde(default)]
    pub family_name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub groups: Vec<String>,
}

fn yes() -> bool {
    true
}
fn jwt() -> AccessTokenFormat {
    AccessTokenFormat::Jwt
}
fn both_auth_methods() -> Vec<ClientAuthMethod> {
    vec![ClientAuthMethod::ClientSecretBasic, ClientAuthMethod::ClientSecretPost]
}
fn default_access_seconds() -> i64 {
    3600
}
fn default_refresh_seconds() -> i64 {
    86400
}

/// A validated directory.
#[derive(Debug, Clone)]
pub struct Directory {
    pub organization: Organization,
    pub api_resources: Vec<ApiResource>,
    applications: Vec<Application>,
    /// Kept so that a change of a user's roles can be checked and its scopes recomputed.
    roles: Vec<Role>,
    users: Vec<User>,
}

#[derive(Debug, Clone)]
pub struct Organization {
    pub name: String,
    pub id: Uuid,
}

#[derive(Debug, Clone)]
pub struct Application {
    pub name: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    pub kind: ApplicationKind,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: HashSet<GrantType>,
    pub pkce_mandatory: bool,
    /// API scope name -> identifier of the API resource that defines it.
    pub authorized_scopes: HashMap<String, String>,
    pub access_token_format: AccessTokenFormat,
    pub lifetimes: TokenLifetimes,
    pub refresh_token_rotation: bool,
    pub client_auth_methods: Vec<ClientAuthMethod>,
    pub back_channel_logout_url: Option<Url>,
}

impl Application {
    pub fn is_confidential(&self) -> bool {
        self.kind != ApplicationKind::SinglePageApplication
    }

    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }
}

#[derive(Debug, Clone)]
pub struct User {
    pub username: String,
    pub password: PasswordHash,
    pub sub: Uuid,
    pub given_name: String,
    pub family_name: String,
    pub email: String,
    pub groups: Vec<String>,
    pub roles: Vec<String>,
    /// Every API scope any of the user's roles carries.
    pub role_scopes: BTreeSet<String>,
}

impl User {
    pub fn display_name(&self) -> String {
        format!("{} {}", self.given_name, self.family_name).trim().to_string()
    }
}

impl Directory {
    /// The shipped development directory.
    pub fn development() -> Self {
        match Self::from_json(DEFAULT_DIRECTORY_JSON, "built-in directory.json") {
            Ok(directory) => directory,
            // The file is part of the crate and covered by a unit test.
            Err(error) => unreachable!("built-in directory is invalid: {error}"),
        }
    }

    pub fn from_file(path: &Path) -> Result<Self, DirectoryError> {
        let text = std::fs::read_to_string(path).map_err(|source| DirectoryError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_json(&text, &path.display().to_string())
    }

    /// Parses and validates `text`; `origin` names the file in error messages.
    pub fn from_json(text: &str, origin: &str) -> Result<Self, DirectoryError> {
        let file: DirectoryFile = parse_json(text, origin)?;
        Self::from_description(file, origin)
    }

    pub fn from_description(file: DirectoryFile, origin: &str) -> Result<Self, DirectoryError> {
        Validator { origin }.validate(file)
    }

    pub fn application(&self, client_id: &str) -> Option<&Application> {
        self.applications.iter().find(|app| app.client_id == client_id)
    }

    pub fn applications(&self) -> &[Application] {
        &self.applications
    }

    pub fn user_by_username(&self, username: &str) -> Option<&User> {
        self.users.iter().find(|user| user.username == username)
    }

    pub fn user_by_sub(&self, sub: &Uuid) -> Option<&User> {
        self.users.iter().find(|user| &user.sub == sub)
    }

    pub fn users(&self) -> &[User] {
        &self.users
    }

    pub fn roles(&self) -> &[Role] {
        &self.roles
    }

    /// This directory with `username`'s roles replaced by `roles`, as an administrator assigns
    /// them in Asgardeo's console: from now on the user has exactly the scopes of those roles,
    /// whatever their groups grant. The groups stay as they were (so does the `groups` claim).
    pub fn with_user_roles(&self, username: &str, roles: Vec<String>) -> Result<Directory, RoleChangeError> {
        let Some(index) = self.users.iter().position(|user| user.username == username) else {
            return Err(RoleChangeError::UnknownUser(username.to_string()));
        };
        if let Some(unknown) = roles
            .iter()
            .find(|name| !self.roles.iter().any(|role| &role.name == *name))
        {
            let defined: Vec<&str> = self.roles.iter().map(|role| role.name.as_str()).collect();
            return Err(RoleChangeError::UnknownRole {
                role: unknown.clone(),
                defined: defined.join(", "),
            });
        }
        let roles: BTreeSet<String> = roles.into_iter().collect();
        let mut changed = self.clone();
        let user = &mut changed.users[index];
        user.role_scopes = scopes_of(&self.roles, &roles);
        user.roles = roles.into_iter().collect();
        Ok(changed)
    }
}

/// Every API scope the named roles carry.
fn scopes_of(roles: &[Role], names: &BTreeSet<String>) -> BTreeSet<String> {
    roles
        .iter()
        .filter(|role| names.contains(&role.name))
        .flat_map(|role| role.scopes.iter().cloned())
        .collect()
}

/// What in `directory` still uses a secret committed in the built-in directory.json (public
/// knowledge: fine on this machine, not beyond it): an application's client secret, or a
/// user's password. Names it, e.g. "application `issues-app-dev-client`".
pub fn uses_committed_secret(directory: &Directory) -> Option<String> {
    let committed: serde_json::Value =
        serde_json::from_str(DEFAULT_DIRECTORY_JSON).expect("the built-in directory.json is valid JSON");
    let listed = |list: &str, field: &str| -> Vec<String> {
        let entries = committed[list].as_array().cloned().unwrap_or_default();
        entries
            .iter()
            .filter_map(|entry| entry[field].as_str().map(str::to_string))
            .collect()
    };
    let (secrets, passwords) = (listed("applications", "clientSecret"), listed("users", "password"));
    let application = directory.applications().iter().find(|app| {
        app.client_secret
            .as_ref()
            .is_some_and(|secret| secrets.contains(secret))
    });
    if let Some(app) = application {
        return Some(format!("application `{}`", app.client_id));
    }
    let user = directory
        .users()
        .iter()
        .find(|user| passwords.iter().any(|password| user.password.verify(password)));
    user.map(|user| format!("user `{}`", user.username))
}

/// serde_json with the error's field path spelled out.
fn parse_json<T: serde::de::DeserializeOwned>(text: &str, origin: &str) -> Result<T, DirectoryError> {
    let deserializer = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if inner.is_syntax() || inner.is_eof() || path == "." {
            DirectoryError::Syntax {
                origin: origin.to_string(),
                line: inner.line(),
                column: inner.column(),
                message: inner.to_string(),
            }
        } else {
            DirectoryError::Field {
                origin: origin.to_string(),
                field: path,
                message: strip_position(&inner.to_string()),
            }
        }
    })
}

fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(index) => message[..index].to_string(),
        None => message.to_string(),
    }
}

struct Validator<'a> {
    origin: &'a str,
}

impl Validator<'_> {
    fn error(&self, field: impl Into<String>, message: impl Into<String>) -> DirectoryError {
        DirectoryError::Field {
            origin: self.origin.to_string(),
            field: field.into(),
            message: message.into(),
        }
    }

    fn validate(&self, file: DirectoryFile) -> Result<Directory, DirectoryError> {
        let org = &file.organization.name;
        if org.is_empty() || !org.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(self.error(
                "organization.name",
                "expected a non-empty name of letters, digits, '-' or '_'",
            ));
        }

        let mut scope_owner: HashMap<String, String> = HashMap::new();
        for (index, resource) in file.api_resources.iter().enumerate() {
            if resource.identifier.trim().is_empty() {
                return Err(self.error(format!("apiResources[{index}].identifier"), "must not be empty"));
            }
            for (scope_index, scope) in resource.scopes.iter().enumerate() {
                let field = format!("apiResources[{index}].scopes[{scope_index}].name");
                if scope.name.is_empty() || scope.name.contains(char::is_whitespace) {
                    return Err(self.error(field, "expected a scope name without spaces"));
                }
                if scope_owner
                    .insert(scope.name.clone(), resource.identifier.clone())
                    .is_some()
                {
                    return Err(self.error(field, format!("scope `{}` is defined twice", scope.name)));
                }
            }
        }

        let mut applications = Vec::new();
        let mut client_ids = HashSet::new();
        for (index, app) in file.applications.into_iter().enumerate() {
            let at = |field: &str| format!("applications[{index}].{field}");
            if app.client_id.is_empty() {
                return Err(self.error(at("clientId"), "must not be empty"));
            }
            if !client_ids.insert(app.client_id.clone()) {
                return Err(self.error(at("clientId"), "another application uses this client id"));
            }
            let confidential = app.kind != ApplicationKind::SinglePageApplication;
            match (&app.client_secret, confidential) {
                (None, true) => {
                    return Err(self.error(at("clientSecret"), "required for a confidential application"));
                }
                (Some(secret), true) if secret.len() < 16 => {
                    return Err(self.error(at("clientSecret"), "expected at least 16 characters"));
                }
                (Some(_), false) => {
                    return Err(self.error(at("clientSecret"), "a single-page application has no secret"));
                }
                _ => {}
            }
            for (uri_index, uri) in app.redirect_uris.iter().enumerate() {
                self.absolute_url(uri, &at(&format!("redirectUris[{uri_index}]")))?;
            }
            for (uri_index, uri) in app.post_logout_redirect_uris.iter().enumerate() {
                self.absolute_url(uri, &at(&format!("postLogoutRedirectUris[{uri_index}]")))?;
            }
            let grant_types: HashSet<GrantType> = app.grant_types.iter().copied().collect();
            if grant_types.contains(&GrantType::AuthorizationCode) && app.redirect_uris.is_empty() {
                return Err(self.error(at("redirectUris"), "authorization_code needs at least one redirect URI"));
            }
            let mut authorized_scopes = HashMap::new();
            for (resource_index, authorized) in app.authorized_api_resources.iter().enumerate() {
                if !file.api_resources.iter().any(|r| r.identifier == authorized.identifier) {
                    return Err(self.error(
                        at(&format!("authorizedApiResources[{resource_index}].identifier")),
                        format!("no API resource `{}`", authorized.identifier),
                    ));
                }
                for (scope_index, scope) in authorized.scopes.iter().enumerate() {
                    if scope_owner.get(scope) != Some(&authorized.identifier) {
                        return Err(self.error(
                            at(&format!(
                                "authorizedApiResources[{resource_index}].scopes[{scope_index}]"
                            )),
                            format!("API resource `{}` has no scope `{scope}`", authorized.identifier),
                        ));
                    }
                    authorized_scopes.insert(scope.clone(), authorized.identifier.clone());
                }
            }
            let lifetimes = app.token_lifetimes;
            for (name, value) in [
                ("accessTokenSeconds", lifetimes.access_token_seconds),
                ("refreshTokenSeconds", lifetimes.refresh_token_seconds),
                ("idTokenSeconds", lifetimes.id_token_seconds),
            ] {
                if !(1..=31_536_000).contains(&value) {
                    return Err(self.error(at(&format!("tokenLifetimes.{name}")), "expected 1 to 31536000 seconds"));
                }
            }
            let back_channel_logout_url = match &app.back_channel_logout_url {
                Some(url) => Some(self.absolute_url(url, &at("backChannelLogoutUrl"))?),
                None => None,
            };
            applications.push(Application {
                name: app.name,
                client_id: app.client_id,
                client_secret: app.client_secret,
                kind: app.kind,
                redirect_uris: app.redirect_uris,
                post_logout_redirect_uris: app.post_logout_redirect_uris,
                grant_types,
                pkce_mandatory: app.pkce_mandatory,
                authorized_scopes,
                access_token_format: app.access_token_format,
                lifetimes,
                refresh_token_rotation: app.refresh_token_rotation,
                client_auth_methods: app.client_auth_methods,
                back_channel_logout_url,
            });
        }

        let mut roles: HashMap<&str, &Role> = HashMap::new();
        for (index, role) in file.roles.iter().enumerate() {
            if roles.insert(role.name.as_str(), role).is_some() {
                return Err(self.error(format!("roles[{index}].name"), "another role has this name"));
            }
            for (scope_index, scope) in role.scopes.iter().enumerate() {
                if !scope_owner.contains_key(scope) {
                    return Err(self.error(
                        format!("roles[{index}].scopes[{scope_index}]"),
                        format!("no API resource defines scope `{scope}`"),
                    ));
                }
            }
        }
        let mut groups: HashMap<&str, &Group> = HashMap::new();
        for (index, group) in file.groups.iter().enumerate() {
            if groups.insert(group.name.as_str(), group).is_some() {
                return Err(self.error(format!("groups[{index}].name"), "another group has this name"));
            }
            for (role_index, role) in group.roles.iter().enumerate() {
                if !roles.contains_key(role.as_str()) {
                    return Err(self.error(
                        format!("groups[{index}].roles[{role_index}]"),
                        format!("no role `{role}`"),
                    ));
                }
            }
        }

        let mut users = Vec::new();
        let mut subs = HashSet::new();
        for (index, user) in file.users.into_iter().enumerate() {
            let at = |field: &str| format!("users[{index}].{field}");
            if user.username.is_empty() {
                return Err(self.error(at("username"), "must not be empty"));
            }
            if users.iter().any(|u: &User| u.username == user.username) {
                return Err(self.error(at("username"), "another user has this username"));
            }
            if !subs.insert(user.sub) {
                return Err(self.error(at("sub"), "another user has this sub"));
            }
            if user.password.is_empty() {
                return Err(self.error(at("password"), "must not be empty"));
            }
            let mut user_roles = BTreeSet::new();
            for (group_index, group) in user.groups.iter().enumerate() {
                let Some(group) = groups.get(group.as_str()) else {
                    return Err(self.error(at(&format!("groups[{group_index}]")), format!("no group `{group}`")));
                };
                user_roles.extend(group.roles.iter().cloned());
            }
            let role_scopes = scopes_of(&file.roles, &user_roles);
            users.push(User {
                password: PasswordHash::new(&user.password),
                username: user.username,
                sub: user.sub,
                given_name: user.given_name,
                family_name: user.family_name,
                email: user.email,
                groups: user.groups,
                roles: user_roles.into_iter().collect(),
                role_scopes,
            });
        }

        Ok(Directory {
            organization: Organization {
                name: file.organization.name,
                id: file.organization.id.unwrap_or_else(Uuid::new_v4),
            },
            api_resources: file.api_resources,
            applications,
            roles: file.roles,
            users,
        })
    }

    fn absolute_url(&self, value: &str, field: &str) -> Result<Url, DirectoryError> {
        match Url::parse(value) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.fragment().is_none() => Ok(url),
            Ok(_) => Err(self.error(field, "expected an http(s) URL without a fragment")),
            Err(error) => Err(self.error(field, format!("expected an absolute URL ({error})"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_directory_is_valid() {
        let directory = Directory::from_json(DEFAULT_DIRECTORY_JSON, "directory.json").unwrap();
        let john = directory.user_by_username("john").unwrap();
        assert!(john.role_scopes.contains("issues:create"));
        let emily = directory.user_by_username("emily").unwrap();
        assert!(!emily.role_scopes.contains("issues:create"));
        assert!(emily.role_scopes.contains("issues:view"));
    }

    #[test]
    fn an_application_is_registered_by_its_client_id() {
        let mut description = DirectoryFile::from_json(DEFAULT_DIRECTORY_JSON, "directory.json").unwrap();
        let registration = |client_id: &str| Registration {
            client_id: client_id.into(),
            client_secret: "a-secret-of-its-own".into(),
            redirect_uri: "http://localhost:4000/auth/callback".into(),
            post_logout_redirect_uri: "http://localhost:4000/".into(),
            back_channel_logout_url: None,
        };
        let error = description.register(registration("someone-else")).unwrap_err();
        assert_eq!(
            error,
            "the directory lists no application with client id `someone-else` (it lists: issues-app-dev-client)"
        );
        description.register(registration("issues-app-dev-client")).unwrap();
        let directory = Directory::from_description(description, "directory.json").unwrap();
        let app = directory.application("issues-app-dev-client").unwrap();
        assert_eq!(app.client_secret.as_deref(), Some("a-secret-of-its-own"));
        assert_eq!(app.redirect_uris, ["http://localhost:4000/auth/callback"]);
        assert_eq!(app.post_logout_redirect_uris, ["http://localhost:4000/"]);
        assert!(app.back_channel_logout_url.is_none());
    }

    #[test]
    fn an_administrator_changes_a_user_s_roles() {
        let directory = Directory::development();
        let changed = directory.with_user_roles("emily", vec!["Manager".into()]).unwrap();
        let emily = changed.user_by_username("emily").unwrap();
        assert_eq!(emily.roles, ["Manager"]);
        assert!(emily.role_scopes.contains("issues:create"));
        assert!(!emily.role_scopes.contains("audit:view"));
        assert_eq!(emily.groups, ["Employee"], "groups stay as they were");
        let before = directory.user_by_username("emily").unwrap();
        assert!(
            !before.role_scopes.contains("issues:create"),
            "the original is untouched"
        );

        let both = directory
            .with_user_roles("emily", vec!["Employee".into(), "Admin".into(), "Employee".into()])
            .unwrap();
        let emily = both.user_by_username("emily").unwrap();
        assert_eq!(emily.roles, ["Admin", "Employee"]);
        assert!(emily.role_scopes.contains("audit:view") && emily.role_scopes.contains("issues:comment"));
        let none = directory.with_user_roles("emily", Vec::new()).unwrap();
        assert!(none.user_by_username("emily").unwrap().role_scopes.is_empty());

        let error = directory
            .with_user_roles("emily", vec!["Manager".into(), "Janitor".into()])
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "no role `Janitor` (the directory defines: Manager, Employee, Admin)"
        );
        let error = directory.with_user_roles("nobody", vec!["Manager".into()]).unwrap_err();
        assert_eq!(error, RoleChangeError::UnknownUser("nobody".into()));
    }

    #[test]
    fn errors_name_the_field() {
        let mut value: serde_json::Value = serde_json::from_str(DEFAULT_DIRECTORY_JSON).unwrap();
        value["applications"][0]["redirectUris"][0] = "not a url".into();
        let error = Directory::from_json(&value.to_string(), "x.json")
            .unwrap_err()
            .to_string();
        assert!(error.contains("applications[0].redirectUris[0]"), "{error}");

        let mut value: serde_json::Value = serde_json::from_str(DEFAULT_DIRECTORY_JSON).unwrap();
        value["users"][1]["groups"][0] = "Nobody".into();
        let error = Directory::from_json(&value.to_string(), "x.json")
            .unwrap_err()
            .to_string();
        assert!(error.contains("users[1].groups[0]"), "{error}");

        let mut value: serde_json::Value = serde_json::from_str(DEFAULT_DIRECTORY_JSON).unwrap();
        value["applications"][0]["colour"] = "blue".into();
        let error = Directory::from_json(&value.to_string(), "x.json")
            .unwrap_err()
            .to_string();
        assert!(error.contains("applications[0]") && error.contains("colour"), "{error}");

        let error = Directory::from_json("{", "x.json").unwrap_err().to_string();
        assert!(error.starts_with("x.json: invalid JSON"), "{error}");
    }
}

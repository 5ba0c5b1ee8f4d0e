//! The embedded development IdP (cargo feature `dev-idp`): started beside the app when
//! config.json has a `DevIdentityProvider` section, with this app registered in its directory
//! as an admin would register it in Asgardeo's console.

use dev_idp::{DirectoryFile, Registration, RunningIdp, StartError};

use crate::access::Viewer;
use crate::model::NewIssue;
use crate::server::ops::config::{Config, DevIdpConfig};
use crate::server::storage::issues::Issues;
use crate::server::support::clock;

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedIdpError {
    /// The directory or config.json: the message names the file and field.
    #[error("{0}")]
    Setup(String),
    #[error(transparent)]
    Start(#[from] StartError),
}

impl EmbeddedIdpError {
    /// Its address is taken (by a running issues-app, say).
    pub fn is_address_in_use(&self) -> bool {
        matches!(self, Self::Start(StartError::Bind { source, .. }) if source.kind() == std::io::ErrorKind::AddrInUse)
    }
}

/// The embedded IdP and the directory's first user (who files the sample issues).
pub struct Started {
    pub idp: RunningIdp,
    pub first_user: Option<Viewer>,
}

/// Starts the dev IdP on `dev.listen`.
pub async fn start(config: &Config, dev: &DevIdpConfig) -> Result<Started, EmbeddedIdpError> {
    let setup = EmbeddedIdpError::Setup;
    let (text, origin) = match &dev.directory {
        Some(path) => (
            std::fs::read_to_string(path).map_err(|e| setup(format!("cannot read {}: {e}", path.display())))?,
            path.display().to_string(),
        ),
        None => (
            dev_idp::DEFAULT_DIRECTORY_JSON.to_string(),
            "built-in directory".to_string(),
        ),
    };
    let mut description = DirectoryFile::from_json(&text, &origin).map_err(|e| setup(e.to_string()))?;
    let organization = description.organization.name.clone();
    let expected = format!("{}/t/{organization}", dev.public_url);
    if config.organization_url != expected {
        return Err(setup(format!(
            "{}: field `AuthorizationConfig.BaseOrganizationUrl` must be `{expected}` for the embedded IdP's organization `{organization}`",
            config.source.display()
        )));
    }
    description
        .register(Registration {
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.expose().to_string(),
            redirect_uri: config.redirect_uri(),
            post_logout_redirect_uri: config.post_logout_redirect_uri(),
            back_channel_logout_url: Some(format!("{}/auth/backchannel-logout", config.origin())),
        })
        .map_err(|e| {
            setup(format!(
                "{origin}: {e}; field `ApplicationConfig.ClientId` of {} must name one of them",
                config.source.display()
            ))
        })?;
    let directory = dev_idp::Directory::from_description(description, &origin).map_err(|e| setup(e.to_string()))?;
    let users: Vec<String> = directory.users().iter().map(|u| u.username.clone()).collect();
    let first_user = directory.users().first().map(|user| Viewer {
        sub: user.sub.to_string(),
        name: format!("{} {}", user.given_name, user.family_name),
        scopes: Vec::new(),
        client_id: None,
        auth_time: None,
    });
    if let Some(parent) = dev.key_file.parent() {
        std::fs::create_dir_all(parent).map_err(|e| setup(format!("{}: {e}", parent.display())))?;
    }
    let idp = dev_idp::start(dev_idp::Options {
        directory,
        listen: dev.listen,
        key_file: Some(dev.key_file.clone()),
        public_url: Some(dev.public_url.clone()),
        allow_remote: false,
    })
    .await?;
    tracing::info!(
        issuer = %idp.issuer(),
        users = %users.join(", "),
        "embedded development IdP started: sign in as john / john-dev-password (Manager), emily / emily-dev-password (Employee) or alex / alex-dev-password (Admin)"
    );
    Ok(Started { idp, first_user })
}

/// A few issues, like the original demo's, so a first look at the board (Emily's, say) is not
/// empty: only with the embedded IdP, and only into an empty database.
pub async fn add_sample_issues(issues: &Issues, author: &Viewer) -> Result<(), sqlx::Error> {
    const SAMPLES: [(&str, &str); 3] = [
        (
            "Projector in room 4 flickers",
            "Since Monday; the cable was already replaced.",
        ),
        (
            "Laptop battery drains overnight",
            "Even when shut down. It is last year's model.",
        ),
        (
            "A second monitor for the support desk",
            "Tickets and the customer's screen side by side would save time.",
        ),
    ];
    if issues.count().await? > 0 {
        return Ok(());
    }
    for (title, description) in SAMPLES {
        if let Ok(issue) = NewIssue::parse(title, description) {
            issues.create(&issue, author, clock::now_millis()).await?;
        }
    }
    tracing::info!("added {} sample issues to the empty database", SAMPLES.len());
    Ok(())
}

//! Notifications by e-mail, when config.json names a mail server (`Notifications.Smtp`): each
//! notification mailed once to whoever wants it as it happens, or gathered into one digest a
//! day (as each person chose on their profile), to the address their ID token gave. Whether
//! they may still view the issue is decided when the mail is sent, with the scopes they hold
//! then: a mail they may no longer read is skipped. A mail the server does not take is tried
//! again (after 30 s, twice as long each time, for a day), and never sent twice by two
//! instances.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::{broadcast, watch};

use super::POLL;
use crate::access::{self, Permission, Viewer};
use crate::model::{notification_path, notification_reason};
use crate::server::ops::config::{Config, Smtp, SmtpTls};
use crate::server::ops::live::LiveConfig;
use crate::server::storage::db::Db;
use crate::server::storage::mail_queue::{self, MAIL_WITHIN_MS, ToMail, mail_state};
use crate::server::support::clock;

/// Mails claimed at once.
const CLAIM: i64 = 20;
/// How long a claim holds: longer than every mail of a claim, sent one after another.
const LEASE: Duration = Duration::from_secs(SEND_TIME.as_secs() * (CLAIM as u64 + 1) + 60);
/// How long one mail may take, connecting included.
const SEND_TIME: Duration = Duration::from_secs(20);
/// The first wait before a mail is tried again.
const FIRST_RETRY: Duration = Duration::from_secs(30);

/// Mails what is due, for as long as it is polled: woken when people were told something
/// (`told`), else every [`POLL`]; returns when `stopping` turns `true` (a send under way
/// finishes).
pub async fn run(
    db: Db,
    config: Arc<LiveConfig>,
    mut told: broadcast::Receiver<Arc<[String]>>,
    mut stopping: watch::Receiver<bool>,
) {
    loop {
        if let Err(error) = send_due(&db, &config).await {
            tracing::warn!(%error, "could not read the notifications to mail; trying again");
        }
        tokio::select! {
            _ = told.recv() => {}
            _ = stopping.wait_for(|stopping| *stopping) => return,
            () = tokio::time::sleep(POLL) => {}
        }
    }
}

/// Sends the mails due now through the mail server config.json names (if it names one): each
/// as it happens, then the digests due. Whether the reader may view issues is decided with the
/// configuration in force as each mail is about to go, not as the round began.
pub async fn send_due(db: &Db, live: &LiveConfig) -> Result<(), sqlx::Error> {
    let config = live.load_full();
    let Some(smtp) = &config.smtp else {
        return Ok(());
    };
    let transport = match transport(smtp) {
        Ok(transport) => transport,
        Err(error) => {
            tracing::warn!(%error, "the mail server in config.json cannot be used");
            return Ok(());
        }
    };
    loop {
        let now = clock::now_millis();
        let claimed = mail_queue::claim(db, now, now + LEASE.as_millis() as i64, CLAIM).await?;
        let count = claimed.len();
        for mail in claimed {
            if !may_read(&live.load(), &mail) {
                mail_queue::mark(db, &[&mail], mail_state::SKIPPED).await?;
                continue;
            }
            let message = one(&config, smtp, &mail);
            match send(&transport, message).await {
                Ok(()) => mail_queue::mark(db, &[&mail], mail_state::SENT).await?,
                Err(error) if clock::now_millis() - mail.at >= MAIL_WITHIN_MS => {
                    tracing::warn!(%error, notification = mail.id, "a notification's mail was given up after a day");
                    mail_queue::mark(db, &[&mail], mail_state::FAILED).await?;
                }
                Err(error) => {
                    tracing::warn!(%error, notification = mail.id, "a notification's mail was not taken; trying again");
                    let wait = FIRST_RETRY.saturating_mul(1 << mail.attempts.clamp(0, 12) as u32);
                    let wait = wait.min(Duration::from_secs(3600));
                    mail_queue::retry(db, &mail, clock::now_millis() + wait.as_millis() as i64).await?;
                }
            }
        }
        if (count as i64) < CLAIM {
            break;
        }
    }
    let now = clock::now_millis();
    for digest in mail_queue::claim_digest(db, now, now + LEASE.as_millis() as i64).await? {
        let in_force = live.load();
        let (viewable, gone): (Vec<ToMail>, Vec<ToMail>) =
            digest.into_iter().partition(|mail| may_read(&in_force, mail));
        mail_queue::mark(db, &gone.iter().collect::<Vec<_>>(), mail_state::SKIPPED).await?;
        let Some(message) = digest_of(&config, smtp, &viewable) else {
            continue;
        };
        match send(&transport, message).await {
            Ok(()) => mail_queue::mark(db, &viewable.iter().collect::<Vec<_>>(), mail_state::SENT).await?,
            Err(error) => {
                tracing::warn!(%error, "a daily digest was not taken; trying again in ten minutes");
                let again = clock::now_millis() + 600_000;
                mail_queue::digest_failed(db, &viewable[0].sub, &viewable, again).await?;
            }
        }
    }
    Ok(())
}

/// Whether the person `mail` is for may read it now, with the scopes they hold now: view issues,
/// and for a request for access to answer, answer requests.
fn may_read(config: &Config, mail: &ToMail) -> bool {
    let viewer = Viewer {
        sub: mail.sub.clone(),
        name: mail.name.clone(),
        scopes: mail
            .scopes
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        client_id: None,
        auth_time: None,
    };
    let needed = match mail.reason.as_str() {
        notification_reason::ACCESS_ASKED => Permission::ReviewAccess,
        _ => Permission::ViewIssues,
    };
    access::require(Some(&viewer), &config.features, needed).is_ok()
}

/// The connection to the mail server config.json names.
fn transport(smtp: &Smtp) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let builder = match smtp.tls {
        SmtpTls::StartTls => {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host).map_err(|e| e.to_string())?
        }
        SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host).map_err(|e| e.to_string())?,
        SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host),
    };
    let builder = builder.port(smtp.port).timeout(Some(SEND_TIME));
    let builder = match &smtp.credentials {
        Some((user, password)) => builder.credentials(Credentials::new(
            user.expose().to_string(),
            password.expose().to_string(),
        )),
        None => builder,
    };
    Ok(builder.build())
}

async fn send(transport: &AsyncSmtpTransport<Tokio1Executor>, message: Result<Message, String>) -> Result<(), String> {
    let message = message?;
    match tokio::time::timeout(SEND_TIME, transport.send(message)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err(format!("no answer within {} s", SEND_TIME.as_secs())),
    }
}

/// `To:` the person `mail` is for, from config.json's sender.
fn envelope(smtp: &Smtp, mail: &ToMail) -> Result<lettre::message::MessageBuilder, String> {
    let from: Mailbox = smtp
        .from
        .parse()
        .map_err(|_| "the sender is not a mailbox".to_string())?;
    let address = mail
        .email
        .parse()
        .map_err(|_| format!("`{}` is not an address", mail.email))?;
    Ok(Message::builder()
        .from(from)
        .to(Mailbox::new(Some(mail.name.clone()), address))
        .header(ContentType::TEXT_PLAIN))
}

/// The mail of one notification.
fn one(config: &Config, smtp: &Smtp, mail: &ToMail) -> Result<Message, String> {
    let origin = config.origin();
    let why = match mail.reason.as_str() {
        notification_reason::ASSIGNED => "it was assigned to you",
        notification_reason::MENTIONED => "you were mentioned",
        notification_reason::ACCESS_ASKED => "you answer requests for access",
        notification_reason::ACCESS_ANSWERED => "you asked for access",
        _ => "you follow this issue (you wrote it, commented on it or watch it)",
    };
    let body = format!(
        "{summary}\n\n{origin}{path}\n\n-- \nYou are told because {why}. Choose how you are told on your \
         profile: {origin}/profile\n",
        summary = mail.summary,
        path = notification_path(&mail.reason, mail.issue_id),
    );
    envelope(smtp, mail)?
        .subject(format!("[Issues] {}", mail.summary))
        .body(body)
        .map_err(|error| error.to_string())
}

/// One mail of the day's notifications; `None` when there is nothing to tell.
fn digest_of(config: &Config, smtp: &Smtp, mails: &[ToMail]) -> Option<Result<Message, String>> {
    let first = mails.first()?;
    let origin = config.origin();
    let mut body = String::new();
    for mail in mails {
        let path = notification_path(&mail.reason, mail.issue_id);
        body.push_str(&format!("- {}\n  {origin}{path}\n", mail.summary));
    }
    body.push_str(&format!(
        "\n-- \nYour daily digest. Choose how you are told on your profile: {origin}/profile\n"
    ));
    let subject = match mails.len() {
        1 => "[Issues] 1 notification today".to_string(),
        n => format!("[Issues] {n} notifications today"),
    };
    Some(envelope(smtp, first).and_then(|message| message.subject(subject).body(body).map_err(|e| e.to_string())))
}

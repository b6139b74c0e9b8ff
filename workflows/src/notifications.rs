//! Notifications: what Tentabo tells a person — in the console's inbox and by email.
//!
//! A notification is written in the transaction of what caused it (a contract due for
//! renewal), once per kind, object and person (a unique key), in the person's language
//! (`users.language`: `en` or `fr`), with the job that emails it (`notification_email`)
//! in the same transaction. The job sends through SMTP ([`Mailer`], `lettre`) via the
//! outbound layer (timeout, breaker, call log) and records the email's state on the row:
//! `pending` → `sent`, or `skipped` when no mail server is configured. An email is sent
//! at least once: a crash between the server's acceptance and the row's update would
//! send it again on the retry.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::sql_types::{Jsonb, Nullable, Text, Timestamptz};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::WorkflowError;
use crate::audit::AuditContext;
use crate::outbound::{Endpoint, Outbound};
use crate::sql::{self, Bind};

/// A notification as its reader sees it.
#[derive(Debug, Clone, PartialEq, Serialize, diesel::QueryableByName)]
pub struct Notification {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Text)]
    pub object_type: String,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub object_id: Uuid,
    #[diesel(sql_type = Text)]
    pub subject: String,
    #[diesel(sql_type = Text)]
    pub body: String,
    #[diesel(sql_type = Jsonb)]
    pub data: serde_json::Value,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub read_at: Option<DateTime<Utc>>,
    /// `pending`, `sent` or `skipped` (no mail server configured).
    #[diesel(sql_type = Text)]
    pub email_status: String,
}

const COLUMNS: &str =
    "id, kind, object_type, object_id, subject, body, data, created_at, read_at, email_status";

/// What a renewal notification says about its contract.
#[derive(Debug, Clone)]
pub struct RenewalFacts {
    pub contract_id: Uuid,
    pub order_reference: String,
    pub expires_on: Option<NaiveDate>,
    /// The renewal order drafted for it, if one was.
    pub draft_reference: Option<String>,
    pub owner_id: Uuid,
    pub partner_id: Option<Uuid>,
    pub distributor_id: Option<Uuid>,
}

#[derive(diesel::QueryableByName)]
struct Recipient {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    language: String,
}

/// The subject and body of a renewal notice in `language` (`fr`, else English).
pub fn renewal_text(language: &str, f: &RenewalFacts) -> (String, String) {
    let date = |fr: bool| {
        f.expires_on.map_or_else(
            || {
                if fr {
                    "bientôt".to_owned()
                } else {
                    "soon".to_owned()
                }
            },
            |d| {
                if fr {
                    format!("le {}", d.format("%d/%m/%Y"))
                } else {
                    format!("on {}", d.format("%Y-%m-%d"))
                }
            },
        )
    };
    if language == "fr" {
        let subject = format!(
            "Renouvellement à prévoir : le contrat {} expire {}",
            f.order_reference,
            date(true)
        );
        let next = match &f.draft_reference {
            Some(r) => format!(
                "Une commande de renouvellement {r} a été préparée en brouillon : vérifiez-la et envoyez-la au client."
            ),
            None => "Aucune commande n'a été préparée : créez la commande de renouvellement si le client renouvelle.".to_owned(),
        };
        let body = format!(
            "Bonjour,\n\nLe contrat de la commande {} expire {}.\n{next}\n\n— Tentabo",
            f.order_reference,
            date(true)
        );
        (subject, body)
    } else {
        let subject = format!(
            "Renewal due: contract {} expires {}",
            f.order_reference,
            date(false)
        );
        let next = match &f.draft_reference {
            Some(r) => format!(
                "A renewal order {r} has been drafted: review it and send it to the customer."
            ),
            None => {
                "No order was drafted: create the renewal order if the customer renews.".to_owned()
            }
        };
        let body = format!(
            "Hello,\n\nThe contract of order {} expires {}.\n{next}\n\n— Tentabo",
            f.order_reference,
            date(false)
        );
        (subject, body)
    }
}

/// Notifies the contract's owner and the users of its distributor (the contract's own,
/// or the one its partner is attached to) that it is due for renewal, in the caller's
/// transaction, each with its email job. A person already notified for this contract
/// is not notified again. Answers the notifications written.
pub async fn renewal_due(
    conn: &mut AsyncPgConnection,
    f: &RenewalFacts,
) -> Result<Vec<Uuid>, WorkflowError> {
    let recipients: Vec<Recipient> = sql::query(
        "SELECT u.id, u.language FROM users u \
         WHERE u.is_active AND (u.id = $1 OR (u.role = 'distributor' AND u.distributor_id IN ( \
             SELECT $2::uuid WHERE $2::uuid IS NOT NULL \
             UNION SELECT dp.distributor_id FROM distributor_partners dp WHERE dp.partner_id = $3))) \
         ORDER BY u.id",
    )
    .bind(Bind::Uuid(f.owner_id))
    .bind(Bind::OptUuid(f.distributor_id))
    .bind(Bind::OptUuid(f.partner_id))
    .load(conn)
    .await?;
    let mut written = Vec::new();
    for r in recipients {
        let (subject, body) = renewal_text(&r.language, f);
        let id = Uuid::now_v7();
        let inserted = sql::query(
            "INSERT INTO notifications (id, user_id, kind, object_type, object_id, subject, body, data) \
             VALUES ($1, $2, 'renewal_due', 'contract', $3, $4, $5, $6) \
             ON CONFLICT ON CONSTRAINT notifications_once DO NOTHING",
        )
        .bind(Bind::Uuid(id))
        .bind(Bind::Uuid(r.id))
        .bind(Bind::Uuid(f.contract_id))
        .bind(Bind::Text(subject))
        .bind(Bind::Text(body))
        .bind(Bind::Json(json!({
            "order_reference": f.order_reference,
            "expires_on": f.expires_on,
            "draft_reference": f.draft_reference,
        })))
        .execute(conn)
        .await?;
        if inserted == 0 {
            continue;
        }
        crate::jobs::enqueue(
            conn,
            &[crate::jobs::JobRequest::new(
                &crate::jobs::payloads::NotificationEmail {
                    notification_id: id,
                },
                format!("notification_email:{id}"),
            )],
        )
        .await?;
        written.push(id);
    }
    Ok(written)
}

/// A page of the caller's notifications, newest first, and how many are unread.
pub async fn list(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    unread_only: bool,
    cursor: Option<&str>,
    limit: i64,
) -> Result<(crate::pagination::Page<Notification>, i64), WorkflowError> {
    let after: Option<(DateTime<Utc>, Uuid)> = cursor.map(crate::pagination::decode).transpose()?;
    let rows: Vec<Notification> = sql::query(format!(
        "SELECT {COLUMNS} FROM notifications \
         WHERE user_id = $1 AND (NOT $2 OR read_at IS NULL) \
           AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4)) \
         ORDER BY created_at DESC, id DESC LIMIT $5"
    ))
    .bind(Bind::Uuid(user_id))
    .bind(Bind::Bool(unread_only))
    .bind(Bind::OptTime(after.map(|a| a.0)))
    .bind(Bind::OptUuid(after.map(|a| a.1)))
    .bind(Bind::BigInt(limit + 1))
    .load(conn)
    .await?;
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let unread: N = sql::query(
        "SELECT count(*) AS n FROM notifications WHERE user_id = $1 AND read_at IS NULL",
    )
    .bind(Bind::Uuid(user_id))
    .get_result(conn)
    .await?;
    Ok((
        crate::pagination::Page::from_rows(rows, limit, |n| (n.created_at, n.id)),
        unread.n,
    ))
}

/// Marks one of the caller's notifications read (once: reading it again changes
/// nothing), with its audit row. Another person's notification is not found.
pub async fn mark_read(
    conn: &mut AsyncPgConnection,
    audit_ctx: &AuditContext,
    user_id: Uuid,
    id: Uuid,
) -> Result<Notification, WorkflowError> {
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        let n: Notification = sql::query(format!(
            "UPDATE notifications SET read_at = COALESCE(read_at, now()) \
             WHERE id = $1 AND user_id = $2 RETURNING {COLUMNS}"
        ))
        .bind(Bind::Uuid(id))
        .bind(Bind::Uuid(user_id))
        .get_result(conn)
        .await
        .map_err(crate::error::not_found)?;
        crate::audit::record(
            conn,
            audit_ctx.entry("notification.read", "notification", id, json!({})),
        )
        .await?;
        Ok(n)
    })
    .await
}

/// Marks every unread notification of the caller read; answers how many.
pub async fn mark_all_read(
    conn: &mut AsyncPgConnection,
    audit_ctx: &AuditContext,
    user_id: Uuid,
) -> Result<usize, WorkflowError> {
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        let n = sql::query(
            "UPDATE notifications SET read_at = now() WHERE user_id = $1 AND read_at IS NULL",
        )
        .bind(Bind::Uuid(user_id))
        .execute(conn)
        .await?;
        if n > 0 {
            crate::audit::record(
                conn,
                audit_ctx.entry(
                    "notification.read_all",
                    "user",
                    user_id,
                    json!({ "read": n }),
                ),
            )
            .await?;
        }
        Ok(n)
    })
    .await
}

/// Where emails go out.
#[derive(Clone, Debug)]
pub struct MailConfig {
    /// `smtp://host:port` (plain, for a local relay), `smtp://host:587?tls=required`
    /// (STARTTLS) or `smtps://user:password@host:465`.
    pub url: SecretString,
    pub from: String,
    pub timeout: Duration,
}

/// Sends notification emails through SMTP.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    endpoint: Endpoint,
    outbound: Outbound,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Mailer({})", self.endpoint.base_url)
    }
}

impl Mailer {
    pub fn new(config: &MailConfig, outbound: Outbound) -> Result<Mailer, WorkflowError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(config.url.expose_secret())
            .map_err(|e| WorkflowError::Invalid(format!("SMTP URL: {e}")))?
            .timeout(Some(config.timeout))
            .build();
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|e| WorkflowError::Invalid(format!("mail sender `{}`: {e}", config.from)))?;
        // The call log names the server, never the credentials in the URL.
        let host = url::Url::parse(config.url.expose_secret())
            .ok()
            .and_then(|u| {
                u.host_str()
                    .map(|h| format!("{}://{h}:{}", u.scheme(), u.port().unwrap_or(25)))
            })
            .unwrap_or_else(|| "smtp".to_owned());
        Ok(Mailer {
            transport,
            from,
            endpoint: Endpoint {
                provider: "mail".into(),
                base_url: host,
                timeout: config.timeout,
                retry: crate::retry::RetryPolicy::default(),
                max_attempts: 1,
                rate: None,
                pacing: None,
                breaker: Default::default(),
            },
            outbound,
        })
    }

    /// Sends one plain-text email in `language`.
    pub async fn send(
        &self,
        to: &str,
        language: &str,
        subject: &str,
        body: &str,
    ) -> Result<(), WorkflowError> {
        let to: Mailbox = to
            .parse()
            .map_err(|e| WorkflowError::Invalid(format!("recipient: {e}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .header(ContentLanguage(language.to_owned()))
            .body(body.to_owned())
            .map_err(|e| WorkflowError::Invalid(format!("email: {e}")))?;
        self.outbound
            .call_other(&self.endpoint, "SMTP", "send", async {
                self.transport
                    .send(message)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            })
            .await
            .map_err(|e| WorkflowError::Unavailable {
                code: "mail_unavailable",
                message: e.to_string(),
            })
    }
}

/// The `Content-Language` header.
#[derive(Clone, Debug)]
struct ContentLanguage(String);

impl lettre::message::header::Header for ContentLanguage {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str("Content-Language")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ContentLanguage(s.to_owned()))
    }
    fn display(&self) -> lettre::message::header::HeaderValue {
        lettre::message::header::HeaderValue::new(Self::name(), self.0.clone())
    }
}

#[derive(diesel::QueryableByName)]
struct Outgoing {
    #[diesel(sql_type = Text)]
    email: String,
    #[diesel(sql_type = Text)]
    language: String,
    #[diesel(sql_type = Text)]
    subject: String,
    #[diesel(sql_type = Text)]
    body: String,
    #[diesel(sql_type = Text)]
    email_status: String,
}

/// What [`email`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emailed {
    Sent,
    /// Sent before (a repeated delivery of the job).
    AlreadyDone,
    /// No mail server configured: recorded, not sent.
    Skipped,
}

/// Emails notification `id` to its person (the `notification_email` job): reads the row,
/// sends outside any transaction, then records the outcome. A row already sent or
/// skipped is left alone.
pub async fn email(
    conn: &mut AsyncPgConnection,
    mailer: Option<&Mailer>,
    id: Uuid,
) -> Result<Emailed, WorkflowError> {
    let row: Outgoing = sql::query(
        "SELECT u.email, u.language, n.subject, n.body, n.email_status \
         FROM notifications n JOIN users u ON u.id = n.user_id WHERE n.id = $1",
    )
    .bind(Bind::Uuid(id))
    .get_result(conn)
    .await
    .map_err(crate::error::not_found)?;
    if row.email_status != "pending" {
        return Ok(Emailed::AlreadyDone);
    }
    let Some(mailer) = mailer else {
        sql::query(
            "UPDATE notifications SET email_status = 'skipped', \
                 email_error = 'no mail server configured (TENTABO_SMTP_URL)' \
             WHERE id = $1 AND email_status = 'pending'",
        )
        .bind(Bind::Uuid(id))
        .execute(conn)
        .await?;
        return Ok(Emailed::Skipped);
    };
    if let Err(e) = mailer
        .send(&row.email, &row.language, &row.subject, &row.body)
        .await
    {
        sql::query("UPDATE notifications SET email_error = $2 WHERE id = $1")
            .bind(Bind::Uuid(id))
            .bind(Bind::Text(e.to_string()))
            .execute(conn)
            .await?;
        return Err(e);
    }
    sql::query(
        "UPDATE notifications SET email_status = 'sent', emailed_at = now(), email_error = NULL \
         WHERE id = $1",
    )
    .bind(Bind::Uuid(id))
    .execute(conn)
    .await?;
    Ok(Emailed::Sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(draft: Option<&str>) -> RenewalFacts {
        RenewalFacts {
            contract_id: Uuid::nil(),
            order_reference: "ORD-000042".into(),
            expires_on: NaiveDate::from_ymd_opt(2027, 1, 15),
            draft_reference: draft.map(str::to_owned),
            owner_id: Uuid::nil(),
            partner_id: None,
            distributor_id: None,
        }
    }

    #[test]
    fn the_notice_speaks_the_readers_language() {
        let (subject, body) = renewal_text("fr", &facts(Some("ORD-000043")));
        assert_eq!(
            subject,
            "Renouvellement à prévoir : le contrat ORD-000042 expire le 15/01/2027"
        );
        assert!(
            body.contains("commande de renouvellement ORD-000043"),
            "{body}"
        );
        let (subject, body) = renewal_text("en", &facts(None));
        assert_eq!(
            subject,
            "Renewal due: contract ORD-000042 expires on 2027-01-15"
        );
        assert!(body.contains("No order was drafted"), "{body}");
    }
}

//! How a provider's records are read: the severity of each rule that may fail on a
//! record, the default country of national phone numbers, and the table that turns a
//! source's lead stages into the canonical lead vocabulary (SPEC §6, §10).
//!
//! A failed rule is either an *error* (the record cannot be loaded: it goes to
//! quarantine with its reasons), a *warning* (the record loads, the value is kept as
//! given and the problem is recorded on the row's `issues`) or *discard_value* (the
//! record loads without that value, recorded likewise) — dlt's schema contracts
//! (discard row / discard value / keep) under other names. Rules about a record's
//! identity or structure (a required field, a wrong type, an amount its column cannot
//! hold, a mapper failure) are always errors; the format rules of contact fields are
//! warnings by default, because real installations hold national-format phones, test
//! numbers and odd values.
//!
//! What an admin changes is stored per provider in `sync_settings` as overrides of the
//! defaults ([`SyncSettings`]); a run reads them once, as a [`Policy`].

use std::collections::BTreeMap;

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::WorkflowError;
use crate::audit::{self, AuditContext};
use crate::error::FieldErrors;
use crate::sql::{self, Bind};

/// What a failed rule does to its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The record goes to quarantine with its reasons.
    Error,
    /// The record loads with the value as given, flagged on the row.
    Warning,
    /// The record loads without the value, flagged on the row.
    DiscardValue,
}

/// The codes whose severity is configuration, with their defaults. Every other code is
/// an error.
pub const CONFIGURABLE: &[(&str, Severity)] = &[
    ("bad_email", Severity::Warning),
    ("bad_phone", Severity::Warning),
    ("bad_country", Severity::Warning),
    ("bad_url", Severity::Warning),
    ("bad_vat", Severity::Warning),
    ("unknown_stage", Severity::Warning),
    ("bad_currency", Severity::Error),
    ("bad_percentage", Severity::Error),
    ("unknown_reference", Severity::Error),
];

/// The canonical lead vocabulary (SPEC §10).
pub const LEAD_STATUSES: &[&str] = &["new", "qualified", "proposal", "negotiation", "won", "lost"];

/// Default stage table: the standard stages of Odoo's CRM (English and French names, as
/// Odoo shows them in the user's language) and common names elsewhere. Looked up by the
/// stage name lower-cased and trimmed.
pub const DEFAULT_LEAD_STAGES: &[(&str, &str)] = &[
    ("new", "new"),
    ("nouveau", "new"),
    ("nouvelle", "new"),
    ("qualified", "qualified"),
    ("qualifié", "qualified"),
    ("qualifiée", "qualified"),
    ("proposition", "proposal"),
    ("proposal", "proposal"),
    ("negotiation", "negotiation"),
    ("négociation", "negotiation"),
    ("won", "won"),
    ("gagné", "won"),
    ("gagnée", "won"),
    ("lost", "lost"),
    ("perdu", "lost"),
    ("perdue", "lost"),
];

/// Reads an ISO 3166-1 alpha-2 country code (any case) for a setting such as
/// `TENTABO_DEFAULT_COUNTRY`; the error says what was expected.
pub fn parse_country(s: &str) -> Result<String, String> {
    let c = s.trim().to_ascii_uppercase();
    if isocountry::CountryCode::for_alpha2(&c).is_ok() {
        Ok(c)
    } else {
        Err(format!(
            "`{s}` is not an ISO 3166-1 alpha-2 country code (e.g. FR, US, BE)"
        ))
    }
}

/// What an admin stored for a provider: only what differs from the defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncSettings {
    /// ISO 3166-1 alpha-2: the region of national phone numbers whose record names no
    /// country (before the installation's `TENTABO_DEFAULT_COUNTRY`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_country: Option<String>,
    /// Rule code → severity, for the codes of [`CONFIGURABLE`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub severity: BTreeMap<String, Severity>,
    /// Source stage name → canonical lead status, over [`DEFAULT_LEAD_STAGES`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub lead_stages: BTreeMap<String, String>,
}

impl SyncSettings {
    /// Field-level errors for what cannot be stored; nothing is stored then.
    pub fn check(&self) -> Result<(), WorkflowError> {
        let mut errors = FieldErrors::default();
        if let Some(c) = &self.default_country
            && isocountry::CountryCode::for_alpha2(c).is_err()
        {
            errors.add("default_country", "unknown_country");
        }
        for code in self.severity.keys() {
            if !CONFIGURABLE.iter().any(|(c, _)| c == code) {
                errors.add(&format!("severity.{code}"), "not_configurable");
            }
        }
        for (stage, status) in &self.lead_stages {
            if stage.trim().is_empty() {
                errors.add("lead_stages", "empty_stage");
            }
            if !LEAD_STATUSES.contains(&status.as_str()) {
                errors.add(&format!("lead_stages.{stage}"), "unknown_status");
            }
        }
        errors.into_result()
    }
}

/// The stages' view of a provider's settings, as a run reads them once.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    severity: BTreeMap<&'static str, Severity>,
    /// The provider's default country, else the installation's (upper-case alpha-2).
    pub default_country: Option<String>,
    /// Lower-cased stage name → canonical status.
    lead_stages: BTreeMap<String, &'static str>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy::new(&SyncSettings::default(), None)
    }
}

fn status_of(s: &str) -> Option<&'static str> {
    LEAD_STATUSES.iter().copied().find(|v| *v == s)
}

impl Policy {
    /// The defaults, overridden by `settings`; `installation_country` is
    /// `TENTABO_DEFAULT_COUNTRY`.
    pub fn new(settings: &SyncSettings, installation_country: Option<&str>) -> Policy {
        let mut severity: BTreeMap<&'static str, Severity> = CONFIGURABLE.iter().copied().collect();
        for (code, s) in &settings.severity {
            if let Some((known, _)) = CONFIGURABLE.iter().find(|(c, _)| c == code) {
                severity.insert(known, *s);
            }
        }
        let mut lead_stages: BTreeMap<String, &'static str> = DEFAULT_LEAD_STAGES
            .iter()
            .map(|(k, v)| ((*k).to_owned(), *v))
            .collect();
        for (stage, status) in &settings.lead_stages {
            if let Some(s) = status_of(status) {
                lead_stages.insert(stage.trim().to_lowercase(), s);
            }
        }
        let country = |c: &str| parse_country(c).ok();
        Policy {
            severity,
            default_country: settings
                .default_country
                .as_deref()
                .and_then(country)
                .or_else(|| installation_country.and_then(country)),
            lead_stages,
        }
    }

    /// The severity of a failed rule's code.
    pub fn severity(&self, code: &str) -> Severity {
        self.severity.get(code).copied().unwrap_or(Severity::Error)
    }

    /// The canonical status of a source stage name, if the table knows it.
    pub fn lead_status(&self, stage: &str) -> Option<&'static str> {
        self.lead_stages.get(&stage.trim().to_lowercase()).copied()
    }

    /// The effective settings (defaults and overrides), as the API shows them.
    pub fn effective(&self) -> EffectiveSettings {
        EffectiveSettings {
            default_country: self.default_country.clone(),
            severity: self
                .severity
                .iter()
                .map(|(k, v)| ((*k).to_owned(), *v))
                .collect(),
            lead_stages: self
                .lead_stages
                .iter()
                .map(|(k, v)| (k.clone(), (*v).to_owned()))
                .collect(),
        }
    }
}

/// Settings with every default filled in.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EffectiveSettings {
    pub default_country: Option<String>,
    pub severity: BTreeMap<String, Severity>,
    pub lead_stages: BTreeMap<String, String>,
}

#[derive(diesel::QueryableByName)]
struct Stored {
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    settings: serde_json::Value,
}

/// A provider's stored settings (the defaults when none were stored).
pub async fn load(
    conn: &mut AsyncPgConnection,
    provider: &str,
) -> Result<SyncSettings, WorkflowError> {
    let row: Option<Stored> = diesel::OptionalExtension::optional(
        sql::query("SELECT settings FROM sync_settings WHERE provider = $1")
            .bind(Bind::Text(provider.to_owned()))
            .get_result(conn)
            .await,
    )?;
    match row {
        None => Ok(SyncSettings::default()),
        Some(r) => serde_json::from_value(r.settings).map_err(|e| {
            WorkflowError::Invalid(format!("stored sync settings of {provider}: {e}"))
        }),
    }
}

/// A provider's policy: its stored settings over the defaults.
pub async fn policy(
    conn: &mut AsyncPgConnection,
    provider: &str,
    installation_country: Option<&str>,
) -> Result<Policy, WorkflowError> {
    Ok(Policy::new(
        &load(conn, provider).await?,
        installation_country,
    ))
}

/// Replaces a provider's settings (checked first: nothing is stored on a bad value),
/// with its audit row in the same transaction.
pub async fn store(
    conn: &mut AsyncPgConnection,
    audit_ctx: &AuditContext,
    provider: &str,
    settings: &SyncSettings,
) -> Result<(), WorkflowError> {
    let mut settings = settings.clone();
    settings.default_country = settings
        .default_country
        .map(|c| c.trim().to_ascii_uppercase());
    settings.check()?;
    let value = serde_json::to_value(&settings)?;
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        sql::query(
            "INSERT INTO sync_settings (provider, settings, updated_by) VALUES ($1, $2, $3) \
             ON CONFLICT (provider) DO UPDATE SET settings = EXCLUDED.settings, \
                 updated_by = EXCLUDED.updated_by, updated_at = now()",
        )
        .bind(Bind::Text(provider.to_owned()))
        .bind(Bind::Json(value.clone()))
        .bind(Bind::OptUuid(audit_ctx.actor_id))
        .execute(conn)
        .await?;
        audit::record(
            conn,
            audit_ctx.entry("sync.settings.update", "sync_settings", provider, value),
        )
        .await
    })
    .await
}

/// The identity of who stored settings last, and when (for the API).
#[derive(Debug, Clone, PartialEq, Serialize, diesel::QueryableByName)]
pub struct Stamp {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Uuid>)]
    pub updated_by: Option<Uuid>,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

pub async fn stamp(
    conn: &mut AsyncPgConnection,
    provider: &str,
) -> Result<Option<Stamp>, WorkflowError> {
    Ok(diesel::OptionalExtension::optional(
        sql::query("SELECT updated_by, updated_at FROM sync_settings WHERE provider = $1")
            .bind(Bind::Text(provider.to_owned()))
            .get_result(conn)
            .await,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_formats_warn_by_default_and_settings_override() {
        let p = Policy::default();
        assert_eq!(p.severity("bad_phone"), Severity::Warning);
        assert_eq!(p.severity("bad_currency"), Severity::Error);
        assert_eq!(p.severity("required"), Severity::Error, "not configurable");
        let s = SyncSettings {
            severity: [("bad_phone".to_owned(), Severity::Error)].into(),
            ..Default::default()
        };
        assert_eq!(Policy::new(&s, None).severity("bad_phone"), Severity::Error);
    }

    #[test]
    fn the_default_country_is_the_providers_then_the_installations() {
        assert_eq!(
            Policy::new(&SyncSettings::default(), Some("be"))
                .default_country
                .as_deref(),
            Some("BE")
        );
        let s = SyncSettings {
            default_country: Some("US".into()),
            ..Default::default()
        };
        assert_eq!(
            Policy::new(&s, Some("BE")).default_country.as_deref(),
            Some("US")
        );
        assert_eq!(
            Policy::new(&SyncSettings::default(), Some("ZZ")).default_country,
            None
        );
    }

    #[test]
    fn stages_map_by_name_whatever_the_case_and_the_table_can_be_extended() {
        let p = Policy::default();
        assert_eq!(p.lead_status(" Proposition "), Some("proposal"));
        assert_eq!(p.lead_status("GAGNÉ"), Some("won"));
        assert_eq!(p.lead_status("Demo scheduled"), None);
        let s = SyncSettings {
            lead_stages: [("Demo Scheduled".to_owned(), "negotiation".to_owned())].into(),
            ..Default::default()
        };
        assert_eq!(
            Policy::new(&s, None).lead_status("demo scheduled"),
            Some("negotiation")
        );
    }

    #[test]
    fn bad_settings_are_refused_field_by_field() {
        let s = SyncSettings {
            default_country: Some("France".into()),
            severity: [("required".to_owned(), Severity::Warning)].into(),
            lead_stages: [("Demo".to_owned(), "maybe".to_owned())].into(),
        };
        let Err(WorkflowError::Validation(errors)) = s.check() else {
            panic!("refused");
        };
        let fields: Vec<&str> = errors.0.keys().map(String::as_str).collect();
        assert_eq!(
            fields,
            vec!["default_country", "lead_stages.Demo", "severity.required"]
        );
    }
}

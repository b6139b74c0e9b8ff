//! Every provider this build knows, per kind: its typed configuration (whose JSON
//! Schema, generated from the Rust type, is what a client draws the form from and what
//! input is checked against), the secret fields it needs, and how to build it.
//!
//! A new provider goes here: a settings type deriving `JsonSchema`, an entry in
//! [`KNOWN`], a constructor in `platform::build`.

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::FieldErrors;

use super::{
    ldap::LdapSettings, odoo::OdooSettings, oidc::OidcSettings, pennylane::PennylaneSettings,
    pipedrive::PipedriveSettings,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    Auth,
    Crm,
    Billing,
    Erp,
    /// The LLM engine of field mapping (BYOK).
    Llm,
}

impl ProviderKind {
    pub const ALL: [ProviderKind; 5] = [
        ProviderKind::Auth,
        ProviderKind::Crm,
        ProviderKind::Billing,
        ProviderKind::Erp,
        ProviderKind::Llm,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Auth => "auth",
            ProviderKind::Crm => "crm",
            ProviderKind::Billing => "billing",
            ProviderKind::Erp => "erp",
            ProviderKind::Llm => "llm",
        }
    }
    pub fn parse(s: &str) -> Option<ProviderKind> {
        ProviderKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A credential field: write-only, stored sealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SecretField {
    pub name: &'static str,
    pub label: &'static str,
    pub required: bool,
    /// Written by Tentabo itself (OAuth tokens, generated webhook credentials), never
    /// by an admin: refused in a configuration, listed as set or not like the others.
    pub internal: bool,
}

/// A provider the build knows.
pub struct ProviderSpec {
    pub kind: ProviderKind,
    pub name: &'static str,
    pub label: &'static str,
    pub description: &'static str,
    pub secrets: &'static [SecretField],
    schema: fn() -> Value,
    check: fn(&Value) -> Result<Value, FieldErrors>,
}

impl std::fmt::Debug for ProviderSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.kind.as_str(), self.name)
    }
}

impl ProviderSpec {
    /// The configuration's JSON Schema (draft 2020-12).
    pub fn schema(&self) -> Value {
        (self.schema)()
    }

    /// Checks a configuration; answers it with defaults filled in, or the field errors
    /// (keys `configuration.<field>`).
    pub fn check(&self, configuration: &Value) -> Result<Value, FieldErrors> {
        (self.check)(configuration)
    }

    pub fn secret(&self, name: &str) -> Option<&SecretField> {
        self.secrets.iter().find(|s| s.name == name)
    }
}

/// A provider's non-secret settings.
pub trait Settings: Serialize + DeserializeOwned + JsonSchema {
    /// Checks beyond what the schema says (cross-field rules).
    fn validate(&self, _errors: &mut FieldErrors) {}
}

/// The recording stand-in has nothing to configure.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoSettings {}

impl Settings for NoSettings {}

pub const RECORDING: &str = super::recording::NAME;
pub const PENNYLANE: &str = "pennylane";
pub const ODOO: &str = "odoo";
pub const PIPEDRIVE: &str = "pipedrive";
pub const LDAP: &str = super::ldap::NAME;
pub const OIDC: &str = super::oidc::NAME;
pub const LLM: &str = super::llm::NAME;

pub static KNOWN: &[ProviderSpec] = &[
    ProviderSpec {
        kind: ProviderKind::Auth,
        name: LDAP,
        label: "LDAP directory",
        description: "Directory login (OpenLDAP, Oxiadmin, Active Directory): users searched and bound, groups mapped to roles, nightly sync.",
        secrets: &[SecretField {
            name: "bind_password",
            label: "Service account password",
            required: true,
            internal: false,
        }],
        schema: schema_of::<LdapSettings>,
        check: check_as::<LdapSettings>,
    },
    ProviderSpec {
        kind: ProviderKind::Auth,
        name: OIDC,
        label: "OpenID Connect (Microsoft Entra ID, …)",
        description: "Single sign-on: authorization code with PKCE, ID tokens verified against the provider's keys, roles from a claim.",
        secrets: &[SecretField {
            name: "client_secret",
            label: "Client secret",
            required: true,
            internal: false,
        }],
        schema: schema_of::<OidcSettings>,
        check: check_as::<OidcSettings>,
    },
    ProviderSpec {
        kind: ProviderKind::Crm,
        name: PIPEDRIVE,
        label: "Pipedrive",
        description: "Leads and deals both ways, persons, organizations, activities, webhooks (API v1 and v2).",
        secrets: &[
            SecretField {
                name: "api_token",
                label: "API token (when authenticating with a token)",
                required: false,
                internal: false,
            },
            SecretField {
                name: "oauth_client_secret",
                label: "OAuth app client secret (when authenticating with OAuth)",
                required: false,
                internal: false,
            },
            SecretField {
                name: "oauth_tokens",
                label: "OAuth access and refresh tokens (set by connecting)",
                required: false,
                internal: true,
            },
            SecretField {
                name: "webhook_password",
                label: "Webhook HTTP Basic password (generated on activation)",
                required: false,
                internal: true,
            },
        ],
        schema: schema_of::<PipedriveSettings>,
        check: check_as::<PipedriveSettings>,
    },
    ProviderSpec {
        kind: ProviderKind::Crm,
        name: RECORDING,
        label: "Recording (tests and demos)",
        description: "Stores every call in Tentabo's own database and answers with a stable id.",
        secrets: &[],
        schema: schema_of::<NoSettings>,
        check: check_as::<NoSettings>,
    },
    ProviderSpec {
        kind: ProviderKind::Billing,
        name: RECORDING,
        label: "Recording (tests and demos)",
        description: "Stores every call in Tentabo's own database and answers with a stable id.",
        secrets: &[],
        schema: schema_of::<NoSettings>,
        check: check_as::<NoSettings>,
    },
    ProviderSpec {
        kind: ProviderKind::Billing,
        name: PENNYLANE,
        label: "Pennylane",
        description: "Customers, quotes on send, invoices on fulfilment (Company API v2).",
        secrets: &[SecretField {
            name: "api_key",
            label: "API token (Company API v2)",
            required: true,
            internal: false,
        }],
        schema: schema_of::<PennylaneSettings>,
        check: check_as::<PennylaneSettings>,
    },
    ProviderSpec {
        kind: ProviderKind::Erp,
        name: ODOO,
        label: "Odoo",
        description: "The ERP source of sync runs (external JSON-RPC, v16+).",
        secrets: &[SecretField {
            name: "password",
            label: "Password or API key",
            required: true,
            internal: false,
        }],
        schema: schema_of::<OdooSettings>,
        check: check_as::<OdooSettings>,
    },
    ProviderSpec {
        kind: ProviderKind::Llm,
        name: LLM,
        label: "OpenAI-compatible LLM (your own key)",
        description: "Field mapping proposals from a chat-completions model, combined with the rules engine; field descriptions only unless samples are allowed.",
        secrets: &[SecretField {
            name: "api_key",
            label: "API key",
            required: true,
            internal: false,
        }],
        schema: schema_of::<super::llm::LlmSettings>,
        check: check_as::<super::llm::LlmSettings>,
    },
];

pub fn find(kind: ProviderKind, name: &str) -> Option<&'static ProviderSpec> {
    KNOWN.iter().find(|s| s.kind == kind && s.name == name)
}

pub fn of_kind(kind: ProviderKind) -> impl Iterator<Item = &'static ProviderSpec> {
    KNOWN.iter().filter(move |s| s.kind == kind)
}

fn schema_of<T: Settings>() -> Value {
    schemars::schema_for!(T).to_value()
}

fn check_as<T: Settings>(configuration: &Value) -> Result<Value, FieldErrors> {
    let schema = schema_of::<T>();
    let mut errors = FieldErrors::default();
    check_object(
        &schema,
        &schema,
        configuration,
        "configuration",
        &mut errors,
    );
    if !errors.is_empty() {
        return Err(errors);
    }
    let typed: T = match serde_json::from_value(configuration.clone()) {
        Ok(t) => t,
        Err(_) => {
            errors.add("configuration", "invalid");
            return Err(errors);
        }
    };
    typed.validate(&mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    serde_json::to_value(&typed).map_err(|_| {
        let mut e = FieldErrors::default();
        e.add("configuration", "invalid");
        e
    })
}

/// Reads stored settings (checked when they were stored) as their type.
pub fn settings<T: Settings>(configuration: &Value) -> Result<T, crate::WorkflowError> {
    serde_json::from_value(configuration.clone()).map_err(|e| {
        crate::WorkflowError::Internal(format!("stored provider settings do not read: {e}"))
    })
}

/// Checks an object (its nested objects and lists too) against the subset of JSON Schema the settings types produce:
/// `type`, `required`, `additionalProperties: false`, `enum`, `minimum`/`maximum`,
/// `minLength`/`maxLength` and `format: uri` — every failing field, not just the first.
fn check_object(root: &Value, schema: &Value, value: &Value, at: &str, errors: &mut FieldErrors) {
    let Some(object) = value.as_object() else {
        errors.add(at, "invalid_type");
        return;
    };
    let empty = Map::new();
    let properties = schema
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    if schema.get("additionalProperties") == Some(&Value::Bool(false)) {
        for key in object.keys() {
            if !properties.contains_key(key) {
                errors.add(&format!("{at}.{key}"), "unknown_field");
            }
        }
    }
    for required in schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if object.get(required).is_none_or(Value::is_null) {
            errors.add(&format!("{at}.{required}"), "required");
        }
    }
    for (key, property) in properties {
        if let Some(v) = object.get(key) {
            check_value(root, property, v, &format!("{at}.{key}"), errors);
        }
    }
}

fn resolve<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => r
            .strip_prefix('#')
            .and_then(|p| root.pointer(p))
            .unwrap_or(schema),
        None => schema,
    }
}

fn check_value(root: &Value, schema: &Value, v: &Value, at: &str, errors: &mut FieldErrors) {
    let schema = resolve(root, schema);
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if v.is_null() {
        if !types.is_empty() && !types.contains(&"null") {
            errors.add(at, "required");
        }
        return;
    }
    let type_ok = types.is_empty()
        || types.iter().any(|t| match *t {
            "string" => v.is_string(),
            "boolean" => v.is_boolean(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            "object" => v.is_object(),
            "array" => v.is_array(),
            _ => false,
        });
    if !type_ok {
        errors.add(at, "invalid_type");
        return;
    }
    if let Some(choices) = schema.get("enum").and_then(Value::as_array)
        && !choices.contains(v)
    {
        errors.add(at, "invalid_choice");
    }
    if let Some(n) = v.as_f64() {
        let below = schema
            .get("minimum")
            .and_then(Value::as_f64)
            .is_some_and(|m| n < m);
        let above = schema
            .get("maximum")
            .and_then(Value::as_f64)
            .is_some_and(|m| n > m);
        if below || above {
            errors.add(at, "out_of_range");
        }
    }
    if let Some(s) = v.as_str() {
        let len = s.chars().count() as u64;
        if schema
            .get("minLength")
            .and_then(Value::as_u64)
            .is_some_and(|m| len < m)
        {
            errors.add(at, "too_short");
        }
        if schema
            .get("maxLength")
            .and_then(Value::as_u64)
            .is_some_and(|m| len > m)
        {
            errors.add(at, "too_long");
        }
        if schema.get("format").and_then(Value::as_str) == Some("uri") && !is_http_url(s) {
            errors.add(at, "invalid_url");
        }
    }
    if v.is_object() && schema.get("properties").is_some() {
        check_object(root, schema, v, at, errors);
    }
    // Each item of a list, in place (`configuration.group_mappings.0.role`).
    if let (Some(items), Some(schema)) = (v.as_array(), schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            check_value(root, schema, item, &format!("{at}.{i}"), errors);
        }
    }
}

/// An absolute `http` or `https` URL with a host.
pub fn is_http_url(s: &str) -> bool {
    reqwest::Url::parse(s)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn codes(e: &FieldErrors) -> Vec<(String, Vec<&'static str>)> {
        e.0.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    #[test]
    fn list_items_are_checked_in_place() {
        let spec = find(ProviderKind::Auth, LDAP).unwrap();
        let errors = spec
            .check(&json!({
                "url": "ldap://127.0.0.1:389", "bind_dn": "cn=svc", "user_base_dn": "ou=people",
                "group_mappings": [
                    { "group": "admins", "role": "admin" },
                    { "group": "sales", "role": "emperor" },
                    { "group": "other" },
                    "not an object",
                ],
            }))
            .unwrap_err();
        let codes = codes(&errors);
        assert!(
            codes.contains(&(
                "configuration.group_mappings.1.role".into(),
                vec!["invalid_choice"]
            )),
            "{codes:?}"
        );
        assert!(
            codes.contains(&(
                "configuration.group_mappings.2.role".into(),
                vec!["required"]
            )),
            "{codes:?}"
        );
        assert!(
            codes.contains(&(
                "configuration.group_mappings.3".into(),
                vec!["invalid_type"]
            )),
            "{codes:?}"
        );
        assert!(
            !codes
                .iter()
                .any(|(k, _)| k.starts_with("configuration.group_mappings.0")),
            "{codes:?}"
        );
    }

    #[test]
    fn every_known_provider_has_a_schema_its_defaults_pass() {
        for spec in KNOWN {
            let schema = spec.schema();
            assert_eq!(schema["type"], "object", "{spec:?}");
            let required = schema["required"].as_array().map_or(0, Vec::len);
            if required == 0 {
                spec.check(&json!({}))
                    .unwrap_or_else(|e| panic!("{spec:?}: {e:?}"));
            }
        }
    }

    #[test]
    fn pennylane_settings_are_checked_field_by_field() {
        let spec = find(ProviderKind::Billing, PENNYLANE).expect("known");
        let errors = spec
            .check(&json!({
                "base_url": "ftp://nowhere",
                "timeout_seconds": 0,
                "default_vat_rate": "FR_999",
                "finalize_invoices": "yes",
                "colour": "blue",
            }))
            .expect_err("refused");
        assert_eq!(
            codes(&errors),
            vec![
                ("configuration.base_url".into(), vec!["invalid_url"]),
                ("configuration.colour".into(), vec!["unknown_field"]),
                (
                    "configuration.default_vat_rate".into(),
                    vec!["invalid_choice"]
                ),
                (
                    "configuration.finalize_invoices".into(),
                    vec!["invalid_type"]
                ),
                ("configuration.timeout_seconds".into(), vec!["out_of_range"]),
            ]
        );
        let ok = spec
            .check(&json!({ "base_url": "http://127.0.0.1:9/api/external/v2" }))
            .expect("defaults fill the rest");
        assert_eq!(ok["default_vat_rate"], "FR_200");
        assert!(ok["timeout_seconds"].as_u64().is_some());
    }

    #[test]
    fn a_configuration_must_be_an_object() {
        let spec = find(ProviderKind::Billing, RECORDING).expect("known");
        assert_eq!(
            codes(&spec.check(&json!([1])).expect_err("refused")),
            vec![("configuration".into(), vec!["invalid_type"])]
        );
    }

    #[test]
    fn odoo_requires_its_address_database_and_login() {
        let spec = find(ProviderKind::Erp, ODOO).expect("known");
        let errors = spec.check(&json!({})).expect_err("refused");
        assert_eq!(
            codes(&errors),
            vec![
                ("configuration.database".into(), vec!["required"]),
                ("configuration.login".into(), vec!["required"]),
                ("configuration.url".into(), vec!["required"]),
            ]
        );
    }
}

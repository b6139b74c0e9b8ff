//! Source fields as the engines read them: a provider's live field list turned into
//! [`SourceField`]s, and sample values from the raw zone.

use std::collections::BTreeMap;

use diesel::sql_types::Text;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;

use super::engine::SourceField;
use crate::WorkflowError;
use crate::sql::{self, Bind};

/// Samples kept per field, and raw records read for them.
pub const SAMPLES: usize = 5;
const SAMPLE_RECORDS: i64 = 200;

/// A field of a provider's live field list.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LiveField {
    #[serde(flatten)]
    pub field: SourceField,
    /// The model a relational field points to.
    pub relation: Option<String>,
    pub required: bool,
    /// Whether an auto-map considers it (stored, not a list of other records, not the
    /// messaging and activity machinery every Odoo model carries).
    pub mappable: bool,
}

/// Odoo's `fields_get` answer (name → `string`, `type`, `help`, `selection`,
/// `relation`, `required`, `store`) as a list, by name.
pub fn from_odoo(fields_get: &Value) -> Vec<LiveField> {
    let Some(map) = fields_get.as_object() else {
        return Vec::new();
    };
    let text = |v: &Value| match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    };
    let mut out: Vec<LiveField> = map
        .iter()
        .map(|(name, d)| {
            let kind = text(&d["type"]);
            let selection = d["selection"]
                .as_array()
                .map(|options| {
                    options
                        .iter()
                        .filter_map(|o| o.get(0).and_then(Value::as_str).map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            let mappable = !matches!(
                kind.as_deref(),
                Some("one2many" | "many2many" | "binary" | "properties" | "properties_definition")
            ) && d["store"] != Value::Bool(false)
                && name != "id"
                && ![
                    "message_",
                    "activity_",
                    "website_message",
                    "__",
                    "has_message",
                    "rating_",
                ]
                .iter()
                .any(|p| name.starts_with(p));
            LiveField {
                field: SourceField {
                    name: name.clone(),
                    label: text(&d["string"]),
                    kind,
                    help: text(&d["help"]),
                    selection,
                    samples: Vec::new(),
                },
                relation: text(&d["relation"]),
                required: d["required"] == Value::Bool(true),
                mappable,
            }
        })
        .collect();
    out.sort_by(|a, b| a.field.name.cmp(&b.field.name));
    out
}

/// Fills each field's samples with up to [`SAMPLES`] distinct non-empty values from the
/// last raw records of `provider`'s `object` (an Odoo many2one gives its display name;
/// `false` is Odoo's empty and skipped).
pub async fn add_samples(
    conn: &mut AsyncPgConnection,
    provider: &str,
    object: &str,
    fields: &mut [SourceField],
) -> Result<(), WorkflowError> {
    #[derive(diesel::QueryableByName)]
    struct Body {
        #[diesel(sql_type = Text)]
        body: String,
    }
    let rows: Vec<Body> = sql::query(
        "SELECT body::text AS body FROM raw_records WHERE provider = $1 AND entity = $2 \
         ORDER BY id DESC LIMIT $3",
    )
    .bind(Bind::Text(provider.to_owned()))
    .bind(Bind::Text(object.to_owned()))
    .bind(Bind::BigInt(SAMPLE_RECORDS))
    .load(conn)
    .await?;
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let records: Vec<serde_json::Map<String, Value>> = rows
        .iter()
        .filter_map(|r| serde_json::from_str(&r.body).ok())
        .collect();
    for field in fields.iter() {
        let values = found.entry(field.name.clone()).or_default();
        for record in &records {
            if values.len() >= SAMPLES {
                break;
            }
            let v = match record.get(&field.name) {
                None | Some(Value::Null) | Some(Value::Bool(false)) => continue,
                Some(Value::String(s)) if s.trim().is_empty() => continue,
                Some(Value::String(s)) => s.chars().take(200).collect(),
                Some(Value::Array(pair)) => match pair.get(1) {
                    Some(Value::String(name)) => name.chars().take(200).collect(),
                    _ => continue,
                },
                Some(other) => other.to_string(),
            };
            if !values.contains(&v) {
                values.push(v);
            }
        }
    }
    for field in fields.iter_mut() {
        if let Some(values) = found.remove(field.name.as_str()) {
            field.samples = values;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn odoo_fields_become_source_fields_and_machinery_is_not_mappable() {
        let fields = from_odoo(&json!({
            "vat": { "string": "Tax ID", "type": "char", "help": "The Tax Identification Number." },
            "x_studio_segment": { "string": "Segment", "type": "selection",
                                  "selection": [["smb", "SMB"], ["ent", "Enterprise"]] },
            "parent_id": { "string": "Related Company", "type": "many2one", "relation": "res.partner" },
            "message_ids": { "string": "Messages", "type": "one2many", "relation": "mail.message" },
            "display_name": { "string": "Display Name", "type": "char", "store": false },
            "name": { "string": "Name", "type": "char", "required": true, "help": false },
        }));
        let names: Vec<&str> = fields.iter().map(|f| f.field.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "display_name",
                "message_ids",
                "name",
                "parent_id",
                "vat",
                "x_studio_segment"
            ]
        );
        let by = |n: &str| fields.iter().find(|f| f.field.name == n).unwrap();
        assert_eq!(by("x_studio_segment").field.selection, ["smb", "ent"]);
        assert_eq!(by("parent_id").relation.as_deref(), Some("res.partner"));
        assert!(by("name").required && by("name").field.help.is_none());
        assert!(!by("message_ids").mappable && !by("display_name").mappable);
        assert!(by("vat").mappable);
        assert!(from_odoo(&json!([1, 2])).is_empty());
    }
}

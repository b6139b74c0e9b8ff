//! Pipedrive's objects as Tentabo reads them. Every field is optional or defaulted:
//! a real installation answers `null`, omits fields, and (v1) writes `false` for an
//! empty relation, so nothing here refuses an answer a real server gives.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// An id that may be a number, `null` or `false` (v1's "none").
fn loose_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        // v1 embeds related objects: `{ "value": 12, "name": … }`.
        Value::Object(o) => o
            .get("value")
            .or_else(|| o.get("id"))
            .and_then(Value::as_i64),
        _ => None,
    })
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Deal {
    pub id: i64,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub value: Option<Value>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default, deserialize_with = "loose_id")]
    pub stage_id: Option<i64>,
    #[serde(default, deserialize_with = "loose_id")]
    pub pipeline_id: Option<i64>,
    #[serde(default, deserialize_with = "loose_id")]
    pub person_id: Option<i64>,
    #[serde(default, deserialize_with = "loose_id")]
    pub org_id: Option<i64>,
    #[serde(default, deserialize_with = "loose_id")]
    pub owner_id: Option<i64>,
    /// open | won | lost | deleted
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub lost_reason: Option<String>,
    #[serde(default)]
    pub expected_close_date: Option<String>,
    #[serde(default)]
    pub update_time: Option<String>,
    #[serde(default)]
    pub add_time: Option<String>,
    #[serde(default)]
    pub is_deleted: Option<bool>,
    #[serde(default)]
    pub is_archived: Option<bool>,
    #[serde(default)]
    pub custom_fields: Option<Value>,
}

impl Deal {
    /// The value of custom field `key` (v2 nests custom fields; v1 puts them on top).
    pub fn custom(&self, key: &str) -> Option<&str> {
        self.custom_fields
            .as_ref()
            .and_then(|c| c.get(key))
            .and_then(|v| {
                v.as_str()
                    .or_else(|| v.get("value").and_then(Value::as_str))
            })
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Lead {
    pub id: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub value: Option<LeadValue>,
    #[serde(default, deserialize_with = "loose_id")]
    pub person_id: Option<i64>,
    #[serde(default, deserialize_with = "loose_id")]
    pub organization_id: Option<i64>,
    #[serde(default, deserialize_with = "loose_id")]
    pub owner_id: Option<i64>,
    #[serde(default)]
    pub expected_close_date: Option<String>,
    #[serde(default)]
    pub is_archived: Option<bool>,
    #[serde(default)]
    pub update_time: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct LeadValue {
    pub amount: Value,
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Person {
    pub id: i64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub update_time: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Organization {
    pub id: i64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub update_time: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Stage {
    pub id: i64,
    pub name: String,
    #[serde(default, deserialize_with = "loose_id")]
    pub pipeline_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Activity {
    pub id: i64,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub due_date: Option<String>,
    #[serde(default)]
    pub due_time: Option<String>,
    #[serde(default)]
    pub done: Option<bool>,
    #[serde(default, deserialize_with = "loose_id")]
    pub owner_id: Option<i64>,
    #[serde(default, deserialize_with = "loose_id")]
    pub deal_id: Option<i64>,
    #[serde(default)]
    pub lead_id: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub update_time: Option<String>,
    #[serde(default)]
    pub is_deleted: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_v1_shaped_answer_with_false_and_embedded_ids_reads() {
        let d: Deal = serde_json::from_value(json!({
            "id": 7, "title": "Rénovation", "value": 1500.5, "person_id": false,
            "org_id": { "value": 12, "name": "ACME" }, "stage_id": "3", "status": "open",
            "expected_close_date": null, "custom_fields": { "abc": "tentabo-lead-x" }
        }))
        .unwrap();
        assert_eq!(d.person_id, None);
        assert_eq!(d.org_id, Some(12));
        assert_eq!(d.stage_id, Some(3));
        assert_eq!(d.custom("abc"), Some("tentabo-lead-x"));
        assert_eq!(d.custom("zzz"), None);
    }
}

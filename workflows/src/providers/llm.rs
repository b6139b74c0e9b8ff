//! The LLM mapping engine's provider (kind `llm`, BYOK): any OpenAI-compatible
//! chat-completions endpoint (`POST {base_url}/chat/completions`), called through the
//! outbound layer with the admin's key. The request asks for structured output (a JSON
//! schema whose target enum is the entity's canonical fields); only field descriptions
//! are sent unless the admin allows sample values. The answer is checked field by
//! field: the mapping layer falls back to the deterministic engine for whatever is
//! missing, malformed or out of the vocabulary.

use std::time::Duration;

use reqwest::Method;
use schemars::JsonSchema;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::registry::Settings;
use crate::error::FieldErrors;
use crate::mapping::engine::SourceField;
use crate::outbound::breaker::BreakerSettings;
use crate::outbound::{Endpoint, Outbound, Request};
use crate::retry::RetryPolicy;

pub const NAME: &str = "openai";

/// The endpoint's settings (the API key is a credential, stored apart).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LlmSettings {
    /// The API's base URL, up to the version (`https://api.openai.com/v1`, an Azure
    /// OpenAI or a self-hosted compatible server's).
    #[schemars(url)]
    pub base_url: String,
    /// The model asked (`gpt-4o-mini`, …).
    #[schemars(length(min = 1, max = 200))]
    pub model: String,
    /// Seconds before a call is abandoned (the deterministic engine answers then).
    #[serde(default = "twenty")]
    #[schemars(range(min = 1, max = 120))]
    pub timeout_seconds: u32,
    /// Whether sample values from the raw zone are sent with the field descriptions
    /// (off: names, labels, types, help texts and selections only).
    #[serde(default)]
    pub send_samples: bool,
    /// Fields per call (larger objects take several calls).
    #[serde(default = "hundred")]
    #[schemars(range(min = 1, max = 500))]
    pub fields_per_call: u32,
}

fn twenty() -> u32 {
    20
}
fn hundred() -> u32 {
    100
}

impl Settings for LlmSettings {
    fn validate(&self, errors: &mut FieldErrors) {
        if self.model.trim().is_empty() {
            errors.add("configuration.model", "required");
        }
    }
}

/// Why the LLM engine gave no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LlmError {
    /// Timed out, refused the connection, answered 5xx or 429 until we gave up.
    #[error("the LLM endpoint is unavailable: {0}")]
    Unavailable(String),
    /// 401/403: the key is wrong or lacks the model.
    #[error("the LLM endpoint refused the key ({0})")]
    Unauthorized(u16),
    /// Another 4xx.
    #[error("the LLM endpoint refused the request: {0}")]
    Refused(String),
    /// Not the structured answer asked for.
    #[error("the LLM answer was malformed: {0}")]
    Malformed(String),
}

/// What the LLM proposed for one field (unchecked: the caller checks it).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LlmProposal {
    pub source_field: String,
    pub target_field: Option<String>,
    pub confidence: f64,
    #[serde(default)]
    pub reason: String,
}

/// A client of one configured endpoint.
#[derive(Clone)]
pub struct LlmClient {
    outbound: Outbound,
    settings: LlmSettings,
    key: SecretString,
    endpoint: Endpoint,
}

impl std::fmt::Debug for LlmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "LlmClient({} {})",
            self.settings.base_url, self.settings.model
        )
    }
}

impl LlmClient {
    pub fn new(
        outbound: Outbound,
        settings: LlmSettings,
        key: SecretString,
        retry: RetryPolicy,
    ) -> LlmClient {
        let endpoint = Endpoint {
            provider: format!("llm/{NAME}"),
            base_url: settings.base_url.clone(),
            timeout: Duration::from_secs(u64::from(settings.timeout_seconds)),
            retry,
            // One attempt: a slow model is not asked twice; the rules engine answers.
            max_attempts: 1,
            rate: None,
            pacing: None,
            breaker: BreakerSettings {
                threshold: 5,
                cool_down: Duration::from_secs(60),
            },
        };
        LlmClient {
            outbound,
            settings,
            key,
            endpoint,
        }
    }

    pub fn settings(&self) -> &LlmSettings {
        &self.settings
    }

    /// A live check: the endpoint lists its models with this key.
    pub async fn check(&self) -> Result<(), LlmError> {
        let req = Request::get("/models").bearer(&self.key);
        let res = self
            .outbound
            .send(&self.endpoint, &req)
            .await
            .map_err(|e| LlmError::Unavailable(e.to_string()))?;
        match res.status {
            200..=299 => Ok(()),
            s @ (401 | 403) => Err(LlmError::Unauthorized(s)),
            _ => Err(LlmError::Refused(res.snippet(200))),
        }
    }

    /// Asks the model to map `fields` onto `targets` (the entity's canonical fields
    /// with their kinds), in calls of at most `fields_per_call` fields. A call that
    /// fails fails the whole answer: the caller falls back for every field.
    pub async fn propose(
        &self,
        entity: &str,
        fields: &[SourceField],
        targets: &[(&str, &str)],
    ) -> Result<Vec<LlmProposal>, LlmError> {
        let mut out = Vec::with_capacity(fields.len());
        for chunk in fields.chunks(self.settings.fields_per_call.max(1) as usize) {
            out.extend(self.call(entity, chunk, targets).await?);
        }
        Ok(out)
    }

    async fn call(
        &self,
        entity: &str,
        fields: &[SourceField],
        targets: &[(&str, &str)],
    ) -> Result<Vec<LlmProposal>, LlmError> {
        let described: Vec<Value> = fields
            .iter()
            .map(|f| {
                let mut d =
                    json!({ "name": f.name, "label": f.label, "type": f.kind, "help": f.help });
                if !f.selection.is_empty() {
                    d["selection"] = json!(f.selection);
                }
                if self.settings.send_samples && !f.samples.is_empty() {
                    d["samples"] = json!(f.samples);
                }
                d
            })
            .collect();
        let names: Vec<&str> = targets.iter().map(|(n, _)| *n).collect();
        let mut target_enum: Vec<Value> = names.iter().map(|n| json!(n)).collect();
        target_enum.push(Value::Null);
        let schema = json!({
            "type": "object",
            "properties": {
                "mappings": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "source_field": { "type": "string" },
                            "target_field": { "type": ["string", "null"], "enum": target_enum },
                            "confidence": { "type": "number", "minimum": 0, "maximum": 1 },
                            "reason": { "type": "string" }
                        },
                        "required": ["source_field", "target_field", "confidence", "reason"],
                        "additionalProperties": false
                    }
                }
            },
            "required": ["mappings"],
            "additionalProperties": false
        });
        let system = "You map the fields of a business application's object onto a canonical \
            data model. For every source field, choose the one canonical field it fills, or null \
            when none fits. Two source fields never take the same canonical field. Give a \
            confidence between 0 and 1 and a one-sentence reason a person can check. Answer \
            with the JSON object the schema describes, nothing else.";
        let user = json!({
            "entity": entity,
            "canonical_fields": targets.iter().map(|(n, k)| json!({ "name": n, "kind": k })).collect::<Vec<_>>(),
            "source_fields": described,
        });
        let body = json!({
            "model": self.settings.model,
            "temperature": 0,
            "messages": [
                { "role": "system", "content": system },
                { "role": "user", "content": user.to_string() }
            ],
            "response_format": {
                "type": "json_schema",
                "json_schema": { "name": "field_mapping", "strict": true, "schema": schema }
            }
        });
        let req = Request::new(Method::POST, "/chat/completions", "/chat/completions")
            .json(body)
            .bearer(&self.key);
        let res = self
            .outbound
            .send(&self.endpoint, &req)
            .await
            .map_err(|e| LlmError::Unavailable(e.to_string()))?;
        match res.status {
            200..=299 => {}
            s @ (401 | 403) => return Err(LlmError::Unauthorized(s)),
            _ => return Err(LlmError::Refused(res.snippet(200))),
        }
        parse_answer(&res.body)
    }
}

/// The structured answer inside a chat completion.
pub fn parse_answer(body: &[u8]) -> Result<Vec<LlmProposal>, LlmError> {
    #[derive(Deserialize)]
    struct Completion {
        choices: Vec<Choice>,
    }
    #[derive(Deserialize)]
    struct Choice {
        message: Message,
        #[serde(default)]
        finish_reason: Option<String>,
    }
    #[derive(Deserialize)]
    struct Message {
        content: Option<String>,
        #[serde(default)]
        refusal: Option<String>,
    }
    #[derive(Deserialize)]
    struct Answer {
        mappings: Vec<Value>,
    }
    let completion: Completion = serde_json::from_slice(body)
        .map_err(|e| LlmError::Malformed(format!("not a chat completion: {e}")))?;
    let choice = completion
        .choices
        .into_iter()
        .next()
        .ok_or_else(|| LlmError::Malformed("no choice".into()))?;
    if let Some(r) = choice.message.refusal {
        return Err(LlmError::Malformed(format!("the model refused: {r}")));
    }
    if choice.finish_reason.as_deref() == Some("length") {
        return Err(LlmError::Malformed("the answer was cut (length)".into()));
    }
    let content = choice
        .message
        .content
        .ok_or_else(|| LlmError::Malformed("no content".into()))?;
    let answer: Answer = serde_json::from_str(content.trim())
        .map_err(|e| LlmError::Malformed(format!("content is not the JSON asked for: {e}")))?;
    // Items of the wrong shape are dropped one by one (their fields fall back).
    Ok(answer
        .mappings
        .into_iter()
        .filter_map(|m| serde_json::from_value::<LlmProposal>(m).ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn completion(content: &str) -> Vec<u8> {
        json!({ "id": "x", "object": "chat.completion", "choices": [
            { "index": 0, "message": { "role": "assistant", "content": content }, "finish_reason": "stop" }
        ] })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn answers_are_read_and_every_defect_is_named() {
        let good = completion(
            r#"{"mappings": [{"source_field": "x_hq", "target_field": "city", "confidence": 0.8, "reason": "head office town"},
                             {"source_field": "x_bad", "target_field": 3}]}"#,
        );
        let p = parse_answer(&good).unwrap();
        assert_eq!(p.len(), 1, "the item of the wrong shape is dropped");
        assert_eq!(p[0].target_field.as_deref(), Some("city"));
        for (body, what) in [
            (completion("not json {"), "not the JSON"),
            (completion(r#"{"other": []}"#), "not the JSON"),
            (b"<html>".to_vec(), "not a chat completion"),
            (json!({ "choices": [] }).to_string().into_bytes(), "no choice"),
            (
                json!({ "choices": [{ "message": { "content": null, "refusal": "no" } }] })
                    .to_string()
                    .into_bytes(),
                "refused",
            ),
            (
                json!({ "choices": [{ "message": { "content": "{" }, "finish_reason": "length" }] })
                    .to_string()
                    .into_bytes(),
                "cut",
            ),
        ] {
            let e = parse_answer(&body).unwrap_err();
            assert!(e.to_string().contains(what), "{what}: {e}");
        }
    }
}

//! A test peer speaking OpenAI's chat-completions API on 127.0.0.1:0 (under `/v1`):
//! `GET /v1/models` and `POST /v1/chat/completions`, both behind a bearer key (a wrong
//! one gets OpenAI's 401 `invalid_api_key` body). A completion answers the
//! `response_format` JSON schema it was sent, from a table of answers the test sets;
//! it can also answer malformed content, stall past the client's timeout, or fail with
//! a 500. Every completion request is kept for the test to read.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub const KEY: &str = "sk-test-tentabo-0123456789";
pub const MODEL: &str = "tentabo-test-model";

#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    /// Answers from the table (fields not in it: `null`, confidence 0.2).
    Answer,
    /// Content that is not the JSON asked for.
    Malformed,
    /// Waits this long, then answers.
    Stall(Duration),
    ServerError,
}

pub struct Peer {
    pub mode: Mutex<Mode>,
    /// Source field → (target, confidence).
    pub answers: Mutex<HashMap<String, (Option<String>, f64)>>,
    /// The JSON bodies of the completion requests received.
    pub requests: Mutex<Vec<Value>>,
}

pub struct LlmPeer {
    pub addr: SocketAddr,
    pub state: Arc<Peer>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for LlmPeer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl LlmPeer {
    pub async fn start() -> LlmPeer {
        let state = Arc::new(Peer {
            mode: Mutex::new(Mode::Answer),
            answers: Mutex::new(HashMap::new()),
            requests: Mutex::new(Vec::new()),
        });
        let app = axum::Router::new()
            .route("/v1/models", axum::routing::get(models))
            .route("/v1/chat/completions", axum::routing::post(completions))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        LlmPeer { addr, state, task }
    }

    /// The base URL a client is configured with.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.state.mode.lock().unwrap() = mode;
    }

    pub fn answer(&self, field: &str, target: Option<&str>, confidence: f64) {
        self.state
            .answers
            .lock()
            .unwrap()
            .insert(field.to_owned(), (target.map(str::to_owned), confidence));
    }

    pub fn requests(&self) -> Vec<Value> {
        self.state.requests.lock().unwrap().clone()
    }
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        axum::Json(json!({ "error": {
            "message": "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.",
            "type": "invalid_request_error", "param": null, "code": "invalid_api_key" } })),
    )
        .into_response()
}

fn authorized(headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {KEY}"))
}

async fn models(headers: HeaderMap) -> Response {
    if !authorized(&headers) {
        return unauthorized();
    }
    axum::Json(json!({ "object": "list", "data": [
        { "id": MODEL, "object": "model", "created": 1_700_000_000, "owned_by": "tentabo-tests" }
    ] }))
    .into_response()
}

async fn completions(State(peer): State<Arc<Peer>>, headers: HeaderMap, body: String) -> Response {
    if !authorized(&headers) {
        return unauthorized();
    }
    let Ok(request) = serde_json::from_str::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "not JSON").into_response();
    };
    peer.requests.lock().unwrap().push(request.clone());
    // What an OpenAI-compatible server checks: a model, messages, the schema asked for.
    let schema = &request["response_format"]["json_schema"]["schema"];
    if request["model"].as_str().is_none_or(str::is_empty)
        || !request["messages"].is_array()
        || schema.is_null()
    {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({ "error": { "message": "invalid request", "type": "invalid_request_error" } })),
        )
            .into_response();
    }
    let mode = peer.mode.lock().unwrap().clone();
    let content = match mode {
        Mode::ServerError => {
            return (StatusCode::INTERNAL_SERVER_ERROR, "The server had an error").into_response();
        }
        Mode::Malformed => "Sure! Here is the mapping you asked for: {mappings: [".to_owned(),
        Mode::Stall(d) => {
            tokio::time::sleep(d).await;
            answer(&peer, &request)
        }
        Mode::Answer => answer(&peer, &request),
    };
    axum::Json(json!({
        "id": "chatcmpl-test", "object": "chat.completion", "created": 1_700_000_000, "model": request["model"],
        "choices": [{ "index": 0, "message": { "role": "assistant", "content": content, "refusal": null },
                      "logprobs": null, "finish_reason": "stop" }],
        "usage": { "prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150 }
    }))
    .into_response()
}

/// The structured answer for the fields the request describes.
fn answer(peer: &Peer, request: &Value) -> String {
    let user: Value = request["messages"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["role"] == "user"))
        .and_then(|m| m["content"].as_str())
        .and_then(|c| serde_json::from_str(c).ok())
        .unwrap_or_default();
    let answers = peer.answers.lock().unwrap();
    let mappings: Vec<Value> = user["source_fields"]
        .as_array()
        .map(|fields| {
            fields
                .iter()
                .filter_map(|f| f["name"].as_str())
                .map(|name| {
                    let (target, confidence) = answers.get(name).cloned().unwrap_or((None, 0.2));
                    json!({ "source_field": name, "target_field": target, "confidence": confidence,
                            "reason": format!("the model's reading of {name}") })
                })
                .collect()
        })
        .unwrap_or_default();
    json!({ "mappings": mappings }).to_string()
}

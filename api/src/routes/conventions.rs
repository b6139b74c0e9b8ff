//! What every operation of the OpenAPI document shares, added in one place after the
//! routes are collected: the security schemes, the error answers any operation can
//! give (so a client — or a fuzzer — finds every status in the document), and the
//! `Idempotency-Key` header of the transition operations.
//!
//! The answers added, each with the one error body:
//! - every operation: 503 (a dependency down, or the request time limit);
//! - with a bearer requirement: 401 (no, expired or revoked token) and 403 (a disabled
//!   account, or an action the role may not take);
//! - with parameters or a body: 422 (a value that does not parse or break a rule,
//!   control characters, a bad cursor);
//! - with a path parameter: 404;
//! - with a body: 400 (not JSON), 413 (over the size limit), 415 (not
//!   `application/json`).

use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Required, ResponseBuilder};

const ERRORS: &[(&str, &str)] = &[
    ("400", "The body is not valid JSON"),
    ("401", "Missing, invalid or expired credentials"),
    ("403", "Not allowed for this caller"),
    ("404", "No such resource in the caller's view"),
    ("413", "The body is over the size limit"),
    ("415", "The body is not application/json"),
    (
        "422",
        "A parameter or field does not parse or breaks a rule",
    ),
    (
        "503",
        "A dependency is unavailable, or the request ran out of time",
    ),
];

pub fn apply(doc: &mut OpenApi) {
    let components = doc.components.get_or_insert_with(Default::default);
    let bearer = || {
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .build(),
        )
    };
    components.add_security_scheme("bearer", bearer());
    // Pipedrive's webhook deliveries: the credentials Tentabo generated.
    components.add_security_scheme(
        "basic",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Basic).build()),
    );
    components.add_security_scheme(
        "metrics_token",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    for (path, item) in doc.paths.paths.iter_mut() {
        let has_path_params = path.contains('{');
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            conventions(path, op, has_path_params);
        }
    }
}

fn conventions(path: &str, op: &mut Operation, has_path_params: bool) {
    // utoipa-axum adds a bare parameter for each `{name}` of the path even when the
    // handler declares it (with its pattern) through `IntoParams`: keep the first.
    if let Some(params) = op.parameters.as_mut() {
        let mut seen: Vec<(String, ParameterIn)> = Vec::new();
        params.retain(|p| {
            let key = (p.name.clone(), p.parameter_in.clone());
            let first = !seen.contains(&key);
            seen.push(key);
            first
        });
    }
    let secured = op
        .security
        .as_ref()
        .and_then(|s| serde_json::to_value(s).ok())
        .is_some_and(|v| v.to_string().contains("\"bearer\""));
    let has_body = op.request_body.is_some();
    let has_params = has_path_params || op.parameters.as_ref().is_some_and(|p| !p.is_empty());
    if path.ends_with("/transitions") {
        op.parameters.get_or_insert_with(Vec::new).push(
            ParameterBuilder::new()
                .name("Idempotency-Key")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(
                    "Sending the same key with the same body again answers the first \
                     result instead of applying the event twice (visible ASCII).",
                ))
                .schema(Some(
                    utoipa::openapi::ObjectBuilder::new()
                        .schema_type(utoipa::openapi::schema::Type::String)
                        .pattern(Some("^[\\x21-\\x7E]{1,200}$"))
                        .build(),
                ))
                .build(),
        );
    }
    for (code, description) in ERRORS {
        let applies = match *code {
            "401" | "403" => secured,
            "404" => has_path_params,
            "422" => has_params || has_body,
            "400" | "413" | "415" => has_body,
            _ => true,
        };
        if applies {
            op.responses
                .responses
                .entry((*code).to_owned())
                .or_insert_with(|| error_response(description));
        }
    }
}

fn error_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build(),
    )
}

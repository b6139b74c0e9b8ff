//! `/api/v1/mappings`: field mapping proposals (SPEC §7). `POST /mappings/auto-map`
//! proposes canonical targets for any source described as fields, with the
//! deterministic engine (`workflows::mapping::engine`).

use axum::extract::State;
use serde::{Deserialize, Serialize};
use tentabo_workflows::WorkflowError;
use tentabo_workflows::authz::{Action, Object};
use tentabo_workflows::mapping::engine::{self, Learned, SourceField};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ErrorBody};
use crate::extract::{AuthUser, Json};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(auto_map))
}

/// A source field as the source describes it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldDescription {
    /// The field's technical name (unique in the request).
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
    #[schema(max_length = 500)]
    pub label: Option<String>,
    /// The source's type name (`char`, `many2one`, `monetary`, `date`, …).
    #[serde(rename = "type")]
    #[schema(max_length = 50)]
    pub kind: Option<String>,
    #[schema(max_length = 2000)]
    pub help: Option<String>,
    /// The values of a selection field.
    #[serde(default)]
    #[schema(max_items = 500)]
    pub selection: Vec<String>,
    /// A few values as the source holds them.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub samples: Vec<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AutoMapRequest {
    /// The canonical entity (SPEC §10) the source object maps to.
    #[schema(pattern = "^(organization|contact|lead|order|product|invoice)$")]
    pub entity: String,
    #[schema(min_items = 1, max_items = 2000)]
    pub fields: Vec<FieldDescription>,
}

/// One field's proposal.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProposalDto {
    pub source_field: String,
    /// A canonical field of the entity, or `null`: kept in the row's extras.
    pub target_field: Option<String>,
    /// `as_is`, `many2one_id`, `many2one_name`, `selection`, `date`, `datetime`,
    /// `money`, `boolean`, `keep_in_extras`.
    pub transform: String,
    /// In [0, 1].
    pub confidence: f64,
    /// Why, in words a person can check.
    pub reason: String,
    /// The engine that proposed it (`rules`).
    pub engine: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AutoMapResponse {
    /// One per field, in the request's order.
    pub proposals: Vec<ProposalDto>,
}

/// Proposes a canonical target for every field of a source object (admins): a
/// transform, a confidence and a reason each; two fields never win one target. Bad
/// input (an unknown entity, no fields, more than 2,000, empty or duplicate names, too
/// many samples) answers 422 naming every problem.
#[utoipa::path(post, path = "/api/v1/mappings/auto-map", tag = "mappings", request_body = AutoMapRequest, security(("bearer" = [])),
    responses((status = 200, body = AutoMapResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn auto_map(
    State(s): State<AppState>,
    who: AuthUser,
    Json(body): Json<AutoMapRequest>,
) -> Result<Json<AutoMapResponse>, ApiError> {
    s.authz
        .authorize(&who.0, Object::Provider, Action::Manage)?;
    let fields: Vec<SourceField> = body
        .fields
        .into_iter()
        .map(|f| SourceField {
            name: f.name,
            label: f.label,
            kind: f.kind,
            help: f.help,
            selection: f.selection,
            samples: f.samples,
        })
        .collect();
    // Learning is per installation and not stored yet: the engine starts from its
    // dictionary on every call.
    let proposals = engine::propose(&body.entity, &fields, &Learned::default())
        .map_err(WorkflowError::Validation)?;
    Ok(Json(AutoMapResponse {
        proposals: proposals
            .into_iter()
            .map(|p| ProposalDto {
                source_field: p.source_field,
                target_field: p.target_field,
                transform: p.transform.to_owned(),
                confidence: p.confidence,
                reason: p.reason,
                engine: p.engine.to_owned(),
            })
            .collect(),
    }))
}

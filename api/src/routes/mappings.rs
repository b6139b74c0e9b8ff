//! Field mappings (SPEC §7, issue 19), admins only:
//! - `POST /mappings/auto-map`: the engines' proposals for any source described as
//!   fields (nothing stored);
//! - `GET /integrations/{provider}/fields/{object}`: a provider's live field list, with
//!   samples from the raw zone;
//! - `POST /mappings/{provider}/{object}/auto-map`: a proposed version from the live
//!   fields and raw samples (confident proposals approved by themselves);
//! - `GET /mappings/{provider}/{object}/versions`, `GET /mappings/versions/{id}`;
//! - `POST /mappings/versions/{id}/decisions|approve|reject`: per rule or whole; an
//!   approved (or re-approved retired) version becomes active and its object is
//!   replayed from the raw zone (a sync run of mode `replay`).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tentabo_workflows::WorkflowError;
use tentabo_workflows::authz::{Action, Object};
use tentabo_workflows::error::FieldErrors;
use tentabo_workflows::mapping::engine::{self, SourceField};
use tentabo_workflows::mapping::store::{
    self as mapping_store, Decision, RuleView, VersionDetail, VersionView,
};
use tentabo_workflows::mapping::{combine, rules, sources};
use tentabo_workflows::outbound::with_context;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::error::{ApiError, ErrorBody};
use crate::extract::{AuthUser, Json, Path, RequestMeta};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(auto_map))
        .routes(routes!(live_fields))
        .routes(routes!(auto_map_object))
        .routes(routes!(versions))
        .routes(routes!(version))
        .routes(routes!(decide))
        .routes(routes!(approve))
        .routes(routes!(reject))
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
    /// The engine that proposed it: `rules`, `llm`, or `rules+llm` when both agreed.
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
    meta: RequestMeta,
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
    // What this installation's people approved and rejected before counts.
    let learned = mapping_store::learned(&mut *s.conn().await?).await?;
    let llm = s.platform.llm().await?;
    let proposals = with_context(
        meta.call_context(),
        combine::propose(llm.as_deref(), &body.entity, &fields, &learned, &[]),
    )
    .await
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

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ObjectPath {
    /// A provider with mappings (`odoo`).
    #[param(pattern = r"^[a-z0-9_]{1,40}$")]
    pub provider: String,
    /// The source object, e.g. Odoo's `res.partner`.
    #[param(pattern = r"^[a-z0-9_.]{1,128}$")]
    pub object: String,
}

fn check_path(p: &ObjectPath) -> Result<(), ApiError> {
    let ok = |s: &str, max: usize, dot: bool| {
        !s.is_empty()
            && s.len() <= max
            && s.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || (dot && b == b'.')
            })
    };
    let mut errors = FieldErrors::default();
    if !ok(&p.provider, 40, false) {
        errors.add("provider", "invalid_provider");
    }
    if !ok(&p.object, 128, true) {
        errors.add("object", "invalid_object");
    }
    Ok(errors.into_result()?)
}

/// A field of a provider's live list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LiveFieldDto {
    pub name: String,
    pub label: Option<String>,
    /// The source's type (`char`, `many2one`, `monetary`, `selection`, …).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub help: Option<String>,
    pub selection: Vec<String>,
    /// Up to 5 distinct values from the raw zone's latest records (empty for a field
    /// no sync has read yet).
    pub samples: Vec<String>,
    pub relation: Option<String>,
    pub required: bool,
    /// Whether an auto-map considers it (stored, not a list of other records, not
    /// messaging machinery).
    pub mappable: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LiveFields {
    pub provider: String,
    pub object: String,
    pub fields: Vec<LiveFieldDto>,
}

/// Asks the provider for `object`'s fields, with samples from the raw zone.
async fn read_live_fields(
    s: &AppState,
    meta: &RequestMeta,
    p: &ObjectPath,
) -> Result<Vec<sources::LiveField>, ApiError> {
    check_path(p)?;
    if p.provider != "odoo" {
        return Err(ApiError::NotFound);
    }
    let mut client = crate::routes::providers::odoo_client(s).await?;
    let answer = with_context(meta.call_context(), client.fields_get(&p.object)).await;
    let described = match answer {
        Ok(f) => f,
        Err(tentabo_workflows::providers::odoo::OdooError::Server { name, .. })
            if name.contains("KeyError") || name.contains("ValueError") =>
        {
            return Err(ApiError::NotFound);
        }
        Err(e) => return Err(WorkflowError::Upstream(e.to_string()).into()),
    };
    let mut fields = sources::from_odoo(&described);
    let mut plain: Vec<SourceField> = fields.iter().map(|f| f.field.clone()).collect();
    sources::add_samples(&mut *s.conn().await?, &p.provider, &p.object, &mut plain).await?;
    for (f, with) in fields.iter_mut().zip(plain) {
        f.field.samples = with.samples;
    }
    Ok(fields)
}

/// A provider object's fields as the live provider describes them (Odoo's
/// `fields_get`), with sample values from the raw zone.
#[utoipa::path(get, path = "/api/v1/integrations/{provider}/fields/{object}", tag = "mappings", security(("bearer" = [])),
    params(ObjectPath),
    responses((status = 200, body = LiveFields), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "No such provider or object"),
        (status = 409, body = ErrorBody, description = "The provider is not configured"), (status = 422, body = ErrorBody),
        (status = 502, body = ErrorBody, description = "The provider refused or did not answer")))]
async fn live_fields(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
    Path(p): Path<ObjectPath>,
) -> Result<Json<LiveFields>, ApiError> {
    s.authz.authorize(&who.0, Object::Provider, Action::View)?;
    let fields = read_live_fields(&s, &meta, &p).await?;
    Ok(Json(LiveFields {
        provider: p.provider,
        object: p.object,
        fields: fields
            .into_iter()
            .map(|f| LiveFieldDto {
                name: f.field.name,
                label: f.field.label,
                kind: f.field.kind,
                help: f.field.help,
                selection: f.field.selection,
                samples: f.field.samples,
                relation: f.relation,
                required: f.required,
                mappable: f.mappable,
            })
            .collect(),
    }))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectAutoMapRequest {
    /// The canonical entity, when the object maps to several (Odoo's `res.partner`:
    /// `organization` or `contact`).
    #[schema(pattern = "^(organization|contact|lead|order|product|invoice)$")]
    pub entity: Option<String>,
}

/// One rule of a version: a source field, its target and transform, the proposal's
/// confidence, reason and engine, and the decision.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RuleDto {
    pub id: i64,
    pub position: i32,
    pub source_field: String,
    pub source_label: Option<String>,
    pub source_type: Option<String>,
    pub samples: Vec<String>,
    /// A canonical field of SPEC §10, or `null` (kept in extras, or ignored).
    pub target_field: Option<String>,
    /// One of `as_is`, `many2one_id`, `many2one_name`, `selection`, `date`, `datetime`,
    /// `money`, `number`, `boolean`, `first_name`, `last_name`, `keep_in_extras`, `ignore`.
    pub transform: String,
    /// A selection's source value → canonical value.
    #[schema(value_type = Object)]
    pub value_map: serde_json::Value,
    pub confidence: f64,
    pub reason: String,
    /// `rules`, `llm`, `rules+llm` (both agreed), `default` (the built-in mapping) or
    /// `person`.
    pub engine: String,
    /// `proposed` (waiting for a person), `approved` or `rejected`.
    pub status: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VersionDto {
    pub id: Uuid,
    pub provider: String,
    pub object: String,
    pub entity: String,
    pub version: i32,
    /// `draft` (waiting for decisions), `active` (what the mapper runs), `retired`
    /// (active before) or `rejected`.
    pub status: String,
    /// `default`, `auto_map` or `copy`.
    pub origin: String,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub activated_at: Option<DateTime<Utc>>,
    /// The replay (`/api/v1/sync/runs/{id}`) its last activation started, once the
    /// worker created it.
    pub replay_run_id: Option<Uuid>,
    /// Rules per status.
    pub proposed: i64,
    pub approved: i64,
    pub rejected: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VersionDetailDto {
    #[serde(flatten)]
    pub version: VersionDto,
    pub rules: Vec<RuleDto>,
}

impl From<VersionView> for VersionDto {
    fn from(v: VersionView) -> Self {
        VersionDto {
            id: v.id,
            provider: v.provider,
            object: v.object,
            entity: v.entity,
            version: v.version,
            status: v.status,
            origin: v.origin,
            created_by: v.created_by,
            created_at: v.created_at,
            decided_by: v.decided_by,
            decided_at: v.decided_at,
            activated_at: v.activated_at,
            replay_run_id: v.replay_run_id,
            proposed: v.proposed,
            approved: v.approved,
            rejected: v.rejected,
        }
    }
}

impl From<RuleView> for RuleDto {
    fn from(r: RuleView) -> Self {
        RuleDto {
            id: r.id,
            position: r.position,
            source_field: r.source_field,
            source_label: r.source_label,
            source_type: r.source_type,
            samples: serde_json::from_value(r.samples).unwrap_or_default(),
            target_field: r.target_field,
            transform: r.transform,
            value_map: r.value_map,
            confidence: r.confidence,
            reason: r.reason,
            engine: r.engine,
            status: r.status,
            decided_by: r.decided_by,
            decided_at: r.decided_at,
        }
    }
}

impl From<VersionDetail> for VersionDetailDto {
    fn from(d: VersionDetail) -> Self {
        VersionDetailDto {
            version: d.version.into(),
            rules: d.rules.into_iter().map(Into::into).collect(),
        }
    }
}

/// Proposes a new version of `provider`'s `object` mapping from its live fields and
/// raw-zone samples (admins). Proposals at or above `TENTABO_MAPPING_AUTO_APPROVE`
/// are approved by themselves; when none waits for a person the version is active at
/// once and its object replayed.
#[utoipa::path(post, path = "/api/v1/mappings/{provider}/{object}/auto-map", tag = "mappings", security(("bearer" = [])),
    params(ObjectPath), request_body = ObjectAutoMapRequest,
    responses((status = 201, body = VersionDetailDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "No mapping is kept for this provider and object"),
        (status = 409, body = ErrorBody, description = "The provider is not configured"), (status = 422, body = ErrorBody),
        (status = 502, body = ErrorBody, description = "The provider refused or did not answer")))]
async fn auto_map_object(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
    Path(p): Path<ObjectPath>,
    Json(body): Json<ObjectAutoMapRequest>,
) -> Result<(StatusCode, Json<VersionDetailDto>), ApiError> {
    s.authz
        .authorize(&who.0, Object::Provider, Action::Manage)?;
    check_path(&p)?;
    let entity = mapping_store::object_entity(&p.provider, &p.object, body.entity.as_deref())?;
    let fields: Vec<SourceField> = read_live_fields(&s, &meta, &p)
        .await?
        .into_iter()
        .filter(|f| f.mappable)
        .map(|f| f.field)
        .take(engine::MAX_FIELDS)
        .collect();
    let learned = mapping_store::learned(&mut *s.conn().await?).await?;
    let llm = s.platform.llm().await?;
    let proposals = with_context(
        meta.call_context(),
        combine::propose(
            llm.as_deref(),
            entity.as_str(),
            &fields,
            &learned,
            rules::derived(&p.provider, &p.object, entity),
        ),
    )
    .await
    .map_err(WorkflowError::Validation)?;
    let mut conn = s.conn().await?;
    let detail = mapping_store::create_proposed(
        &mut conn,
        &meta.audit(Some(who.0.user_id)),
        &p.provider,
        &p.object,
        entity,
        &fields,
        proposals,
        s.config.mapping_auto_approve,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(detail.into())))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct VersionsQuery {
    /// The canonical entity, when the object maps to several.
    pub entity: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VersionList {
    /// The version the mapper runs.
    pub active: Option<VersionDto>,
    /// Every version, newest first.
    pub versions: Vec<VersionDto>,
}

/// The versions of `provider`'s `object` mapping and the active one (admins).
#[utoipa::path(get, path = "/api/v1/mappings/{provider}/{object}/versions", tag = "mappings", security(("bearer" = [])),
    params(ObjectPath, VersionsQuery),
    responses((status = 200, body = VersionList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn versions(
    State(s): State<AppState>,
    who: AuthUser,
    Path(p): Path<ObjectPath>,
    Query(q): Query<VersionsQuery>,
) -> Result<Json<VersionList>, ApiError> {
    s.authz.authorize(&who.0, Object::Provider, Action::View)?;
    check_path(&p)?;
    let entity = mapping_store::object_entity(&p.provider, &p.object, q.entity.as_deref())?;
    let all = mapping_store::list(&mut *s.conn().await?, &p.provider, &p.object, entity).await?;
    let versions: Vec<VersionDto> = all.into_iter().map(Into::into).collect();
    let active = versions.iter().find(|v| v.status == "active").cloned();
    Ok(Json(VersionList { active, versions }))
}

/// One version with its rules (admins).
#[utoipa::path(get, path = "/api/v1/mappings/versions/{id}", tag = "mappings", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The version's id")),
    responses((status = 200, body = VersionDetailDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn version(
    State(s): State<AppState>,
    who: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<Json<VersionDetailDto>, ApiError> {
    s.authz.authorize(&who.0, Object::Provider, Action::View)?;
    Ok(Json(
        mapping_store::get(&mut *s.conn().await?, id).await?.into(),
    ))
}

/// A decision on one rule.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionDto {
    pub rule_id: i64,
    /// `approved` or `rejected`.
    #[schema(pattern = "^(approved|rejected)$")]
    pub status: String,
    /// Another target (a field of SPEC §10), or `null` to keep the field in extras;
    /// absent: the proposed target.
    #[serde(default, deserialize_with = "some")]
    #[schema(nullable, value_type = Option<String>)]
    pub target_field: Option<Option<String>>,
    /// Another transform.
    pub transform: Option<String>,
    /// For a `selection` rule: source value → canonical value (at most 500 pairs of
    /// at most 200 characters each), replacing the rule's.
    pub value_map: Option<std::collections::BTreeMap<String, String>>,
}

fn some<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionsRequest {
    #[schema(min_items = 1, max_items = 2000)]
    pub decisions: Vec<DecisionDto>,
}

/// Approves, rejects or changes rules of a draft version, all or none (admins). Each
/// decision teaches the engine. 422 names every problem (`decisions.<i>.…`): an
/// unknown rule, a target outside SPEC §10, one the connector derives, one another
/// rule already writes; 409 when the version is no draft.
#[utoipa::path(post, path = "/api/v1/mappings/versions/{id}/decisions", tag = "mappings", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The version's id")), request_body = DecisionsRequest,
    responses((status = 200, body = VersionDetailDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn decide(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
    Path(id): Path<Uuid>,
    Json(body): Json<DecisionsRequest>,
) -> Result<Json<VersionDetailDto>, ApiError> {
    s.authz
        .authorize(&who.0, Object::Provider, Action::Manage)?;
    let decisions: Vec<Decision> = body
        .decisions
        .into_iter()
        .map(|d| Decision {
            rule_id: d.rule_id,
            status: d.status,
            target_field: d.target_field,
            transform: d.transform,
            value_map: d.value_map,
        })
        .collect();
    let detail = mapping_store::decide(
        &mut *s.conn().await?,
        &meta.audit(Some(who.0.user_id)),
        id,
        &decisions,
    )
    .await?;
    Ok(Json(detail.into()))
}

/// Approves a version as a whole (admins): a draft's waiting rules are approved, a
/// retired version comes back; the version becomes the active one and its object is
/// replayed from the raw zone (no call to the source).
#[utoipa::path(post, path = "/api/v1/mappings/versions/{id}/approve", tag = "mappings", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The version's id")),
    responses((status = 200, body = VersionDetailDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn approve(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
    Path(id): Path<Uuid>,
) -> Result<Json<VersionDetailDto>, ApiError> {
    s.authz
        .authorize(&who.0, Object::Provider, Action::Manage)?;
    let detail =
        mapping_store::approve(&mut *s.conn().await?, &meta.audit(Some(who.0.user_id)), id).await?;
    Ok(Json(detail.into()))
}

/// Rejects a draft version as a whole (admins).
#[utoipa::path(post, path = "/api/v1/mappings/versions/{id}/reject", tag = "mappings", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The version's id")),
    responses((status = 200, body = VersionDetailDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn reject(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
    Path(id): Path<Uuid>,
) -> Result<Json<VersionDetailDto>, ApiError> {
    s.authz
        .authorize(&who.0, Object::Provider, Action::Manage)?;
    let detail =
        mapping_store::reject(&mut *s.conn().await?, &meta.audit(Some(who.0.user_id)), id).await?;
    Ok(Json(detail.into()))
}

//! Records changed at the source and edited locally since: the conflict policy's
//! decision, per record.

use super::*;

/// What the loader does with a record changed in the source while its canonical row
/// carries a local edit not yet overwritten (`local_modified_at` set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictPolicy {
    /// The source's version replaces the local edit.
    #[default]
    SourceWins,
    /// The local edit stays; later source changes keep conflicting until it is dropped.
    LocalWins,
    /// The local edit stays and the conflict waits, pending, for someone to decide.
    Manual,
}

impl ConflictPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictPolicy::SourceWins => "source_wins",
            ConflictPolicy::LocalWins => "local_wins",
            ConflictPolicy::Manual => "manual",
        }
    }
    pub fn parse(s: &str) -> Option<ConflictPolicy> {
        [
            ConflictPolicy::SourceWins,
            ConflictPolicy::LocalWins,
            ConflictPolicy::Manual,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }
    pub(super) fn resolution(self) -> &'static str {
        match self {
            ConflictPolicy::SourceWins => "source_applied",
            ConflictPolicy::LocalWins => "local_kept",
            ConflictPolicy::Manual => "pending",
        }
    }
}

/// A batch after conflict resolution: the rows to write, and how many conflicted.
pub struct Resolved {
    pub apply: Rows,
    pub conflicts: i64,
}

#[derive(diesel::QueryableByName)]
pub(super) struct LocalRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub(super) external_id: String,
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    pub(super) local: serde_json::Value,
}

/// Finds the rows of a batch whose canonical row was edited locally, records each
/// conflict in `sync_conflicts` by the policy, and returns what to write: everything
/// under `source_wins`, the rows without a local edit otherwise (a full run knows the
/// kept ones were seen from its key set).
pub async fn resolve_conflicts(
    conn: &mut AsyncPgConnection,
    run_id: Option<Uuid>,
    provider: &str,
    batch: Rows,
    policy: ConflictPolicy,
) -> Result<Resolved, WorkflowError> {
    let entity = batch.entity;
    let edited: Vec<LocalRow> = sql::query(format!(
        "SELECT external_id, {} AS local FROM {} t \
         WHERE provider = $1 AND external_id = ANY($2) AND local_modified_at IS NOT NULL",
        row_json(entity),
        entity.table()
    ))
    .bind(Bind::Text(provider.to_owned()))
    .bind(Bind::Texts(batch.external_ids.clone()))
    .load(conn)
    .await?;
    if edited.is_empty() {
        return Ok(Resolved {
            apply: batch,
            conflicts: 0,
        });
    }
    let local: std::collections::HashMap<String, serde_json::Value> = edited
        .into_iter()
        .map(|r| (r.external_id, r.local))
        .collect();
    let mut apply = Vec::with_capacity(batch.len());
    for (i, id) in batch.external_ids.iter().enumerate() {
        let Some(l) = local.get(id) else {
            apply.push(i);
            continue;
        };
        sql::query(
            "INSERT INTO sync_conflicts \
                 (sync_run_id, provider, entity, external_id, policy, local, remote, resolution, resolved_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, CASE WHEN $8 = 'pending' THEN NULL ELSE now() END) \
             ON CONFLICT (provider, entity, external_id) WHERE resolution = 'pending' \
             DO UPDATE SET sync_run_id = EXCLUDED.sync_run_id, local = EXCLUDED.local, \
                 remote = EXCLUDED.remote, created_at = now()",
        )
        .bind(Bind::OptUuid(run_id))
        .bind(Bind::Text(provider.to_owned()))
        .bind(Bind::Text(entity.as_str().to_owned()))
        .bind(Bind::Text(id.clone()))
        .bind(Bind::Text(policy.as_str().to_owned()))
        .bind(Bind::Json(l.clone()))
        .bind(Bind::Json(batch.json(i)))
        .bind(Bind::Text(policy.resolution().to_owned()))
        .execute(conn)
        .await?;
        if policy == ConflictPolicy::SourceWins {
            apply.push(i);
        }
    }
    Ok(Resolved {
        apply: batch.select(&apply),
        conflicts: local.len() as i64,
    })
}

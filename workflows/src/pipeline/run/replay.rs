//! Replays: a model's canonical rows rebuilt from the raw zone with the active mapping
//! (after a mapping version is activated), as a sync run of mode `replay` — progress,
//! counts, quarantine and conflicts as for any run; no call to the source.

use super::*;

#[derive(diesel::QueryableByName)]
pub(super) struct RawRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub(super) id: i64,
    #[diesel(sql_type = Text)]
    pub(super) external_id: String,
    #[diesel(sql_type = Text)]
    pub(super) body: String,
}

/// The raw records of `model` after raw id `after`, in id order.
pub(super) async fn raw_page(
    conn: &mut AsyncPgConnection,
    model: &str,
    after: i64,
    limit: usize,
) -> Result<Vec<RawRow>, WorkflowError> {
    Ok(sql::query(
        "SELECT id, external_id, body::text AS body FROM raw_records \
         WHERE provider = $1 AND entity = $2 AND id > $3 ORDER BY id LIMIT $4",
    )
    .bind(Bind::Text(PROVIDER.to_owned()))
    .bind(Bind::Text(model.to_owned()))
    .bind(Bind::BigInt(after))
    .bind(Bind::BigInt(limit as i64))
    .load(conn)
    .await?)
}

/// How many raw records of `model` come after raw id `after`.
pub(super) async fn raw_count(
    conn: &mut AsyncPgConnection,
    model: &str,
    after: i64,
) -> Result<i64, WorkflowError> {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let c: Count = sql::query(
        "SELECT count(*) AS n FROM raw_records WHERE provider = $1 AND entity = $2 AND id > $3",
    )
    .bind(Bind::Text(PROVIDER.to_owned()))
    .bind(Bind::Text(model.to_owned()))
    .bind(Bind::BigInt(after))
    .get_result(conn)
    .await?;
    Ok(c.n)
}

/// What became of a version's replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplayOutcome {
    /// The replay ran (or had run) to its end.
    Done { run_id: Uuid, totals: Totals },
    /// The version is no longer the active one: its successor's replay covers it.
    Superseded,
}

/// Replays the object of mapping version `version_id` (the `replay_mapping` job):
/// creates its replay run once (recorded on the version), then runs or resumes it.
/// A sync run of the model queued or running meanwhile makes this wait
/// (`sync_already_running`, retried).
pub async fn replay_version(
    db: &DbPool,
    version_id: Uuid,
    options: Options,
) -> Result<ReplayOutcome, WorkflowError> {
    #[derive(diesel::QueryableByName)]
    struct Version {
        #[diesel(sql_type = Text)]
        provider: String,
        #[diesel(sql_type = Text)]
        object: String,
        #[diesel(sql_type = Text)]
        status: String,
        #[diesel(sql_type = Nullable<diesel::sql_types::Uuid>)]
        replay_run_id: Option<Uuid>,
    }
    let mut conn = db.get().await?;
    let run_id = conn
        .transaction::<_, WorkflowError, _>(async |conn| {
            let v: Version = sql::query(
                "SELECT provider, object, status, replay_run_id FROM mapping_versions WHERE id = $1 FOR UPDATE",
            )
            .bind(Bind::Uuid(version_id))
            .get_result(conn)
            .await
            .map_err(crate::error::not_found)?;
            if let Some(run) = v.replay_run_id {
                return Ok(Some(run));
            }
            if v.status != "active" {
                return Ok(None);
            }
            if v.provider != PROVIDER {
                return Err(WorkflowError::Invalid(format!(
                    "no replay for provider {}",
                    v.provider
                )));
            }
            let run = create_for(conn, PROVIDER, &v.object, Mode::Replay, None).await?;
            sql::query("UPDATE mapping_versions SET replay_run_id = $2 WHERE id = $1")
                .bind(Bind::Uuid(version_id))
                .bind(Bind::Uuid(run))
                .execute(conn)
                .await?;
            Ok(Some(run))
        })
        .await?;
    drop(conn);
    let Some(run_id) = run_id else {
        return Ok(ReplayOutcome::Superseded);
    };
    let totals = replay(db, run_id, options).await?;
    Ok(ReplayOutcome::Done { run_id, totals })
}

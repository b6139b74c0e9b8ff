//! The reference models a mapper needs (Odoo's `crm.stage`, `res.country`): read at the start of a run into the raw zone, read back from there by retries.

use super::*;

/// Reads the reference models of `model` whole (a few hundred records at most) into the
/// raw zone, and the mapper's view of them.
pub(super) async fn read_reference(
    conn: &mut AsyncPgConnection,
    client: &mut OdooClient,
    run_id: Uuid,
    model: &str,
) -> Result<Reference, WorkflowError> {
    let mut reference = Reference::default();
    for source in reference_models(model) {
        let records = client
            .page(source, fields_of(source), Keyset::default(), 10_000)
            .await
            .map_err(connector_error)?;
        let raws: Vec<RawRecord> = records
            .into_iter()
            .map(|r| RawRecord::new(PROVIDER, source, r.id.to_string(), r.raw))
            .collect();
        let bodies: Vec<&str> = raws.iter().map(|r| r.body.get()).collect();
        reference.add(source, &bodies);
        load::upsert_raw(conn, run_id, &raws).await?;
    }
    Ok(reference)
}

#[derive(diesel::QueryableByName)]
pub(super) struct Body {
    #[diesel(sql_type = Text)]
    pub(super) entity: String,
    #[diesel(sql_type = Text)]
    pub(super) body: String,
}

/// The reference data of `model` as the raw zone holds it (for re-processing records
/// without a call to the source).
pub async fn stored_reference(
    conn: &mut AsyncPgConnection,
    model: &str,
) -> Result<Reference, WorkflowError> {
    let sources: Vec<String> = reference_models(model)
        .iter()
        .map(|m| (*m).to_owned())
        .collect();
    let mut reference = Reference::default();
    if sources.is_empty() {
        return Ok(reference);
    }
    let rows: Vec<Body> = sql::query(
        "SELECT entity, body::text AS body FROM raw_records WHERE provider = $1 AND entity = ANY($2)",
    )
    .bind(Bind::Text(PROVIDER.to_owned()))
    .bind(Bind::Texts(sources))
    .load(conn)
    .await?;
    for source in reference_models(model) {
        let bodies: Vec<&str> = rows
            .iter()
            .filter(|r| r.entity == *source)
            .map(|r| r.body.as_str())
            .collect();
        reference.add(source, &bodies);
    }
    Ok(reference)
}

//! Links between a source's record owners (Odoo users) and Tentabo organisations,
//! which give synced rows their scope.

use super::*;

/// A source user and the organisation it sells for.
#[derive(Debug, Clone, PartialEq, Serialize, diesel::QueryableByName)]
pub struct OwnerLink {
    #[diesel(sql_type = Text)]
    pub provider: String,
    #[diesel(sql_type = Text)]
    pub owner_external_id: String,
    #[diesel(sql_type = Nullable<diesel::sql_types::Uuid>)]
    pub partner_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Uuid>)]
    pub distributor_id: Option<Uuid>,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
}

/// Links a source user to one partner or one distributor (admins); replaces an earlier
/// link of that user.
pub async fn link_owner(
    conn: &mut AsyncPgConnection,
    actor: &Actor<'_>,
    provider: &str,
    owner_external_id: &str,
    partner_id: Option<Uuid>,
    distributor_id: Option<Uuid>,
) -> Result<OwnerLink, WorkflowError> {
    actor
        .authz
        .authorize(actor.who, Object::Job, Action::Manage)?;
    if partner_id.is_some() == distributor_id.is_some() {
        return Err(FieldErrors::single(
            "partner_id",
            "exactly_one_of_partner_or_distributor",
        ));
    }
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        let link: OwnerLink = sql::query(
            "INSERT INTO provider_owner_links (provider, owner_external_id, partner_id, distributor_id) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (provider, owner_external_id) DO UPDATE SET partner_id = EXCLUDED.partner_id, \
                 distributor_id = EXCLUDED.distributor_id, created_at = now() \
             RETURNING provider, owner_external_id, partner_id, distributor_id, created_at",
        )
        .bind(Bind::Text(provider.to_owned()))
        .bind(Bind::Text(owner_external_id.to_owned()))
        .bind(Bind::OptUuid(partner_id))
        .bind(Bind::OptUuid(distributor_id))
        .get_result(conn)
        .await
        .map_err(|e| match &e {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::ForeignKeyViolation,
                _,
            ) => FieldErrors::single(
                if partner_id.is_some() { "partner_id" } else { "distributor_id" },
                "unknown_organisation",
            ),
            _ => e.into(),
        })?;
        crate::audit::record(
            conn,
            actor.audit.entry(
                "owner.link",
                "provider_owner_link",
                format!("{provider}:{owner_external_id}"),
                serde_json::json!({ "partner_id": partner_id, "distributor_id": distributor_id }),
            ),
        )
        .await?;
        Ok(link)
    })
    .await
}

pub async fn owner_links(
    conn: &mut AsyncPgConnection,
    authz: &Authorizer,
    who: &Principal,
) -> Result<Vec<OwnerLink>, WorkflowError> {
    authz.authorize(who, Object::Job, Action::View)?;
    Ok(sql::query(
        "SELECT provider, owner_external_id, partner_id, distributor_id, created_at \
         FROM provider_owner_links ORDER BY provider, owner_external_id",
    )
    .load(conn)
    .await?)
}

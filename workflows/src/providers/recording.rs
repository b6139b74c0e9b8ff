//! The recording provider: stores every call in `provider_calls` and answers with an
//! external id derived from the call. It honours idempotency keys exactly as a real
//! provider must: a call with a key already seen returns the first answer and records
//! nothing new. Tests count its rows to prove an effect ran once.

use crate::sql::{self, Bind};
use async_trait::async_trait;
use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;
use serde::Serialize;
use tentabo_schema::DbPool;

use super::{
    BillingProvider, ContractSnapshot, CrmProvider, CrmPushed, ExternalRef, LeadSnapshot,
    OrderSnapshot, ProviderError,
};

pub const NAME: &str = "recording";

#[derive(Clone)]
pub struct Recording {
    db: DbPool,
}

#[derive(diesel::QueryableByName)]
struct External {
    #[diesel(sql_type = Text)]
    external_id: String,
}

impl Recording {
    pub fn new(db: DbPool) -> Recording {
        Recording { db }
    }

    /// The recording provider is up when its database answers.
    async fn ping(&self) -> Result<(), ProviderError> {
        let mut conn = self
            .db
            .get()
            .await
            .map_err(|e| ProviderError::Transient(e.to_string()))?;
        sql::query("SELECT 1")
            .execute(&mut conn)
            .await
            .map(|_| ())
            .map_err(|e| ProviderError::Transient(e.to_string()))
    }

    async fn record(
        &self,
        kind: &str,
        operation: &str,
        key: &str,
        request: &impl Serialize,
    ) -> Result<ExternalRef, ProviderError> {
        let transient = |e: String| ProviderError::Transient(e);
        let request =
            serde_json::to_value(request).map_err(|e| ProviderError::Permanent(e.to_string()))?;
        let mut conn = self.db.get().await.map_err(|e| transient(e.to_string()))?;
        // The first call with a key stores its answer; a repeat reads it back.
        let row: External = sql::query(
            "WITH ins AS ( \
                 INSERT INTO provider_calls (provider_kind, provider_name, operation, \
                     idempotency_key, request, external_id) \
                 VALUES ($1, $2, $3, $4, $5, $3 || '-' || md5($4)) \
                 ON CONFLICT (provider_name, idempotency_key) DO NOTHING \
                 RETURNING external_id) \
             SELECT external_id FROM ins \
             UNION ALL \
             SELECT external_id FROM provider_calls WHERE provider_name = $2 AND idempotency_key = $4 \
             LIMIT 1",
        )
        .bind(Bind::Text(kind.to_string()))
        .bind(Bind::Text(NAME.to_string()))
        .bind(Bind::Text(operation.to_string()))
        .bind(Bind::Text(key.to_string()))
        .bind(Bind::Json(request.clone()))
        .get_result(&mut conn)
        .await
        .map_err(|e| transient(e.to_string()))?;
        Ok(ExternalRef {
            provider: NAME.to_owned(),
            external_id: row.external_id,
        })
    }
}

#[async_trait]
impl CrmProvider for Recording {
    fn name(&self) -> &str {
        NAME
    }
    async fn check(&self) -> Result<(), ProviderError> {
        self.ping().await
    }
    async fn push_lead(&self, lead: &LeadSnapshot, key: &str) -> Result<CrmPushed, ProviderError> {
        let primary = self.record("crm", "push_lead_status", key, lead).await?;
        Ok(CrmPushed {
            primary,
            links: Vec::new(),
        })
    }
}

#[async_trait]
impl BillingProvider for Recording {
    fn name(&self) -> &str {
        NAME
    }
    async fn check(&self) -> Result<(), ProviderError> {
        self.ping().await
    }
    async fn create_quote(
        &self,
        order: &OrderSnapshot,
        key: &str,
    ) -> Result<ExternalRef, ProviderError> {
        self.record("billing", "create_quote", key, order).await
    }
    async fn create_invoice(
        &self,
        contract: &ContractSnapshot,
        key: &str,
    ) -> Result<ExternalRef, ProviderError> {
        self.record("billing", "create_invoice", key, contract)
            .await
    }
}

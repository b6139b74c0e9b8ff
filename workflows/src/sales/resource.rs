//! A lifecycle machine bound to its table and to the policy ([`Resource`]), and the
//! names its states and events travel under. Leads, orders and contracts implement
//! [`Resource`] in their own modules; the transition service is generic over it, so
//! neither depends on the other.

use std::future::Future;

use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

use super::{Caller, Kind, Owners};
use crate::WorkflowError;
use crate::authz::Action;
use crate::lifecycle::Lifecycle;
use crate::sql::{self, Bind};

/// A lifecycle machine bound to its table and to the policy.
pub trait Resource:
    Lifecycle<
        State: Serialize + DeserializeOwned + Send + Sync,
        Event: Serialize + DeserializeOwned + Send + Sync,
    >
{
    const KIND: Kind;
    type Record: Send;

    /// The policy action an event needs on the row.
    fn action(event: Self::Event) -> Action;

    /// Reads the row as the caller sees it (after the change, inside the transaction).
    fn load(
        conn: &mut AsyncPgConnection,
        caller: &Caller,
        id: Uuid,
    ) -> impl Future<Output = Result<Self::Record, WorkflowError>> + Send;

    /// Checks what the machine cannot see (a converted lead, an empty order, the order
    /// named by an upgrade). Runs with the row locked.
    fn guard(
        conn: &mut AsyncPgConnection,
        caller: &Caller,
        id: Uuid,
        event: Self::Event,
        payload: &Value,
    ) -> impl Future<Output = Result<(), WorkflowError>> + Send;
}

/// A state or event as its snake_case name.
pub fn state_name<S: Serialize>(s: S) -> String {
    match serde_json::to_value(s) {
        Ok(Value::String(s)) => s,
        _ => String::new(),
    }
}

/// A stored state back into the machine's type (a bad value is a corrupt row).
pub fn parse_state<S: DeserializeOwned>(s: &str) -> Result<S, WorkflowError> {
    serde_json::from_value(Value::String(s.to_owned()))
        .map_err(|_| WorkflowError::Internal(format!("unknown stored state `{s}`")))
}

/// The events `caller` may send a row in `state` owned by `owners`: the machine's for the
/// caller's role, and among them those the policy allows on this row.
pub fn allowed<R: Resource>(caller: &Caller, state: &str, owners: Owners) -> Vec<R::Event> {
    let Ok(state) = parse_state::<R::State>(state) else {
        return Vec::new();
    };
    R::allowed_events(state, caller.role())
        .into_iter()
        .filter(|e| caller.may(R::KIND, R::action(*e), owners))
        .collect()
}

/// Whether the row ever took `event` (its history says).
#[derive(diesel::QueryableByName)]
struct Taken {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    taken: bool,
}

pub(crate) async fn step_taken(
    conn: &mut AsyncPgConnection,
    kind: Kind,
    id: Uuid,
    event: &str,
) -> Result<bool, WorkflowError> {
    let t: Taken = sql::query(
        "SELECT EXISTS (SELECT 1 FROM lifecycle_history \
         WHERE object_type = $1 AND object_id = $2 AND event = $3) AS taken",
    )
    .bind(Bind::Text(kind.as_str().to_string()))
    .bind(Bind::Uuid(id))
    .bind(Bind::Text(event.to_string()))
    .get_result(conn)
    .await?;
    Ok(t.taken)
}

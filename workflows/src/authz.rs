//! Authorization: the casbin model and policy in `workflows/policy/` decide whether a
//! role may take an action on a kind of object, and within which row scope. The guard
//! turns the policy's scope and the caller's organisation into a [`RowScope`] that every
//! list and get query applies in SQL, so a row outside it is never read.

use std::collections::HashMap;

use casbin::{CoreApi, DefaultModel, Enforcer, StringAdapter};

use crate::WorkflowError;
use crate::identity::{Principal, Role};

pub const MODEL: &str = include_str!("../policy/model.conf");
pub const POLICY: &str = include_str!("../policy/policy.csv");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Object {
    Order,
    Contract,
    Lead,
    Distributor,
    Partner,
    User,
    Product,
    Job,
    /// Provider configurations (integrations, directory, single sign-on).
    Provider,
    /// The audit log.
    Audit,
}

impl Object {
    pub const ALL: [Object; 10] = [
        Object::Order,
        Object::Contract,
        Object::Lead,
        Object::Distributor,
        Object::Partner,
        Object::User,
        Object::Product,
        Object::Job,
        Object::Provider,
        Object::Audit,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Object::Order => "order",
            Object::Contract => "contract",
            Object::Lead => "lead",
            Object::Distributor => "distributor",
            Object::Partner => "partner",
            Object::User => "user",
            Object::Product => "product",
            Object::Job => "job",
            Object::Provider => "provider",
            Object::Audit => "audit",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Create,
    View,
    ViewOwn,
    ViewPartners,
    ViewDistributors,
    Activate,
    Manage,
    Delete,
    Reassign,
    UpdateStatus,
    Analytics,
}

impl Action {
    pub const ALL: [Action; 11] = [
        Action::Create,
        Action::View,
        Action::ViewOwn,
        Action::ViewPartners,
        Action::ViewDistributors,
        Action::Activate,
        Action::Manage,
        Action::Delete,
        Action::Reassign,
        Action::UpdateStatus,
        Action::Analytics,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::View => "view",
            Action::ViewOwn => "view_own",
            Action::ViewPartners => "view_partners",
            Action::ViewDistributors => "view_distributors",
            Action::Activate => "activate",
            Action::Manage => "manage",
            Action::Delete => "delete",
            Action::Reassign => "reassign",
            Action::UpdateStatus => "update_status",
            Action::Analytics => "analytics",
        }
    }
}

/// The policy's scope column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    Own,
    Attached,
    All,
}

pub use crate::identity::RowScope;

/// Decisions computed by casbin from the policy files once, at start.
#[derive(Debug, Clone)]
pub struct Authorizer {
    decisions: HashMap<(Role, Object, Action), Scope>,
}

impl Authorizer {
    /// Loads the model and policy shipped in the binary.
    pub async fn load() -> Result<Authorizer, WorkflowError> {
        Self::from_files(MODEL, POLICY).await
    }

    pub async fn from_files(model: &str, policy: &str) -> Result<Authorizer, WorkflowError> {
        let perr = |e: casbin::Error| WorkflowError::Policy(e.to_string());
        let model = DefaultModel::from_str(model).await.map_err(perr)?;
        let enforcer = Enforcer::new(model, StringAdapter::new(policy))
            .await
            .map_err(perr)?;
        let mut decisions = HashMap::new();
        for role in Role::ALL {
            for object in Object::ALL {
                for action in Action::ALL {
                    let allowed = enforcer
                        .enforce((role.as_str(), object.as_str(), action.as_str()))
                        .map_err(perr)?;
                    if !allowed {
                        continue;
                    }
                    let rules = casbin::MgmtApi::get_filtered_policy(
                        &enforcer,
                        0,
                        vec![
                            role.as_str().to_owned(),
                            object.as_str().to_owned(),
                            action.as_str().to_owned(),
                        ],
                    );
                    let scope = rules
                        .iter()
                        .map(|r| match r.get(3).map(String::as_str) {
                            Some("all") => Ok(Scope::All),
                            Some("attached") => Ok(Scope::Attached),
                            Some("own") => Ok(Scope::Own),
                            other => Err(WorkflowError::Policy(format!(
                                "bad scope {other:?} in {r:?}"
                            ))),
                        })
                        .collect::<Result<Vec<_>, _>>()?
                        .into_iter()
                        .max()
                        .ok_or_else(|| WorkflowError::Policy("allowed without a rule".into()))?;
                    decisions.insert((role, object, action), scope);
                }
            }
        }
        Ok(Authorizer { decisions })
    }

    /// The policy scope, or `None` when the role may not do this at all.
    pub fn decide(&self, role: Role, object: Object, action: Action) -> Option<Scope> {
        self.decisions.get(&(role, object, action)).copied()
    }

    /// What `who` may do, as `object:action` names (the console draws its navigation
    /// from them); an action whose scope leaves the caller no rows is left out.
    pub fn permissions(&self, who: &Principal) -> Vec<String> {
        Object::ALL
            .iter()
            .flat_map(|&object| Action::ALL.iter().map(move |&action| (object, action)))
            .filter(|&(object, action)| self.authorize(who, object, action).is_ok())
            .map(|(object, action)| format!("{}:{}", object.as_str(), action.as_str()))
            .collect()
    }

    /// The guard: may `who` do `action` on `object`, and on which rows?
    pub fn authorize(
        &self,
        who: &Principal,
        object: Object,
        action: Action,
    ) -> Result<RowScope, WorkflowError> {
        let scope = self
            .decide(who.role, object, action)
            .ok_or(WorkflowError::Forbidden)?;
        row_scope(who, scope).ok_or(WorkflowError::Forbidden)
    }

    /// The widest view a caller has on a kind of object: `view` for organisations and
    /// users, the union of `view_own` / `view_partners` / `view_distributors` for
    /// leads, and for orders and contracts also `activate` (the fulfiller's work).
    pub fn view_scope(&self, who: &Principal, object: Object) -> Result<RowScope, WorkflowError> {
        let actions: &[Action] = match object {
            Object::Distributor | Object::Partner | Object::User | Object::Product => {
                &[Action::View]
            }
            Object::Lead => &[
                Action::ViewOwn,
                Action::ViewPartners,
                Action::ViewDistributors,
            ],
            // Activating contracts means fulfilling orders: the fulfiller must reach
            // the orders and contracts it works on, though it owns none.
            _ => &[
                Action::ViewOwn,
                Action::ViewPartners,
                Action::ViewDistributors,
                Action::Activate,
            ],
        };
        let widest = actions
            .iter()
            .filter_map(|a| self.decide(who.role, object, *a))
            .max();
        widest
            .and_then(|s| row_scope(who, s))
            .ok_or(WorkflowError::Forbidden)
    }
}

fn row_scope(who: &Principal, scope: Scope) -> Option<RowScope> {
    match scope {
        Scope::All => Some(RowScope::All),
        Scope::Attached => who.distributor_id.map(RowScope::DistributorAndAttached),
        Scope::Own => match (who.partner_id, who.distributor_id) {
            (Some(p), _) => Some(RowScope::Partner(p)),
            (None, Some(d)) => Some(RowScope::Distributor(d)),
            (None, None) => None,
        },
    }
}

/// Who acts, with the policy that judges them and the audit context their rows carry:
/// what an audited write of the domain takes.
pub struct Actor<'a> {
    pub authz: &'a Authorizer,
    pub who: &'a crate::identity::Principal,
    pub audit: &'a crate::audit::AuditContext,
}

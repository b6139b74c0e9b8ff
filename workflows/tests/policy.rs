//! Every cell of both permission tables of SPEC §2, enforced through the casbin policy.

#![allow(clippy::unwrap_used)]

use tentabo_workflows::authz::{Action, Authorizer, Object, Scope};
use tentabo_workflows::identity::Role;

use Action::*;
use Role::*;

const N: Option<Scope> = None;
const ALL: Option<Scope> = Some(Scope::All);
const OWN: Option<Scope> = Some(Scope::Own);
const ATT: Option<Scope> = Some(Scope::Attached);

/// Orders and contracts: create order | view own | view partner's | view distributor's |
/// activate contract | manage contract | delete order | reassign.
const ORDER_ACTIONS: [Action; 8] = [
    Create,
    ViewOwn,
    ViewPartners,
    ViewDistributors,
    Activate,
    Manage,
    Delete,
    Reassign,
];
const ORDER_TABLE: [(Role, [Option<Scope>; 8]); 5] = [
    (Admin, [ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL]),
    (RestrictedAdmin, [ALL, ALL, ALL, ALL, N, N, N, N]),
    (Partner, [OWN, OWN, N, N, N, N, N, N]),
    (Distributor, [N, OWN, ATT, OWN, N, N, N, N]),
    (Fulfiller, [N, N, N, N, ALL, N, N, N]),
];

/// Leads: create | view own | view partners' | update status | delete | analytics.
const LEAD_ACTIONS: [Action; 6] = [
    Create,
    ViewOwn,
    ViewPartners,
    UpdateStatus,
    Delete,
    Analytics,
];
const LEAD_TABLE: [(Role, [Option<Scope>; 6]); 5] = [
    (Admin, [ALL, ALL, ALL, ALL, ALL, ALL]),
    (RestrictedAdmin, [ALL, ALL, ALL, ALL, N, ALL]),
    (Partner, [OWN, OWN, N, OWN, N, OWN]),
    (Distributor, [OWN, OWN, ATT, ATT, N, ATT]),
    (Fulfiller, [N, N, N, N, N, N]),
];

#[tokio::test]
async fn orders_and_contracts_table_cell_by_cell() {
    let authz = Authorizer::load().await.unwrap();
    let mut checked = 0;
    for object in [Object::Order, Object::Contract] {
        for (role, row) in ORDER_TABLE {
            for (action, expected) in ORDER_ACTIONS.iter().zip(row) {
                assert_eq!(
                    authz.decide(role, object, *action),
                    expected,
                    "{role} {object:?} {action:?}"
                );
                checked += 1;
            }
            // Actions outside the table are refused.
            for action in Action::ALL.iter().filter(|a| !ORDER_ACTIONS.contains(a)) {
                assert_eq!(
                    authz.decide(role, object, *action),
                    None,
                    "{role} {object:?} {action:?}"
                );
            }
        }
    }
    assert_eq!(checked, 2 * 5 * 8);
}

#[tokio::test]
async fn leads_table_cell_by_cell() {
    let authz = Authorizer::load().await.unwrap();
    for (role, row) in LEAD_TABLE {
        for (action, expected) in LEAD_ACTIONS.iter().zip(row) {
            assert_eq!(
                authz.decide(role, Object::Lead, *action),
                expected,
                "{role} lead {action:?}"
            );
        }
        for action in Action::ALL.iter().filter(|a| !LEAD_ACTIONS.contains(a)) {
            assert_eq!(
                authz.decide(role, Object::Lead, *action),
                None,
                "{role} lead {action:?}"
            );
        }
    }
}

#[tokio::test]
async fn organisation_administration_rules() {
    let authz = Authorizer::load().await.unwrap();
    for object in [Object::Distributor, Object::Partner, Object::User] {
        assert_eq!(authz.decide(Admin, object, Manage), ALL);
        assert_eq!(authz.decide(Admin, object, View), ALL);
        assert_eq!(authz.decide(RestrictedAdmin, object, View), ALL);
        for role in [RestrictedAdmin, Partner, Distributor, Fulfiller] {
            assert_eq!(
                authz.decide(role, object, Manage),
                None,
                "{role} may not manage {object:?}"
            );
        }
        assert_eq!(authz.decide(Fulfiller, object, View), None);
    }
    assert_eq!(authz.decide(Partner, Object::Partner, View), OWN);
    assert_eq!(authz.decide(Partner, Object::User, View), OWN);
    assert_eq!(authz.decide(Partner, Object::Distributor, View), None);
    assert_eq!(authz.decide(Distributor, Object::Distributor, View), OWN);
    assert_eq!(authz.decide(Distributor, Object::Partner, View), ATT);
    assert_eq!(authz.decide(Distributor, Object::User, View), ATT);
}

#[tokio::test]
async fn a_broken_policy_is_refused_at_load() {
    let bad = "p, admin, order, create, everything\n";
    let err = Authorizer::from_files(tentabo_workflows::authz::MODEL, bad)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("bad scope"), "{err}");
}

#[tokio::test]
async fn everyone_reads_the_catalogue_and_admins_manage_it() {
    let authz = Authorizer::load().await.unwrap();
    for role in Role::ALL {
        assert_eq!(authz.decide(role, Object::Product, View), ALL, "{role}");
        let manage = if role == Admin { ALL } else { N };
        assert_eq!(
            authz.decide(role, Object::Product, Manage),
            manage,
            "{role}"
        );
    }
}

#[tokio::test]
async fn only_admins_operate_the_job_queues() {
    let authz = Authorizer::load().await.unwrap();
    for role in Role::ALL {
        let expected = if role == Admin { ALL } else { N };
        assert_eq!(authz.decide(role, Object::Job, View), expected, "{role}");
        assert_eq!(authz.decide(role, Object::Job, Manage), expected, "{role}");
    }
}

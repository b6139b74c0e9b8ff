//! Every (state, event, role) of the three machines against the expected transitions;
//! anything not listed must be refused, with the allowed events reported.

#![allow(clippy::unwrap_used)]

use tentabo_workflows::identity::Role;
use tentabo_workflows::lifecycle::Effect::{self, *};
use tentabo_workflows::lifecycle::{contract, lead, order};

use contract::{ContractEvent as CE, ContractState as CS};
use lead::{LeadEvent as LE, LeadState as LS};
use order::{OrderEvent as OE, OrderState as OS};

type Expect<S> = Option<(S, Vec<Effect>)>;

fn lead_expected(state: LS, event: LE, actor: Role) -> Expect<LS> {
    let step = |to| Some((to, vec![PushLeadStatusToCrm]));
    match (state, event) {
        (LS::New, LE::Contact) => step(LS::Contacted),
        (LS::Contacted, LE::Qualify) => step(LS::Qualified),
        (LS::Qualified, LE::Propose) => step(LS::Proposal),
        (LS::Proposal, LE::Negotiate) => step(LS::Negotiation),
        (LS::Negotiation, LE::Win) => step(LS::Won),
        (s, LE::Lose) if s.is_open() => step(LS::Lost),
        (LS::Lost, LE::Reopen) if actor == Role::Admin => step(LS::New),
        (LS::Won, LE::Convert) => Some((LS::Won, vec![CreateOrderFromLead])),
        _ => None,
    }
}

fn order_expected(state: OS, event: OE, actor: Role) -> Expect<OS> {
    let fulfiller = matches!(actor, Role::Fulfiller | Role::Admin);
    match (state, event) {
        (OS::Created, OE::Send) => Some((OS::Sent, vec![RequestBillingQuote])),
        (OS::Sent, OE::StartFulfillment) if fulfiller => Some((OS::InFulfillment, vec![])),
        (OS::InFulfillment, OE::Fulfill) if fulfiller => {
            Some((OS::Fulfilled, vec![CreateActiveContract, RequestInvoice]))
        }
        (OS::Created | OS::Sent, OE::Cancel) => Some((OS::Cancelled, vec![])),
        _ => None,
    }
}

fn contract_expected(state: CS, event: CE, actor: Role) -> Expect<CS> {
    match (state, event, actor) {
        (CS::Active, CE::MarkLost, Role::Admin) => Some((CS::Lost, vec![])),
        (CS::Active, CE::Upgrade, Role::Admin) => Some((CS::Upgraded, vec![LinkReplacementOrder])),
        (CS::Active, CE::Downgrade, Role::Admin) => {
            Some((CS::Downgraded, vec![LinkReplacementOrder]))
        }
        _ => None,
    }
}

#[test]
fn every_lead_state_event_and_role() {
    let mut pairs = 0;
    for state in LS::ALL {
        for event in LE::ALL {
            for actor in Role::ALL {
                let got = lead::apply(state, event, actor);
                match (lead_expected(state, event, actor), got) {
                    (Some((to, effects)), Ok(t)) => assert_eq!(
                        (t.from, t.to, t.effects),
                        (state, to, effects),
                        "{state:?} {event:?} {actor}"
                    ),
                    (None, Err(r)) => {
                        assert_eq!(r.state, state);
                        assert!(
                            !r.allowed.contains(&event),
                            "{state:?} {event:?} {actor}: refused yet listed as allowed"
                        );
                    }
                    (want, got) => {
                        panic!("{state:?} {event:?} {actor}: expected {want:?}, got {got:?}")
                    }
                }
                pairs += 1;
            }
        }
    }
    assert_eq!(pairs, 7 * 8 * 5);
}

#[test]
fn every_order_state_event_and_role() {
    for state in OS::ALL {
        for event in OE::ALL {
            for actor in Role::ALL {
                match (
                    order_expected(state, event, actor),
                    order::apply(state, event, actor),
                ) {
                    (Some((to, effects)), Ok(t)) => assert_eq!(
                        (t.to, t.effects),
                        (to, effects),
                        "{state:?} {event:?} {actor}"
                    ),
                    (None, Err(r)) => assert!(!r.allowed.contains(&event)),
                    (want, got) => {
                        panic!("{state:?} {event:?} {actor}: expected {want:?}, got {got:?}")
                    }
                }
            }
        }
    }
}

#[test]
fn every_contract_state_event_and_role() {
    for state in CS::ALL {
        for event in CE::ALL {
            for actor in Role::ALL {
                match (
                    contract_expected(state, event, actor),
                    contract::apply(state, event, actor),
                ) {
                    (Some((to, effects)), Ok(t)) => assert_eq!(
                        (t.to, t.effects),
                        (to, effects),
                        "{state:?} {event:?} {actor}"
                    ),
                    (None, Err(r)) => assert!(!r.allowed.contains(&event)),
                    (want, got) => {
                        panic!("{state:?} {event:?} {actor}: expected {want:?}, got {got:?}")
                    }
                }
            }
        }
    }
}

#[test]
fn cancel_is_the_cancellable_superstates_and_stops_at_fulfilment() {
    assert!(order::apply(OS::Created, OE::Cancel, Role::Partner).is_ok());
    assert!(order::apply(OS::Sent, OE::Cancel, Role::Partner).is_ok());
    let refused = order::apply(OS::InFulfillment, OE::Cancel, Role::Admin).unwrap_err();
    assert_eq!(refused.allowed, vec![OE::Fulfill]);
    assert_eq!(
        order::allowed_events(OS::InFulfillment, Role::Partner),
        vec![]
    );
}

#[test]
fn lose_is_handled_by_the_open_superstate_from_every_open_state() {
    for state in LS::ALL.into_iter().filter(|s| s.is_open()) {
        assert_eq!(
            lead::apply(state, LE::Lose, Role::Partner).unwrap().to,
            LS::Lost
        );
    }
    assert!(lead::apply(LS::Won, LE::Lose, Role::Admin).is_err());
    assert!(lead::apply(LS::Lost, LE::Lose, Role::Admin).is_err());
}

#[test]
fn allowed_events_list_what_apply_accepts() {
    assert_eq!(
        lead::allowed_events(LS::Contacted, Role::Partner),
        vec![LE::Qualify, LE::Lose]
    );
    assert_eq!(
        lead::allowed_events(LS::Lost, Role::Admin),
        vec![LE::Reopen]
    );
    assert_eq!(lead::allowed_events(LS::Lost, Role::Partner), vec![]);
    assert_eq!(
        order::allowed_events(OS::Sent, Role::Fulfiller),
        vec![OE::StartFulfillment, OE::Cancel]
    );
    assert_eq!(
        order::allowed_events(OS::Sent, Role::Partner),
        vec![OE::Cancel]
    );
    assert_eq!(
        contract::allowed_events(CS::Active, Role::Admin),
        vec![CE::MarkLost, CE::Upgrade, CE::Downgrade]
    );
    assert_eq!(
        contract::allowed_events(CS::Active, Role::Fulfiller),
        vec![]
    );
}

#[test]
fn states_and_events_are_snake_case_on_the_wire() {
    assert_eq!(
        serde_json::to_value(OS::InFulfillment).unwrap(),
        "in_fulfillment"
    );
    assert_eq!(
        serde_json::to_value(OE::StartFulfillment).unwrap(),
        "start_fulfillment"
    );
    assert_eq!(serde_json::to_value(CE::MarkLost).unwrap(), "mark_lost");
    assert_eq!(
        serde_json::from_value::<LE>(serde_json::json!("negotiate")).unwrap(),
        LE::Negotiate
    );
}

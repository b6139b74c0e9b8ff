//! Lead: superstate `open` { new, contacted, qualified, proposal, negotiation },
//! superstate `closed` { won, lost }. Events move forward one step; `lose` works from any
//! open state (the superstate handles it); `reopen` takes a lost lead back to `new`
//! (admin only); `convert` on a won lead creates an order. Every status change is
//! pushed to the CRM.

use serde::{Deserialize, Serialize};
use statig::prelude::*;

use super::{Ctx, Effect, Lifecycle, Refused, Transition, accept};
use crate::identity::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeadState {
    New,
    Contacted,
    Qualified,
    Proposal,
    Negotiation,
    Won,
    Lost,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeadEvent {
    Contact,
    Qualify,
    Propose,
    Negotiate,
    Win,
    Lose,
    Reopen,
    Convert,
}

impl LeadState {
    pub const ALL: [LeadState; 7] = [
        LeadState::New,
        LeadState::Contacted,
        LeadState::Qualified,
        LeadState::Proposal,
        LeadState::Negotiation,
        LeadState::Won,
        LeadState::Lost,
    ];
    pub fn is_open(self) -> bool {
        !matches!(self, LeadState::Won | LeadState::Lost)
    }
}

impl LeadEvent {
    pub const ALL: [LeadEvent; 8] = [
        LeadEvent::Contact,
        LeadEvent::Qualify,
        LeadEvent::Propose,
        LeadEvent::Negotiate,
        LeadEvent::Win,
        LeadEvent::Lose,
        LeadEvent::Reopen,
        LeadEvent::Convert,
    ];
}

#[derive(Debug, Default)]
pub struct LeadMachine;

#[state_machine(
    initial = "State::fresh()",
    state(derive(Debug, Clone, Copy, PartialEq, Eq))
)]
impl LeadMachine {
    #[state(superstate = "open")]
    fn fresh(context: &mut Ctx, event: &LeadEvent) -> Outcome<State> {
        match event {
            LeadEvent::Contact => accept(context, State::contacted()),
            _ => Super,
        }
    }

    #[state(superstate = "open")]
    fn contacted(context: &mut Ctx, event: &LeadEvent) -> Outcome<State> {
        match event {
            LeadEvent::Qualify => accept(context, State::qualified()),
            _ => Super,
        }
    }

    #[state(superstate = "open")]
    fn qualified(context: &mut Ctx, event: &LeadEvent) -> Outcome<State> {
        match event {
            LeadEvent::Propose => accept(context, State::proposal()),
            _ => Super,
        }
    }

    #[state(superstate = "open")]
    fn proposal(context: &mut Ctx, event: &LeadEvent) -> Outcome<State> {
        match event {
            LeadEvent::Negotiate => accept(context, State::negotiation()),
            _ => Super,
        }
    }

    #[state(superstate = "open")]
    fn negotiation(context: &mut Ctx, event: &LeadEvent) -> Outcome<State> {
        match event {
            LeadEvent::Win => accept(context, State::won()),
            _ => Super,
        }
    }

    /// Any open lead can be lost.
    #[superstate]
    fn open(context: &mut Ctx, event: &LeadEvent) -> Outcome<State> {
        match event {
            LeadEvent::Lose => accept(context, State::lost()),
            _ => Super,
        }
    }

    #[state(superstate = "closed")]
    fn won(context: &mut Ctx, event: &LeadEvent) -> Outcome<State> {
        match event {
            LeadEvent::Convert => {
                context.accepted = true;
                context.effects.push(Effect::CreateOrderFromLead);
                Handled
            }
            _ => Super,
        }
    }

    #[state(superstate = "closed")]
    fn lost(context: &mut Ctx, event: &LeadEvent) -> Outcome<State> {
        match event {
            LeadEvent::Reopen if context.actor == Role::Admin => accept(context, State::fresh()),
            _ => Super,
        }
    }

    #[superstate]
    fn closed(event: &LeadEvent) -> Outcome<State> {
        let _ = event;
        Super
    }
}

fn to_machine(s: LeadState) -> State {
    match s {
        LeadState::New => State::fresh(),
        LeadState::Contacted => State::contacted(),
        LeadState::Qualified => State::qualified(),
        LeadState::Proposal => State::proposal(),
        LeadState::Negotiation => State::negotiation(),
        LeadState::Won => State::won(),
        LeadState::Lost => State::lost(),
    }
}

fn from_machine(s: &State) -> LeadState {
    match s {
        State::Fresh {} => LeadState::New,
        State::Contacted {} => LeadState::Contacted,
        State::Qualified {} => LeadState::Qualified,
        State::Proposal {} => LeadState::Proposal,
        State::Negotiation {} => LeadState::Negotiation,
        State::Won {} => LeadState::Won,
        State::Lost {} => LeadState::Lost,
    }
}

impl Lifecycle for LeadMachine {
    type State = LeadState;
    type Event = LeadEvent;
    const EVENTS: &'static [LeadEvent] = &LeadEvent::ALL;

    fn run(state: LeadState, event: LeadEvent, actor: Role) -> (Ctx, LeadState) {
        let (ctx, end) = super::run(LeadMachine, to_machine(state), &event, actor);
        (ctx, from_machine(&end))
    }

    fn on_state_change() -> Option<Effect> {
        Some(Effect::PushLeadStatusToCrm)
    }
}

/// Applies `event` to a lead in `state` for `actor`.
pub fn apply(
    state: LeadState,
    event: LeadEvent,
    actor: Role,
) -> Result<Transition<LeadState>, Refused<LeadState, LeadEvent>> {
    LeadMachine::apply(state, event, actor)
}

/// The events `actor` may send a lead in `state` (the API's `allowed_events`).
pub fn allowed_events(state: LeadState, actor: Role) -> Vec<LeadEvent> {
    LeadMachine::allowed_events(state, actor)
}

//! Contract: born `active` when its order is fulfilled; `mark_lost`, `upgrade` and
//! `downgrade` (managing contracts: admins) end it in `lost`, `upgraded` or
//! `downgraded`, all under the superstate `ended`. An upgrade or downgrade names the
//! order that replaces the contract.

use serde::{Deserialize, Serialize};
use statig::prelude::*;

use super::{Ctx, Effect, Lifecycle, Refused, Transition, accept};
use crate::identity::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContractState {
    Active,
    Lost,
    Upgraded,
    Downgraded,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContractEvent {
    MarkLost,
    Upgrade,
    Downgrade,
}

impl ContractState {
    pub const ALL: [ContractState; 4] = [
        ContractState::Active,
        ContractState::Lost,
        ContractState::Upgraded,
        ContractState::Downgraded,
    ];
}

impl ContractEvent {
    pub const ALL: [ContractEvent; 3] = [
        ContractEvent::MarkLost,
        ContractEvent::Upgrade,
        ContractEvent::Downgrade,
    ];
}

#[derive(Debug, Default)]
pub struct ContractMachine;

#[state_machine(
    initial = "State::active()",
    state(derive(Debug, Clone, Copy, PartialEq, Eq))
)]
impl ContractMachine {
    #[state]
    fn active(context: &mut Ctx, event: &ContractEvent) -> Outcome<State> {
        if context.actor != Role::Admin {
            return Super;
        }
        match event {
            ContractEvent::MarkLost => accept(context, State::lost()),
            ContractEvent::Upgrade => {
                context.effects.push(Effect::LinkReplacementOrder);
                accept(context, State::upgraded())
            }
            ContractEvent::Downgrade => {
                context.effects.push(Effect::LinkReplacementOrder);
                accept(context, State::downgraded())
            }
        }
    }

    #[state(superstate = "ended")]
    fn lost(event: &ContractEvent) -> Outcome<State> {
        let _ = event;
        Super
    }

    #[state(superstate = "ended")]
    fn upgraded(event: &ContractEvent) -> Outcome<State> {
        let _ = event;
        Super
    }

    #[state(superstate = "ended")]
    fn downgraded(event: &ContractEvent) -> Outcome<State> {
        let _ = event;
        Super
    }

    /// An ended contract takes no more events.
    #[superstate]
    fn ended(event: &ContractEvent) -> Outcome<State> {
        let _ = event;
        Super
    }
}

fn to_machine(s: ContractState) -> State {
    match s {
        ContractState::Active => State::active(),
        ContractState::Lost => State::lost(),
        ContractState::Upgraded => State::upgraded(),
        ContractState::Downgraded => State::downgraded(),
    }
}

fn from_machine(s: &State) -> ContractState {
    match s {
        State::Active {} => ContractState::Active,
        State::Lost {} => ContractState::Lost,
        State::Upgraded {} => ContractState::Upgraded,
        State::Downgraded {} => ContractState::Downgraded,
    }
}

impl Lifecycle for ContractMachine {
    type State = ContractState;
    type Event = ContractEvent;
    const EVENTS: &'static [ContractEvent] = &ContractEvent::ALL;

    fn run(state: ContractState, event: ContractEvent, actor: Role) -> (Ctx, ContractState) {
        let (ctx, end) = super::run(ContractMachine, to_machine(state), &event, actor);
        (ctx, from_machine(&end))
    }
}

/// Applies `event` to a contract in `state` for `actor`.
pub fn apply(
    state: ContractState,
    event: ContractEvent,
    actor: Role,
) -> Result<Transition<ContractState>, Refused<ContractState, ContractEvent>> {
    ContractMachine::apply(state, event, actor)
}

/// The events `actor` may send a contract in `state` (the API's `allowed_events`).
pub fn allowed_events(state: ContractState, actor: Role) -> Vec<ContractEvent> {
    ContractMachine::allowed_events(state, actor)
}

//! Order: superstate `open` { superstate `cancellable` { created, sent },
//! in_fulfillment }, terminal `fulfilled` and `cancelled`. `send` asks billing for a
//! quote; `start_fulfillment` and `fulfill` are the fulfiller's (or an admin's);
//! `fulfill` creates the Active contract and asks billing for an invoice; `cancel` is
//! handled by the `cancellable` superstate, so it works from created and sent and is
//! refused once fulfilment has started.

use serde::{Deserialize, Serialize};
use statig::prelude::*;

use super::{Ctx, Effect, Lifecycle, Refused, Transition, accept};
use crate::identity::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    Created,
    Sent,
    InFulfillment,
    Fulfilled,
    Cancelled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderEvent {
    Send,
    StartFulfillment,
    Fulfill,
    Cancel,
}

impl OrderState {
    pub const ALL: [OrderState; 5] = [
        OrderState::Created,
        OrderState::Sent,
        OrderState::InFulfillment,
        OrderState::Fulfilled,
        OrderState::Cancelled,
    ];
}

impl OrderEvent {
    pub const ALL: [OrderEvent; 4] = [
        OrderEvent::Send,
        OrderEvent::StartFulfillment,
        OrderEvent::Fulfill,
        OrderEvent::Cancel,
    ];
}

fn fulfils(actor: Role) -> bool {
    matches!(actor, Role::Fulfiller | Role::Admin)
}

#[derive(Debug, Default)]
pub struct OrderMachine;

#[state_machine(
    initial = "State::created()",
    state(derive(Debug, Clone, Copy, PartialEq, Eq))
)]
impl OrderMachine {
    #[state(superstate = "cancellable")]
    fn created(context: &mut Ctx, event: &OrderEvent) -> Outcome<State> {
        match event {
            OrderEvent::Send => {
                context.effects.push(Effect::RequestBillingQuote);
                accept(context, State::sent())
            }
            _ => Super,
        }
    }

    #[state(superstate = "cancellable")]
    fn sent(context: &mut Ctx, event: &OrderEvent) -> Outcome<State> {
        match event {
            OrderEvent::StartFulfillment if fulfils(context.actor) => {
                accept(context, State::in_fulfillment())
            }
            _ => Super,
        }
    }

    #[state(superstate = "open")]
    fn in_fulfillment(context: &mut Ctx, event: &OrderEvent) -> Outcome<State> {
        match event {
            OrderEvent::Fulfill if fulfils(context.actor) => {
                context.effects.push(Effect::CreateActiveContract);
                context.effects.push(Effect::RequestInvoice);
                accept(context, State::fulfilled())
            }
            _ => Super,
        }
    }

    /// Created and sent orders can be cancelled; an order in fulfilment cannot.
    #[superstate(superstate = "open")]
    fn cancellable(context: &mut Ctx, event: &OrderEvent) -> Outcome<State> {
        match event {
            OrderEvent::Cancel => accept(context, State::cancelled()),
            _ => Super,
        }
    }

    #[superstate]
    fn open(event: &OrderEvent) -> Outcome<State> {
        let _ = event;
        Super
    }

    #[state]
    fn fulfilled(event: &OrderEvent) -> Outcome<State> {
        let _ = event;
        Super
    }

    #[state]
    fn cancelled(event: &OrderEvent) -> Outcome<State> {
        let _ = event;
        Super
    }
}

fn to_machine(s: OrderState) -> State {
    match s {
        OrderState::Created => State::created(),
        OrderState::Sent => State::sent(),
        OrderState::InFulfillment => State::in_fulfillment(),
        OrderState::Fulfilled => State::fulfilled(),
        OrderState::Cancelled => State::cancelled(),
    }
}

fn from_machine(s: &State) -> OrderState {
    match s {
        State::Created {} => OrderState::Created,
        State::Sent {} => OrderState::Sent,
        State::InFulfillment {} => OrderState::InFulfillment,
        State::Fulfilled {} => OrderState::Fulfilled,
        State::Cancelled {} => OrderState::Cancelled,
    }
}

impl Lifecycle for OrderMachine {
    type State = OrderState;
    type Event = OrderEvent;
    const EVENTS: &'static [OrderEvent] = &OrderEvent::ALL;

    fn run(state: OrderState, event: OrderEvent, actor: Role) -> (Ctx, OrderState) {
        let (ctx, end) = super::run(OrderMachine, to_machine(state), &event, actor);
        (ctx, from_machine(&end))
    }
}

/// Applies `event` to an order in `state` for `actor`.
pub fn apply(
    state: OrderState,
    event: OrderEvent,
    actor: Role,
) -> Result<Transition<OrderState>, Refused<OrderState, OrderEvent>> {
    OrderMachine::apply(state, event, actor)
}

/// The events `actor` may send an order in `state` (the API's `allowed_events`).
pub fn allowed_events(state: OrderState, actor: Role) -> Vec<OrderEvent> {
    OrderMachine::allowed_events(state, actor)
}

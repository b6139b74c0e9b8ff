//! Lifecycles (SPEC §3) as statig hierarchical state machines: leads, orders, contracts.
//!
//! The machines are pure: given a stored state, an event and the actor, they return
//! the next state and the effects to perform, as data. They do no I/O; the transition
//! service (one Postgres transaction: state + version, history, audit, an outbox row
//! per effect) is built on top of them. Blocking machines only: statig's async machines
//! produce futures that are not `Send` (statig issue 78).

pub mod contract;
pub mod lead;
pub mod order;

use serde::Serialize;

use crate::identity::Role;

/// A consequence of a transition elsewhere, performed later by a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Push the lead's new status to the active CRM provider.
    PushLeadStatusToCrm,
    /// Create an order (Created) linked to the converted lead.
    CreateOrderFromLead,
    /// Ask the billing provider for a quote of the order.
    RequestBillingQuote,
    /// Create the Active contract of the fulfilled order.
    CreateActiveContract,
    /// Ask the billing provider for an invoice of the fulfilled order.
    RequestInvoice,
    /// The contract is replaced by the order named in the event's payload.
    LinkReplacementOrder,
}

/// What a machine handler sees besides the event: who acts, and where it records the
/// effects and whether the event was accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ctx {
    pub actor: Role,
    pub effects: Vec<Effect>,
    pub accepted: bool,
}

impl Ctx {
    pub fn new(actor: Role) -> Ctx {
        Ctx {
            actor,
            effects: Vec::new(),
            accepted: false,
        }
    }
}

/// The result of applying an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition<S> {
    pub from: S,
    pub to: S,
    pub effects: Vec<Effect>,
}

/// The event is not allowed now (for this actor); `allowed` lists those that are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused<S, E> {
    pub state: S,
    pub allowed: Vec<E>,
}

/// Marks the event accepted and moves to `to` (used by every machine's handlers).
pub(crate) fn accept<S>(ctx: &mut Ctx, to: S) -> statig::Outcome<S> {
    ctx.accepted = true;
    statig::Outcome::Transition(to)
}

/// Restores machine `M` in `state`, hands it `event`, and returns the context (effects,
/// whether the event was accepted) and the state it ended in. Shared by the three
/// machines; nothing is kept between calls.
pub(crate) fn run<M>(
    machine: M,
    state: M::State,
    event: &M::Event<'_>,
    actor: Role,
) -> (Ctx, M::State)
where
    M: for<'c> statig::blocking::IntoStateMachine<Context<'c> = Ctx>,
    M::State: statig::blocking::State<M> + Clone,
    for<'sub> M::Superstate<'sub>: statig::blocking::Superstate<M>,
{
    use statig::blocking::IntoStateMachineExt;
    let mut ctx = Ctx::new(actor);
    let mut machine = machine.uninitialized_state_machine();
    *machine.state_mut() = state;
    let mut machine: statig::blocking::StateMachine<M> = machine.init_with_context(&mut ctx).into();
    machine.handle_with_context(event, &mut ctx);
    let end = machine.state().clone();
    (ctx, end)
}

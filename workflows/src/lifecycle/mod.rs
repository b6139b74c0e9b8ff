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

/// What applying an event to machine `L` gives: the transition, or the refusal.
pub type Outcome<L> = Result<
    Transition<<L as Lifecycle>::State>,
    Refused<<L as Lifecycle>::State, <L as Lifecycle>::Event>,
>;

/// What the three machines share: restore, handle, and report. Each machine supplies
/// its state/event types and the restore-and-handle step; applying an event and listing
/// the allowed ones are the same for all.
pub trait Lifecycle {
    type State: Copy + Eq;
    type Event: Copy + Eq + 'static;
    const EVENTS: &'static [Self::Event];

    /// Restores the machine in `state`, hands it `event`, returns context and end state.
    fn run(state: Self::State, event: Self::Event, actor: Role) -> (Ctx, Self::State);

    /// An effect every change of state brings (the lead's CRM push); none by default.
    fn on_state_change() -> Option<Effect> {
        None
    }

    fn apply(state: Self::State, event: Self::Event, actor: Role) -> Outcome<Self> {
        let (ctx, to) = Self::run(state, event, actor);
        if !ctx.accepted {
            return Err(Refused {
                state,
                allowed: Self::allowed_events(state, actor),
            });
        }
        let mut effects = ctx.effects;
        if let Some(effect) = Self::on_state_change().filter(|_| to != state) {
            effects.insert(0, effect);
        }
        Ok(Transition {
            from: state,
            to,
            effects,
        })
    }

    fn allowed_events(state: Self::State, actor: Role) -> Vec<Self::Event> {
        Self::EVENTS
            .iter()
            .copied()
            .filter(|e| Self::run(state, *e, actor).0.accepted)
            .collect()
    }
}

//! Field mapping (SPEC §7, issue 19): the canonical vocabulary as data
//! ([`vocabulary`]); the deterministic engine proposing source → canonical mappings
//! with a confidence and a reason ([`engine`]); mappings as versioned data the mapper
//! stage runs ([`rules`]); versions, decisions, learning and activation in the
//! database ([`store`]); a provider's live fields and raw-zone samples ([`sources`]);
//! the LLM engine's answer combined with the rules engine's ([`combine`]).

pub mod combine;
pub mod engine;
pub mod rules;
pub mod sources;
pub mod store;
pub mod vocabulary;

#[cfg(test)]
mod tests;

//! Field mapping (SPEC §7, issue 19): the canonical vocabulary as data
//! ([`vocabulary`]) and the deterministic engine that proposes source → canonical
//! mappings with a confidence and a reason ([`engine`]). Not wired to the API or the
//! mapper stage yet: versions, approval, learning persistence, the LLM engine and the
//! replay come next.

pub mod engine;
pub mod vocabulary;

#[cfg(test)]
mod tests;

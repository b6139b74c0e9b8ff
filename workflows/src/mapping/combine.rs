//! The two engines' proposals combined, field by field: where both agree the
//! confidence rises (`rules+llm`); where they differ, or only the LLM has a target, the
//! better one is kept with the other named in the reason, and its confidence is capped
//! below the auto-approval threshold — a person looks. Whatever the LLM got wrong (no
//! answer, a target outside SPEC §10, one the connector derives) leaves the rules
//! engine's proposal, and the reason says why. Targets stay one to one over the entity.

use std::collections::HashMap;

use super::engine::{self, Learned, Proposal, SourceField, transform};
use super::vocabulary::targets;
use crate::error::FieldErrors;
use crate::providers::llm::{LlmClient, LlmError, LlmProposal};

/// The most a proposal the engines disagree on (or that only the LLM makes) gets:
/// below the default auto-approval threshold.
pub const UNSURE_CAP: f64 = 0.85;

fn round(x: f64) -> f64 {
    (x.clamp(0.0, 1.0) * 100.0).round() / 100.0
}

/// The canonical fields of `entity` as the LLM is told them: name and kind.
pub fn vocabulary(entity: &str, exclude: &[&str]) -> Vec<(&'static str, &'static str)> {
    targets(entity)
        .unwrap_or_default()
        .iter()
        .filter(|t| !exclude.contains(&t.name))
        .map(|t| (t.name, t.kind.as_str()))
        .collect()
}

/// Both engines' proposals for `fields` (the rules engine's alone without an active
/// LLM engine). Bad requests are refused before the LLM is called.
pub async fn propose(
    llm: Option<&LlmClient>,
    entity: &str,
    fields: &[SourceField],
    learned: &Learned,
    exclude: &[&str],
) -> Result<Vec<Proposal>, FieldErrors> {
    let rules = engine::propose_excluding(entity, fields, learned, exclude)?;
    let Some(llm) = llm else {
        return Ok(rules);
    };
    let answer = llm
        .propose(entity, fields, &vocabulary(entity, exclude))
        .await;
    if let Err(e) = &answer {
        tracing::warn!(error = %e, "LLM mapping engine failed; the rules engine answers");
    }
    Ok(combine(entity, fields, rules, answer, exclude))
}

/// Combines the rules engine's `rules` (one per field, in order) with the LLM's
/// answer (or its failure).
pub fn combine(
    entity: &str,
    fields: &[SourceField],
    rules: Vec<Proposal>,
    llm: Result<Vec<LlmProposal>, LlmError>,
    exclude: &[&str],
) -> Vec<Proposal> {
    let answers = match llm {
        Ok(a) => a,
        Err(e) => {
            return rules
                .into_iter()
                .map(|mut p| {
                    p.reason = format!("{}; the LLM engine was not used ({e})", p.reason);
                    p
                })
                .collect();
        }
    };
    let vocabulary = targets(entity).unwrap_or_default();
    let mut by_field: HashMap<&str, &LlmProposal> = HashMap::new();
    for a in &answers {
        by_field.entry(a.source_field.as_str()).or_insert(a);
    }
    // Per field: the chosen proposal and the alternative (the other engine's target).
    let mut chosen: Vec<(Proposal, Option<Proposal>)> = Vec::with_capacity(fields.len());
    for (field, r) in fields.iter().zip(rules) {
        let Some(l) = by_field.get(field.name.as_str()) else {
            let mut r = r;
            r.reason = format!("{}; the LLM gave no answer for this field", r.reason);
            chosen.push((r, None));
            continue;
        };
        let target = match l.target_field.as_deref() {
            None => Ok(None),
            Some(t) => match vocabulary.iter().find(|v| v.name == t) {
                Some(v) if !exclude.contains(&v.name) => Ok(Some(v)),
                _ => Err(t),
            },
        };
        let target = match target {
            Err(t) => {
                let mut r = r;
                r.reason = format!(
                    "{}; the LLM proposed '{t}', which is not a field it may fill, so the rules engine's proposal stands",
                    r.reason
                );
                chosen.push((r, None));
                continue;
            }
            Ok(t) => t,
        };
        let l_conf = if l.confidence.is_finite() {
            l.confidence.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let l_reason = if l.reason.trim().is_empty() {
            "no reason given".to_owned()
        } else {
            l.reason.trim().chars().take(300).collect()
        };
        let from_llm = |confidence: f64, reason: String| Proposal {
            source_field: field.name.clone(),
            target_field: target.map(|t| t.name.to_owned()),
            transform: match target {
                Some(t) => transform(field.kind.as_deref(), t.kind),
                None => "keep_in_extras",
            },
            confidence: round(confidence),
            reason,
            engine: "llm",
        };
        let same = r.target_field.as_deref() == target.map(|t| t.name);
        if same {
            let mut both = r;
            both.engine = "rules+llm";
            if both.target_field.is_some() {
                both.confidence = round((1.0 - (1.0 - both.confidence) * (1.0 - l_conf)).min(0.99));
                both.reason = format!("{}; the LLM agrees: {l_reason}", both.reason);
            } else {
                both.reason =
                    "neither engine found a canonical field for it; kept in the row's extras"
                        .into();
            }
            chosen.push((both, None));
            continue;
        }
        // They differ: the better one, capped, the other as the alternative.
        let r_conf = if r.target_field.is_some() {
            r.confidence
        } else {
            0.0
        };
        let l_eff = if target.is_some() { l_conf } else { 0.0 };
        if l_eff > r_conf {
            let other = match &r.target_field {
                Some(t) => format!("; the rules engine proposed '{t}' ({:.2})", r.confidence),
                None => "; the rules engine found none".into(),
            };
            let p = from_llm(l_eff.min(UNSURE_CAP), format!("LLM: {l_reason}{other}"));
            let alt = r.target_field.is_some().then_some(r);
            chosen.push((p, alt));
        } else {
            let other = match target {
                Some(t) => format!("; the LLM proposed '{}' ({l_conf:.2}): {l_reason}", t.name),
                None => format!("; the LLM found none ({l_reason})"),
            };
            let alt = target.map(|_| from_llm(l_eff.min(UNSURE_CAP), format!("LLM: {l_reason}")));
            let mut r = r;
            r.confidence = round(r.confidence.min(UNSURE_CAP));
            r.reason = format!("{}{other}", r.reason);
            chosen.push((r, alt));
        }
    }
    one_to_one(chosen)
}

/// Two fields never keep one target: the more confident keeps it, the other takes its
/// alternative when free, or none.
fn one_to_one(chosen: Vec<(Proposal, Option<Proposal>)>) -> Vec<Proposal> {
    let mut order: Vec<usize> = (0..chosen.len()).collect();
    order.sort_by(|a, b| {
        chosen[*b]
            .0
            .confidence
            .total_cmp(&chosen[*a].0.confidence)
            .then(a.cmp(b))
    });
    let mut taken: HashMap<String, String> = HashMap::new();
    let mut out: Vec<Option<Proposal>> = vec![None; chosen.len()];
    let mut chosen: Vec<Option<(Proposal, Option<Proposal>)>> =
        chosen.into_iter().map(Some).collect();
    for i in order {
        let (p, alt) = chosen[i].take().expect("each once");
        let free = |p: &Proposal, taken: &HashMap<String, String>| {
            p.target_field
                .as_ref()
                .is_none_or(|t| !taken.contains_key(t))
        };
        let pick = if free(&p, &taken) {
            p
        } else if let Some(a) = alt.filter(|a| free(a, &taken)) {
            let winner = &taken[p.target_field.as_deref().unwrap_or_default()];
            Proposal {
                reason: format!(
                    "{}; '{}' went to {winner}",
                    a.reason,
                    p.target_field.as_deref().unwrap_or_default()
                ),
                confidence: round(a.confidence.min(UNSURE_CAP)),
                ..a
            }
        } else {
            let winner = taken[p.target_field.as_deref().unwrap_or_default()].clone();
            Proposal {
                target_field: None,
                transform: "keep_in_extras",
                confidence: 0.0,
                reason: format!(
                    "'{}' went to {winner}, a better match; kept in the row's extras",
                    p.target_field.as_deref().unwrap_or_default()
                ),
                ..p
            }
        };
        if let Some(t) = &pick.target_field {
            taken.insert(t.clone(), pick.source_field.clone());
        }
        out[i] = Some(pick);
    }
    out.into_iter().map(|p| p.expect("every field")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::engine::{Learned, propose};

    fn field(name: &str, label: &str, ty: &str) -> SourceField {
        SourceField {
            name: name.into(),
            label: Some(label.into()),
            kind: Some(ty.into()),
            ..SourceField::default()
        }
    }

    fn llm(items: &[(&str, Option<&str>, f64)]) -> Result<Vec<LlmProposal>, LlmError> {
        Ok(items
            .iter()
            .map(|(s, t, c)| LlmProposal {
                source_field: (*s).into(),
                target_field: t.map(str::to_owned),
                confidence: *c,
                reason: format!("because {s}"),
            })
            .collect())
    }

    fn fields() -> Vec<SourceField> {
        vec![
            field("email", "Email", "char"),
            field("x_hq", "Siège", "char"),
            field("zip", "Zip", "char"),
            field("x_note", "Internal note", "text"),
        ]
    }

    fn run(answer: Result<Vec<LlmProposal>, LlmError>) -> Vec<Proposal> {
        let f = fields();
        let rules = propose("organization", &f, &Learned::default()).unwrap();
        combine("organization", &f, rules, answer, &[])
    }

    fn by<'a>(ps: &'a [Proposal], name: &str) -> &'a Proposal {
        ps.iter().find(|p| p.source_field == name).unwrap()
    }

    #[test]
    fn agreement_raises_confidence_and_an_llm_only_target_waits_for_a_person() {
        let ps = run(llm(&[
            ("email", Some("email"), 0.9),
            ("x_hq", Some("city"), 0.97),
            ("zip", Some("postal_code"), 0.9),
            ("x_note", None, 0.8),
        ]));
        assert_eq!(ps.len(), 4);
        let email = by(&ps, "email");
        assert_eq!(
            (email.engine, email.target_field.as_deref()),
            ("rules+llm", Some("email"))
        );
        assert!(
            email.confidence >= 0.95 && email.reason.contains("the LLM agrees"),
            "{email:?}"
        );
        let hq = by(&ps, "x_hq");
        assert_eq!(
            (hq.engine, hq.target_field.as_deref()),
            ("llm", Some("city"))
        );
        assert!(hq.confidence <= UNSURE_CAP, "{hq:?}");
        assert_eq!(hq.transform, "as_is");
        assert_eq!(by(&ps, "x_note").target_field, None);
    }

    #[test]
    fn every_failure_leaves_a_rules_proposal_for_every_field_saying_why() {
        let plain = run(Err(LlmError::Unavailable("timed out".into())));
        assert!(
            plain
                .iter()
                .all(|p| p.engine == "rules" && p.reason.contains("timed out"))
        );
        assert_eq!(plain.len(), 4);
        let wrong = run(llm(&[
            ("email", Some("favourite_colour"), 0.99),
            ("zip", Some("postal_code"), 0.9),
        ]));
        let email = by(&wrong, "email");
        assert_eq!(
            (email.engine, email.target_field.as_deref()),
            ("rules", Some("email"))
        );
        assert!(email.reason.contains("favourite_colour"), "{email:?}");
        assert!(by(&wrong, "x_hq").reason.contains("no answer"));
        let nan = run(llm(&[("x_hq", Some("city"), f64::NAN)]));
        assert!(by(&nan, "x_hq").confidence.is_finite());
    }

    #[test]
    fn a_disagreement_is_capped_and_targets_stay_one_to_one() {
        // The LLM wants the zip as the city and the head office as the city too.
        let ps = run(llm(&[
            ("zip", Some("city"), 0.95),
            ("x_hq", Some("city"), 0.9),
            ("email", Some("email"), 0.9),
        ]));
        let zip = by(&ps, "zip");
        let hq = by(&ps, "x_hq");
        assert!(zip.confidence <= UNSURE_CAP && hq.confidence <= UNSURE_CAP);
        let cities = ps
            .iter()
            .filter(|p| p.target_field.as_deref() == Some("city"))
            .count();
        assert_eq!(cities, 1, "{ps:?}");
        // The zip's alternative (the rules engine's postal code) is free: it takes it.
        assert!(
            zip.target_field.as_deref() == Some("postal_code") || hq.target_field.is_none(),
            "{ps:?}"
        );
    }
}

//! The deterministic mapping engine: for a source described as fields (name, label,
//! type, help, selection values, samples), a proposal per field — a canonical target of
//! SPEC §10 or none, a transform, a confidence in [0, 1] and a reason a person can read.
//!
//! Scores come from the field's name (case styles, accents, `x_`/`x_studio_` prefixes
//! and `_id` suffixes normalised away) and label against each target's English and
//! French synonyms, then type compatibility and what the sample values look like
//! (emails, phones, URLs, countries, currencies, dates, amounts, VAT numbers), then what
//! this installation approved or rejected before. Targets are assigned one to one over
//! the whole entity, best scores first: two source fields never both win one target.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::vocabulary::{Kind, Target, targets};
use crate::error::FieldErrors;

/// The most fields one request may describe.
pub const MAX_FIELDS: usize = 2_000;
/// Samples and selection values one field may carry.
pub const MAX_SAMPLES: usize = 20;
pub const MAX_SELECTION: usize = 500;
/// Below this, a field is proposed for no target (kept in the row's extras).
pub const MIN_CONFIDENCE: f64 = 0.4;
pub const ENGINE: &str = "rules";

/// A source field as a connector (or a person) describes it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SourceField {
    pub name: String,
    #[serde(default)]
    pub label: Option<String>,
    /// The source's type name (`char`, `many2one`, `monetary`, `date`, …).
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub help: Option<String>,
    #[serde(default)]
    pub selection: Vec<String>,
    #[serde(default)]
    pub samples: Vec<String>,
}

/// What the engine proposes for one source field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Proposal {
    pub source_field: String,
    /// `None`: no canonical field; the value is kept in the row's extras.
    pub target_field: Option<String>,
    pub transform: &'static str,
    pub confidence: f64,
    pub reason: String,
    pub engine: &'static str,
}

/// What an installation taught the engine: a normalised field name or label → the
/// targets approved (+) or rejected (−) for it, per entity.
#[derive(Debug, Clone, Default)]
pub struct Learned {
    votes: HashMap<(String, String), HashMap<String, i32>>,
}

impl Learned {
    /// Records a person's decision on `field` → `target` for `entity`.
    pub fn record(&mut self, entity: &str, field: &SourceField, target: &str, approved: bool) {
        for key in keys(field) {
            *self
                .votes
                .entry((entity.to_owned(), key))
                .or_default()
                .entry(target.to_owned())
                .or_default() += if approved { 1 } else { -1 };
        }
    }

    /// Adds stored votes (a row of `mapping_feedback`).
    pub fn add(&mut self, entity: &str, key: &str, target: &str, votes: i32) {
        *self
            .votes
            .entry((entity.to_owned(), key.to_owned()))
            .or_default()
            .entry(target.to_owned())
            .or_default() += votes;
    }

    fn vote(&self, entity: &str, field: &SourceField, target: &str) -> i32 {
        keys(field)
            .iter()
            .filter_map(|k| self.votes.get(&(entity.to_owned(), k.clone())))
            .filter_map(|m| m.get(target))
            .copied()
            .max_by_key(|v| v.abs())
            .unwrap_or(0)
    }
}

/// The keys a decision on `field` is remembered under: its normalised name and label.
pub fn keys(field: &SourceField) -> Vec<String> {
    let mut out = vec![format!("name:{}", normalise_name(&field.name))];
    if let Some(label) = field
        .label
        .as_deref()
        .map(normalise)
        .filter(|l| !l.is_empty())
    {
        out.push(format!("label:{label}"));
    }
    out
}

/// Lowercase, accents folded, case styles and punctuation turned into single spaces.
pub fn normalise(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_lower = false;
    for c in s.chars() {
        if c.is_uppercase() && prev_lower {
            out.push(' ');
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        for l in c.to_lowercase() {
            let folded = match l {
                'à' | 'â' | 'ä' | 'á' | 'ã' => "a",
                'é' | 'è' | 'ê' | 'ë' => "e",
                'î' | 'ï' | 'í' => "i",
                'ô' | 'ö' | 'ó' | 'õ' => "o",
                'ù' | 'û' | 'ü' | 'ú' => "u",
                'ç' => "c",
                'ñ' => "n",
                'œ' => "oe",
                'æ' => "ae",
                'ß' => "ss",
                c if c.is_alphanumeric() => {
                    out.push(c);
                    continue;
                }
                _ => " ",
            };
            out.push_str(folded);
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A field name without the prefixes and suffixes sources add (`x_studio_`, `x_`,
/// `_id`, `_ids`), normalised.
pub fn normalise_name(name: &str) -> String {
    let lower = name.trim();
    let mut s = lower;
    for prefix in ["x_studio_", "X_studio_", "x_", "cf_", "custom_"] {
        if let Some(rest) = s.strip_prefix(prefix) {
            s = rest;
            break;
        }
    }
    let n = normalise(s);
    for suffix in [" ids", " id"] {
        if let Some(rest) = n.strip_suffix(suffix)
            && !rest.is_empty()
        {
            return rest.to_owned();
        }
    }
    n
}

const STOP: &[&str] = &[
    "de", "du", "la", "le", "les", "l", "d", "des", "en", "the", "of", "a", "an", "to", "on",
];

fn tokens(s: &str) -> Vec<&str> {
    s.split(' ')
        .filter(|t| !t.is_empty() && !STOP.contains(t))
        .collect()
}

fn jaccard(a: &[&str], b: &[&str]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let inter = a.iter().filter(|t| b.contains(t)).count() as f64;
    let union = (a.len() + b.len()) as f64 - inter;
    inter / union
}

/// How well a source type can fill a target kind.
fn compatibility(source: Option<&str>, kind: Kind) -> f64 {
    let Some(ty) = source.map(str::to_lowercase) else {
        return 0.9;
    };
    let ty = ty.as_str();
    if matches!(
        ty,
        "one2many" | "many2many" | "binary" | "reference" | "json"
    ) {
        return 0.2;
    }
    let text = matches!(ty, "char" | "text" | "string" | "varchar" | "html");
    match kind {
        Kind::Text => match ty {
            _ if text => 1.0,
            "selection" | "many2one" => 0.95,
            _ => 0.5,
        },
        Kind::Email | Kind::Phone | Kind::Url => {
            if text {
                1.0
            } else {
                0.3
            }
        }
        // An Odoo currency's display name is its ISO code; a country's is its name
        // ("Belgium"), which a code field does not hold as such.
        Kind::Currency => match ty {
            "many2one" | "selection" => 1.0,
            _ if text => 0.95,
            _ => 0.3,
        },
        Kind::Country => match ty {
            "selection" => 1.0,
            _ if text => 0.95,
            "many2one" => 0.8,
            _ => 0.3,
        },
        Kind::Money => match ty {
            "monetary" | "float" | "decimal" | "number" => 1.0,
            "integer" => 0.9,
            _ if text => 0.6,
            _ => 0.3,
        },
        Kind::Number | Kind::Percent => match ty {
            "float" | "integer" | "decimal" | "number" => 1.0,
            _ if text => 0.6,
            _ => 0.3,
        },
        Kind::Date => match ty {
            "date" => 1.0,
            "datetime" => 0.9,
            _ if text => 0.6,
            _ => 0.3,
        },
        Kind::DateTime => match ty {
            "datetime" => 1.0,
            "date" => 0.85,
            _ if text => 0.6,
            _ => 0.3,
        },
        Kind::Bool => match ty {
            "boolean" | "bool" => 1.0,
            "integer" => 0.85,
            _ => 0.4,
        },
        Kind::Ref => match ty {
            "many2one" => 1.0,
            "integer" => 0.7,
            _ if text => 0.75,
            _ => 0.3,
        },
        Kind::Status => match ty {
            "selection" | "many2one" => 1.0,
            _ if text => 0.85,
            _ => 0.4,
        },
    }
}

/// What every non-empty sample looks like, when they agree.
fn sample_kind(samples: &[String]) -> Option<(Kind, &'static str)> {
    let values: Vec<&str> = samples
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty() && *s != "false")
        .collect();
    if values.is_empty() {
        return None;
    }
    let all = |f: &dyn Fn(&str) -> bool| values.iter().all(|v| f(v));
    if all(&|v| crate::identity::types::is_address(&v.to_lowercase())) {
        return Some((Kind::Email, "email addresses"));
    }
    if all(&|v| v.starts_with("http://") || v.starts_with("https://") || v.starts_with("www.")) {
        return Some((Kind::Url, "web addresses"));
    }
    if all(&|v| {
        v.len() == 10
            && v.as_bytes()[4] == b'-'
            && v.as_bytes()[7] == b'-'
            && v.chars().filter(char::is_ascii_digit).count() == 8
    }) {
        return Some((Kind::Date, "dates"));
    }
    if all(&|v| {
        v.len() >= 19
            && v.as_bytes().get(4) == Some(&b'-')
            && v.as_bytes()
                .get(10)
                .is_some_and(|c| *c == b' ' || *c == b'T')
    }) {
        return Some((Kind::DateTime, "timestamps"));
    }
    if all(&|v| {
        v.len() == 2
            && v.chars().all(|c| c.is_ascii_uppercase())
            && isocountry::CountryCode::for_alpha2(v).is_ok()
    }) {
        return Some((Kind::Country, "country codes"));
    }
    if all(&|v| {
        v.len() == 3
            && v.chars().all(|c| c.is_ascii_uppercase())
            && iso_currency::Currency::from_code(v).is_some()
    }) {
        return Some((Kind::Currency, "currency codes"));
    }
    if all(&|v| {
        let digits = v.chars().filter(char::is_ascii_digit).count();
        let rest = v
            .chars()
            .filter(|c| !c.is_ascii_digit() && !" +-.()/".contains(*c))
            .count();
        digits >= 8 && rest == 0 && (v.starts_with('+') || v.starts_with('0') || v.contains(' '))
    }) {
        return Some((Kind::Phone, "phone numbers"));
    }
    if all(&|v| {
        let b = v.as_bytes();
        b.len() >= 10
            && b[0].is_ascii_uppercase()
            && b[1].is_ascii_uppercase()
            && v[2..].chars().all(|c| c.is_ascii_alphanumeric())
            && v[2..].chars().filter(char::is_ascii_digit).count() >= 8
    }) {
        return Some((Kind::Text, "VAT numbers"));
    }
    if all(&|v| v.replace([' ', ','], "").parse::<f64>().is_ok() && v.contains('.')) {
        return Some((Kind::Money, "amounts"));
    }
    None
}

pub(crate) fn transform(source: Option<&str>, kind: Kind) -> &'static str {
    match (source.map(str::to_lowercase).as_deref(), kind) {
        (Some("many2one"), Kind::Ref) => "many2one_id",
        (Some("many2one"), _) => "many2one_name",
        (Some("selection"), _) => "selection",
        (Some("integer"), Kind::Bool) => "boolean",
        (Some("boolean"), _) => "boolean",
        (_, Kind::Date) => "date",
        (_, Kind::DateTime) => "datetime",
        (_, Kind::Money) => "money",
        (_, Kind::Bool) => "boolean",
        _ => "as_is",
    }
}

fn phrases(target: &Target) -> impl Iterator<Item = String> + '_ {
    std::iter::once(normalise(target.name)).chain(target.synonyms.iter().map(|s| (*s).to_owned()))
}

/// One source field against one target: the score and why.
fn score(entity: &str, field: &SourceField, target: &Target, learned: &Learned) -> (f64, String) {
    let name = normalise_name(&field.name);
    let label = field.label.as_deref().map(normalise).unwrap_or_default();
    let mut best = (0.0_f64, String::new());
    for phrase in phrases(target) {
        let candidate = if phrase == name {
            (
                0.95,
                format!("name '{}' is a synonym of {}", field.name, target.name),
            )
        } else if !label.is_empty() && phrase == label {
            (
                0.92,
                format!(
                    "label '{}' is a synonym of {}",
                    field.label.as_deref().unwrap_or_default(),
                    target.name
                ),
            )
        } else {
            let words: Vec<&str> = tokens(&name).into_iter().chain(tokens(&label)).collect();
            let j = jaccard(&words, &tokens(&phrase));
            (
                0.75 * j,
                format!(
                    "name and label share words with '{phrase}' ({})",
                    target.name
                ),
            )
        };
        if candidate.0 > best.0 {
            best = candidate;
        }
    }
    let compat = compatibility(field.kind.as_deref(), target.kind);
    let mut s = best.0 * compat;
    let mut reason = best.1;
    if compat < 0.5 {
        reason.push_str(&format!(
            "; type {} hardly fits",
            field.kind.as_deref().unwrap_or("?")
        ));
    }
    if let Some((kind, what)) = sample_kind(&field.samples) {
        let fits = kind == target.kind
            || (kind == Kind::Money && matches!(target.kind, Kind::Number | Kind::Percent))
            || (kind == Kind::Date && target.kind == Kind::DateTime)
            || (kind == Kind::Text && target.name == "vat_number");
        if fits && s > 0.0 {
            s = (s + 0.1).min(0.99);
            reason.push_str(&format!("; samples look like {what}"));
        } else if fits {
            s = 0.6;
            reason = format!("samples look like {what}, which {} holds", target.name);
        } else if s > 0.0 && kind != Kind::Text && kind != Kind::Money {
            s *= 0.5;
            reason.push_str(&format!("; but samples look like {what}"));
        }
    }
    let vote = learned.vote(entity, field, target.name);
    if vote > 0 {
        s = s.max(0.97);
        reason = format!(
            "approved before for a field named like this ({} time(s)); {reason}",
            vote
        );
    } else if vote < 0 {
        s *= 0.3;
        reason = format!("rejected before for a field named like this; {reason}");
    }
    (s, reason)
}

/// Checks a request: a known entity, 1 to [`MAX_FIELDS`] fields, names present and
/// unique. Keys: `entity`, `fields`, `fields.<i>.name`.
pub fn check(entity: &str, fields: &[SourceField]) -> Result<&'static [Target], FieldErrors> {
    let mut errors = FieldErrors::default();
    let found = targets(entity);
    if found.is_none() {
        errors.add("entity", "unknown_entity");
    }
    if fields.is_empty() {
        errors.add("fields", "required");
    }
    if fields.len() > MAX_FIELDS {
        errors.add("fields", "too_many");
    }
    let mut seen = std::collections::HashSet::new();
    for (i, f) in fields.iter().enumerate().take(MAX_FIELDS) {
        if f.name.trim().is_empty() {
            errors.add(&format!("fields.{i}.name"), "required");
        } else if f.name.chars().count() > 200 {
            errors.add(&format!("fields.{i}.name"), "too_long");
        } else if !seen.insert(f.name.trim()) {
            errors.add(&format!("fields.{i}.name"), "duplicate");
        }
        if f.samples.len() > MAX_SAMPLES {
            errors.add(&format!("fields.{i}.samples"), "too_many");
        }
        if f.selection.len() > MAX_SELECTION {
            errors.add(&format!("fields.{i}.selection"), "too_many");
        }
    }
    match found {
        Some(t) if errors.is_empty() => Ok(t),
        _ => Err(errors),
    }
}

/// Proposes a target for every field of a source object mapped to `entity`.
pub fn propose(
    entity: &str,
    fields: &[SourceField],
    learned: &Learned,
) -> Result<Vec<Proposal>, FieldErrors> {
    propose_excluding(entity, fields, learned, &[])
}

/// [`propose`], never proposing the targets in `exclude` (those a connector derives).
pub fn propose_excluding(
    entity: &str,
    fields: &[SourceField],
    learned: &Learned,
    exclude: &[&str],
) -> Result<Vec<Proposal>, FieldErrors> {
    let targets = check(entity, fields)?;
    // Every (field, target) pair worth considering, best first.
    let mut pairs: Vec<(f64, usize, usize, String)> = Vec::new();
    for (fi, field) in fields.iter().enumerate() {
        for (ti, target) in targets.iter().enumerate() {
            if exclude.contains(&target.name) {
                continue;
            }
            let (s, reason) = score(entity, field, target, learned);
            if s >= MIN_CONFIDENCE {
                pairs.push((s, fi, ti, reason));
            }
        }
    }
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut field_won: Vec<Option<(usize, f64, String)>> = vec![None; fields.len()];
    let mut target_taken = vec![false; targets.len()];
    for (s, fi, ti, reason) in pairs {
        if field_won[fi].is_none() && !target_taken[ti] {
            field_won[fi] = Some((ti, s, reason));
            target_taken[ti] = true;
        }
    }
    Ok(fields
        .iter()
        .zip(field_won)
        .map(|(field, won)| match won {
            Some((ti, s, reason)) => Proposal {
                source_field: field.name.clone(),
                target_field: Some(targets[ti].name.to_owned()),
                transform: transform(field.kind.as_deref(), targets[ti].kind),
                confidence: (s * 100.0).round() / 100.0,
                reason,
                engine: ENGINE,
            },
            None => Proposal {
                source_field: field.name.clone(),
                target_field: None,
                transform: "keep_in_extras",
                confidence: 0.0,
                reason: "no canonical field fits (or the one that did went to a better match); kept in the row's extras".into(),
                engine: ENGINE,
            },
        })
        .collect())
}

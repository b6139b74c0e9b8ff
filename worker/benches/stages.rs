//! The pure stages alone, on one core: records per second and microseconds per record
//! for each of hashing (the raw record), mapper, validator, normalizer and the loader's
//! column layout, on the sync bench's Odoo-shaped `crm.lead` records.
//!
//!   ./dev bench -p tentabo-worker --bench stages

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/odoo.rs"]
mod odoo;

use std::hint::black_box;
use std::time::{Duration, Instant};

use odoo::Generated;
use serde_json::value::RawValue;
use tentabo_workflows::pipeline::load::Rows;
use tentabo_workflows::pipeline::odoo::OdooMapper;
use tentabo_workflows::pipeline::{Entity, Mapper, RawRecord, normalize, validate};

const RECORDS: i64 = 200_000;

fn report(stage: &str, d: Duration) {
    println!(
        "{stage:<24} {:>8.2} µs/record {:>10.0} records/s",
        d.as_secs_f64() * 1e6 / RECORDS as f64,
        RECORDS as f64 / d.as_secs_f64()
    );
}

fn main() {
    let g = Generated {
        count: RECORDS,
        edited_every: None,
    };
    let bodies: Vec<Box<RawValue>> = (1..=RECORDS)
        .map(|id| serde_json::from_str(&g.record(id)).unwrap())
        .collect();
    println!("stages bench: {RECORDS} Odoo-shaped crm.lead records, one core");

    let t = Instant::now();
    let raws: Vec<RawRecord> = bodies
        .into_iter()
        .enumerate()
        .map(|(i, b)| RawRecord::new("odoo", "crm.lead", (i + 1).to_string(), b))
        .collect();
    report("hash", t.elapsed());

    let mapper = OdooMapper::new("crm.lead");
    let policy = tentabo_workflows::pipeline::policy::Policy::default();
    let t = Instant::now();
    let mapped: Vec<_> = raws.iter().map(|r| mapper.map(r).unwrap()).collect();
    report("mapper", t.elapsed());

    let t = Instant::now();
    let validated: Vec<_> = mapped
        .into_iter()
        .map(|m| validate(m, &|_, _| false, &policy).unwrap())
        .collect();
    report("validator", t.elapsed());

    let phones: Vec<String> = validated
        .iter()
        .filter_map(|v| {
            v.record()
                .fields
                .get("contact_phone")?
                .text()
                .map(str::to_owned)
        })
        .collect();
    let t = Instant::now();
    let normalized: Vec<_> = validated
        .into_iter()
        .map(|v| normalize(v, &policy).unwrap())
        .collect();
    report("normalizer", t.elapsed());
    e164(&phones);

    let t = Instant::now();
    let mut pages = Vec::new();
    let mut it = normalized.into_iter();
    loop {
        let page: Vec<_> = it.by_ref().take(1_000).collect();
        if page.is_empty() {
            break;
        }
        pages.push(Rows::new(Entity::Lead, page));
    }
    report("layout", t.elapsed());
    black_box(pages);
}

/// The normalizer's dearest part alone: libphonenumber's parse, validity check and
/// E.164 formatting of the records' phone numbers (as the mapper read them).
fn e164(numbers: &[String]) {
    assert!(
        numbers.len() as i64 > RECORDS / 2,
        "most records have a phone"
    );
    let t = Instant::now();
    for n in numbers {
        black_box(tentabo_workflows::pipeline::normalize::e164(n, &[None]));
    }
    report("  of which E.164 phones", t.elapsed());
}

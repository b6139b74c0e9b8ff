//! Quote lines priced per second on one core (the engine alone: no I/O).
//!
//!   ./dev bench -p tentabo-workflows --bench pricing

use std::hint::black_box;
use std::time::Instant;

use rust_decimal::Decimal;
use tentabo_workflows::pricing::{Period, PricingMode, Terms, Tier, parse_price_list, price_line};

const LINES: u64 = 3_000_000;

fn main() {
    let tier = |min, max, cents: i64, period| Tier {
        min_quantity: min,
        max_quantity: max,
        price_per_unit: Decimal::new(cents, 2),
        period,
    };
    let list = parse_price_list(vec![
        tier(0, Some(10), 1_000, Period::Month),
        tier(10, Some(50), 800, Period::Month),
        tier(50, Some(200), 12_000, Period::Year),
        tier(200, None, 500, Period::Month),
    ])
    .expect("valid list");
    let terms = [
        Terms {
            months: 12,
            discount_percentage: Decimal::ZERO,
        },
        Terms {
            months: 24,
            discount_percentage: Decimal::new(5, 0),
        },
        Terms {
            months: 36,
            discount_percentage: Decimal::new(1_250, 2),
        },
    ];
    println!(
        "pricing: {LINES} lines per mode, one thread, 4-tier list (mixed month/year), quantities 1–300"
    );
    for mode in [PricingMode::Graduated, PricingMode::Volume] {
        let start = Instant::now();
        let mut checksum = Decimal::ZERO;
        for i in 0..LINES {
            let q = 1 + (i * 7919) % 300;
            let line = price_line(
                black_box(&list),
                mode,
                black_box(q),
                terms[(i % 3) as usize],
                Period::Month,
            )
            .expect("priced");
            checksum += line.total;
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "  {:<10} {:>12.0} lines/s  ({:.0} ns/line; checksum {checksum})   target: >= 1,000,000 lines/s",
            mode.as_str(),
            LINES as f64 / secs,
            secs * 1e9 / LINES as f64
        );
    }
}

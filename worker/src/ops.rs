//! What the operator's commands print while they follow something: a sync run's progress
//! (records, records/s, estimate, counts per stage) and its exit status.

use std::time::Duration;

use tentabo_workflows::pipeline::run::RunView;

/// How a followed run ended, as the process's exit status: 0 succeeded, 3 partial (some
/// records quarantined or a page skipped), 4 failed. (1 is any other error, 2 a usage
/// error.)
pub fn exit_code(status: &str) -> u8 {
    match status {
        "succeeded" => 0,
        "partial" => 3,
        _ => 4,
    }
}

/// Whether a run's status is final.
pub fn finished(status: &str) -> bool {
    matches!(status, "succeeded" | "partial" | "failed")
}

/// Watches a run's counts between polls to tell its speed.
#[derive(Debug, Default)]
pub struct Progress {
    /// Records read and the time since following started, at the first poll that saw
    /// the run running.
    first: Option<(i64, Duration)>,
}

impl Progress {
    /// One line: status, a bar when the estimate is known, records read (of the
    /// estimate), records/s, the time left, and the counts per stage.
    pub fn line(&mut self, run: &RunView, elapsed: Duration) -> String {
        if run.status == "running" && self.first.is_none() {
            self.first = Some((run.fetched, elapsed));
        }
        let rate = self.first.and_then(|(fetched, at)| {
            let secs = elapsed.saturating_sub(at).as_secs_f64();
            (secs >= 0.5).then(|| (run.fetched - fetched).max(0) as f64 / secs)
        });
        let mut out = format!("{:<9}", run.status);
        if let Some(estimate) = run.estimate.filter(|e| *e > 0) {
            let share = (run.fetched as f64 / estimate as f64).clamp(0.0, 1.0);
            let filled = (share * 24.0).round() as usize;
            out.push_str(&format!(
                " [{}{}] {:>3}%  {}/{}",
                "#".repeat(filled),
                ".".repeat(24 - filled),
                (share * 100.0).round() as u32,
                run.fetched,
                estimate
            ));
        } else {
            out.push_str(&format!("  {} read", run.fetched));
        }
        if let Some(rate) = rate {
            out.push_str(&format!("  {rate:.0} records/s"));
            if let Some(estimate) = run.estimate
                && rate > 0.0
                && !finished(&run.status)
            {
                let left = (estimate - run.fetched).max(0) as f64 / rate;
                out.push_str(&format!("  ~{}s left", left.ceil() as u64));
            }
        }
        out.push_str(&format!(
            "  loaded {} unchanged {} quarantined {} deleted {} conflicts {}",
            run.loaded, run.unchanged, run.quarantined, run.deleted, run.conflicts
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn run(status: &str, fetched: i64, estimate: Option<i64>) -> RunView {
        RunView {
            id: uuid::Uuid::nil(),
            provider: "odoo".into(),
            entity: "crm.lead".into(),
            mode: "full".into(),
            status: status.into(),
            started_at: None,
            finished_at: None,
            estimate,
            fetched,
            unchanged: 1,
            loaded: fetched - 1,
            quarantined: 0,
            deleted: 0,
            conflicts: 0,
            warned: 0,
            warnings: serde_json::json!({}),
            quarantine_reasons: serde_json::json!({}),
            timings: serde_json::json!({}),
            error: None,
            created_at: Utc::now(),
        }
    }

    #[test]
    fn the_line_shows_the_bar_the_speed_and_the_time_left() {
        let mut p = Progress::default();
        let first = p.line(&run("running", 100, Some(1000)), Duration::from_secs(1));
        assert!(
            first.starts_with("running   [##......................]  10%  100/1000"),
            "{first}"
        );
        assert!(
            !first.contains("records/s"),
            "no speed before a second poll: {first}"
        );
        let later = p.line(&run("running", 500, Some(1000)), Duration::from_secs(3));
        assert!(later.contains(" 50%  500/1000"), "{later}");
        assert!(later.contains("200 records/s"), "{later}");
        assert!(later.contains("~3s left"), "{later}");
        assert!(later.contains("loaded 499 unchanged 1"), "{later}");
        let done = p.line(&run("succeeded", 1000, Some(1000)), Duration::from_secs(5));
        assert!(done.contains("100%") && !done.contains("left"), "{done}");
    }

    #[test]
    fn without_an_estimate_the_line_counts_records() {
        let mut p = Progress::default();
        let line = p.line(&run("queued", 0, None), Duration::ZERO);
        assert!(
            line.starts_with("queued") && line.contains("0 read"),
            "{line}"
        );
    }

    #[test]
    fn the_exit_status_follows_the_outcome() {
        assert_eq!(["succeeded", "partial", "failed"].map(exit_code), [0, 3, 4]);
        assert!(finished("failed") && !finished("running") && !finished("queued"));
    }
}

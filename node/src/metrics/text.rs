//! Prometheus' text exposition format (version 0.0.4), written directly: families with
//! their `# HELP` and `# TYPE` lines, samples with escaped label values, histograms as
//! cumulative `_bucket` lines with `_sum` and `_count`.

use std::fmt::Write;
use strata_api::metrics::{BUCKETS, HistogramSnapshot};

/// The content type of what [`Text`] writes.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A scrape being written.
#[derive(Default)]
pub struct Text {
    out: String,
}

/// A metric's kind, as its `# TYPE` line says.
#[derive(Clone, Copy)]
pub enum Kind {
    /// Only grows (the name ends in `_total`).
    Counter,
    /// Goes up and down.
    Gauge,
    /// Buckets, sum and count.
    Histogram,
}

impl Text {
    /// Starts family `name`: its help and type lines (each family once per scrape).
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) {
        let kind = match kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        };
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(self.out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    /// One sample of the family just started.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.out.push_str(name);
        self.labels(labels, None);
        self.out.push(' ');
        self.value(value);
        self.out.push('\n');
    }

    /// One histogram of the family just started (buckets cumulative, as snapshots are).
    pub fn histogram(&mut self, name: &str, labels: &[(&str, &str)], h: &HistogramSnapshot) {
        for (i, count) in h.cumulative.iter().enumerate() {
            let le = BUCKETS.get(i).map_or_else(|| "+Inf".to_string(), |b| b.to_string());
            self.out.push_str(name);
            self.out.push_str("_bucket");
            self.labels(labels, Some(&le));
            let _ = writeln!(self.out, " {count}");
        }
        let count = h.cumulative.last().copied().unwrap_or(0);
        self.out.push_str(name);
        self.out.push_str("_sum");
        self.labels(labels, None);
        self.out.push(' ');
        self.value(h.sum_seconds);
        self.out.push('\n');
        self.out.push_str(name);
        self.out.push_str("_count");
        self.labels(labels, None);
        let _ = writeln!(self.out, " {count}");
    }

    /// Appends text already in the format (another encoder's families).
    pub fn raw(&mut self, text: &str) {
        self.out.push_str(text);
    }

    /// The scrape.
    pub fn finish(self) -> String {
        self.out
    }

    fn labels(&mut self, labels: &[(&str, &str)], le: Option<&str>) {
        if labels.is_empty() && le.is_none() {
            return;
        }
        self.out.push('{');
        let all = labels.iter().copied().chain(le.map(|le| ("le", le)));
        for (i, (k, v)) in all.enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            self.out.push_str(k);
            self.out.push_str("=\"");
            for c in v.chars() {
                match c {
                    '\\' => self.out.push_str("\\\\"),
                    '"' => self.out.push_str("\\\""),
                    '\n' => self.out.push_str("\\n"),
                    c => self.out.push(c),
                }
            }
            self.out.push('"');
        }
        self.out.push('}');
    }

    fn value(&mut self, v: f64) {
        if v.is_nan() {
            self.out.push_str("NaN");
        } else if v.is_infinite() {
            self.out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
        } else {
            let _ = write!(self.out, "{v}");
        }
    }
}

/// A label value from a Rust identifier the code names (`PutAll` → `put_all`).
pub fn snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_text_format() {
        let mut t = Text::default();
        t.family("strata_x_total", Kind::Counter, "A count.\nTwo lines.");
        t.sample("strata_x_total", &[("a", "q\"u\\o\nte")], 3.0);
        t.family("strata_s", Kind::Histogram, "Durations.");
        let h = strata_api::metrics::Histogram::new();
        h.observe(std::time::Duration::from_millis(2));
        t.histogram("strata_s", &[("m", "put")], &h.snapshot());
        let out = t.finish();
        assert!(out.starts_with("# HELP strata_x_total A count.\\nTwo lines.\n# TYPE strata_x_total counter\n"));
        assert!(out.contains("strata_x_total{a=\"q\\\"u\\\\o\\nte\"} 3\n"), "{out}");
        assert!(out.contains("strata_s_bucket{m=\"put\",le=\"0.001\"} 0\n"), "{out}");
        assert!(out.contains("strata_s_bucket{m=\"put\",le=\"0.0025\"} 1\n"), "{out}");
        assert!(out.contains("strata_s_bucket{m=\"put\",le=\"+Inf\"} 1\n"), "{out}");
        assert!(out.contains("strata_s_count{m=\"put\"} 1\n"), "{out}");
    }

    #[test]
    fn names_become_snake_case() {
        assert_eq!(snake("PutAll"), "put_all");
        assert_eq!(snake("Kv"), "kv");
        assert_eq!(snake("get"), "get");
    }
}

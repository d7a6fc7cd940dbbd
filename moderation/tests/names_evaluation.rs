//! Precision and recall of name and street-address redaction on a labelled set of
//! fictional posts (`tests/data/names_addresses.tsv`), including hard negatives: places,
//! hospitals and eponymous conditions that must survive ("Leeds General", "Addison's
//! disease", "Dr Foster's report", "Mr Men", "Park Road surgery"). Run with `--nocapture`
//! to see the figures and every miss:
//!
//! ```text
//! cargo test -p moderation --test names_evaluation -- --nocapture
//! ```
//!
//! A predicted name (or address) is a true positive when it overlaps a labelled one of the
//! same family, otherwise a false positive; a labelled one that no prediction overlaps is a
//! false negative. The staff signal ([`moderation::Verdict::names_staff`]) is scored per post.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::ops::Range;

use moderation::{Moderator, PersonalData};

#[derive(Default, Debug)]
struct Counts {
    tp: usize,
    fp: usize,
    fn_: usize,
}

impl Counts {
    fn precision(&self) -> f64 {
        if self.tp + self.fp == 0 {
            1.0
        } else {
            self.tp as f64 / (self.tp + self.fp) as f64
        }
    }
    fn recall(&self) -> f64 {
        if self.tp + self.fn_ == 0 {
            1.0
        } else {
            self.tp as f64 / (self.tp + self.fn_) as f64
        }
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Family {
    Name,
    Address,
}

fn family(kind: PersonalData) -> Option<Family> {
    match kind {
        PersonalData::Name | PersonalData::StaffName => Some(Family::Name),
        PersonalData::Address => Some(Family::Address),
        _ => None,
    }
}

fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
    a.start < b.end && b.start < a.end
}

struct Report {
    messages: usize,
    names: Counts,
    addresses: Counts,
    staff: Counts,
    misses: Vec<String>,
}

fn evaluate(source: &str) -> Report {
    let m = Moderator::standard();
    let mut r = Report {
        messages: 0,
        names: Counts::default(),
        addresses: Counts::default(),
        staff: Counts::default(),
        misses: vec![],
    };
    for (n, line) in source.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let (labels, text) = line.split_once('\t').unwrap_or_else(|| panic!("line {}: no tab", n + 1));
        let text = text.replace("\\n", "\n");
        r.messages += 1;
        let mut expected: Vec<(Family, bool, Range<usize>)> = Vec::new();
        if labels != "-" {
            for label in labels.split('|') {
                let (kind, what) = label.split_once(':').unwrap_or_else(|| panic!("line {}: bad label {label}", n + 1));
                let (fam, staff) = match kind {
                    "name" => (Family::Name, false),
                    "staff" => (Family::Name, true),
                    "address" => (Family::Address, false),
                    other => panic!("line {}: unknown kind {other}", n + 1),
                };
                let at = text.find(what).unwrap_or_else(|| panic!("line {}: {what:?} not in text", n + 1));
                expected.push((fam, staff, at..at + what.len()));
            }
        }
        let v = m.assess(&text, &[]);
        let predicted: Vec<(Family, Range<usize>)> =
            v.redactions.iter().filter_map(|r| family(r.kind).map(|f| (f, r.range.clone()))).collect();
        for (fam, range) in &predicted {
            let counts = if *fam == Family::Name { &mut r.names } else { &mut r.addresses };
            if expected.iter().any(|(f, _, e)| f == fam && overlaps(e, range)) {
                counts.tp += 1;
            } else {
                counts.fp += 1;
                r.misses.push(format!("line {} FP {fam:?} {:?}: {text}", n + 1, &text[range.clone()]));
            }
        }
        for (fam, _, range) in &expected {
            if !predicted.iter().any(|(f, p)| f == fam && overlaps(p, range)) {
                let counts = if *fam == Family::Name { &mut r.names } else { &mut r.addresses };
                counts.fn_ += 1;
                r.misses.push(format!("line {} FN {fam:?} {:?}: {text}", n + 1, &text[range.clone()]));
            }
        }
        let want_staff = expected.iter().any(|(_, s, _)| *s);
        match (want_staff, v.names_staff()) {
            (true, true) => r.staff.tp += 1,
            (false, true) => {
                r.staff.fp += 1;
                r.misses.push(format!("line {} FP staff: {text}", n + 1));
            }
            (true, false) => {
                r.staff.fn_ += 1;
                r.misses.push(format!("line {} FN staff: {text}", n + 1));
            }
            (false, false) => {}
        }
    }
    r
}

fn print(name: &str, r: &Report) {
    println!("== {name}: {} messages", r.messages);
    for (what, c) in [("names", &r.names), ("addresses", &r.addresses), ("staff signal", &r.staff)] {
        println!(
            "  {what:<13} precision {:.3}  recall {:.3}  (tp {} fp {} fn {})",
            c.precision(),
            c.recall(),
            c.tp,
            c.fp,
            c.fn_
        );
    }
    for miss in &r.misses {
        println!("  {miss}");
    }
}

#[test]
fn names_and_addresses_meet_minimums() {
    let r = evaluate(include_str!("data/names_addresses.tsv"));
    print("names and addresses (names_addresses.tsv)", &r);
    assert!(r.messages >= 150, "labelled set has {} messages", r.messages);
    // The figures reached when the rules were written (names 1.000 / 0.987, addresses
    // 0.955 / 1.000, staff 1.000 / 0.974), less a small margin. This set was written
    // alongside the rules; see names_heldout.tsv for a set that was not tuned against.
    assert!(r.names.precision() >= 0.95, "name precision {:.3}", r.names.precision());
    assert!(r.names.recall() >= 0.95, "name recall {:.3}", r.names.recall());
    assert!(r.addresses.precision() >= 0.9, "address precision {:.3}", r.addresses.precision());
    assert!(r.addresses.recall() >= 0.95, "address recall {:.3}", r.addresses.recall());
    assert!(r.staff.precision() >= 0.95, "staff precision {:.3}", r.staff.precision());
    assert!(r.staff.recall() >= 0.92, "staff recall {:.3}", r.staff.recall());
}

/// Written after the rules were finished and not tuned against: reported, with looser
/// minimums (the figures of its first run, less a margin).
#[test]
fn held_out_set_report() {
    let r = evaluate(include_str!("data/names_heldout.tsv"));
    print("held out (names_heldout.tsv)", &r);
    // First run: names 0.875 / 0.875, addresses 1.000 / 1.000, staff 0.800 / 0.889.
    assert!(r.messages >= 50);
    assert!(r.names.precision() >= 0.8, "held-out name precision {:.3}", r.names.precision());
    assert!(r.names.recall() >= 0.8, "held-out name recall {:.3}", r.names.recall());
    assert!(r.addresses.precision() >= 0.9, "held-out address precision {:.3}", r.addresses.precision());
    assert!(r.addresses.recall() >= 0.9, "held-out address recall {:.3}", r.addresses.recall());
}

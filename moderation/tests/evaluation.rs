//! Evaluation of the standard moderator against a labelled set of fictional posts.
//!
//! `tests/data/labelled.tsv` is the held-out evaluation set; `tests/data/tuning.tsv` is the
//! set the lists were tuned against. Run with `--nocapture` to see the figures:
//!
//! ```text
//! cargo test -p moderation --test evaluation -- --nocapture
//! ```
//!
//! Each row is `category<TAB>expected<TAB>text[<TAB>recent]`, where `expected` is the action
//! followed by the reason codes (or families, e.g. `crisis.suicide`) that must be present.
//! For each family (crisis, personal_data, abuse, spam) a row is a positive when its expected
//! codes include that family; the moderator detects it when the verdict has a reason in that
//! family (for crisis: `Verdict::crisis` is set).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use moderation::{Action, Moderator, Verdict};

struct Row {
    line: usize,
    category: String,
    action: Action,
    codes: Vec<String>,
    text: String,
    recent: Vec<String>,
}

fn parse_action(s: &str) -> Action {
    match s {
        "publish" => Action::Publish,
        "publish_redacted" => Action::PublishRedacted,
        "hold" => Action::Hold,
        "reject" => Action::Reject,
        other => panic!("unknown action {other}"),
    }
}

fn load(source: &str) -> Vec<Row> {
    source
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|(n, l)| {
            let f: Vec<&str> = l.split('\t').collect();
            assert!(f.len() == 3 || f.len() == 4, "line {}: {l}", n + 1);
            let mut expected = f[1].split_whitespace();
            let action = parse_action(expected.next().expect("action"));
            Row {
                line: n + 1,
                category: f[0].to_string(),
                action,
                codes: expected.map(str::to_string).collect(),
                text: f[2].to_string(),
                recent: f.get(3).map(|r| vec![r.to_string()]).unwrap_or_default(),
            }
        })
        .collect()
}

const FAMILIES: [&str; 4] = ["crisis", "personal_data", "abuse", "spam"];

fn detected(v: &Verdict, family: &str) -> bool {
    if family == "crisis" {
        v.crisis.is_some()
    } else {
        v.has_reason(family)
    }
}

fn expects(row: &Row, family: &str) -> bool {
    row.codes.iter().any(|c| c == family || c.starts_with(&format!("{family}.")))
}

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

struct Report {
    families: Vec<(&'static str, Counts)>,
    benign: usize,
    benign_held: usize,
    action_right: usize,
    per_category: Vec<(String, usize, usize)>,
    total: usize,
    failures: Vec<String>,
}

fn evaluate(source: &str) -> Report {
    let moderator = Moderator::standard();
    let rows = load(source);
    let mut families: Vec<(&'static str, Counts)> = FAMILIES.iter().map(|f| (*f, Counts::default())).collect();
    let (mut benign, mut benign_held, mut action_right) = (0, 0, 0);
    let mut per_category: Vec<(String, usize, usize)> = Vec::new();
    let mut failures = Vec::new();
    for row in &rows {
        let v = moderator.assess(&row.text, &row.recent);
        let mut ok = v.action == row.action;
        for (family, counts) in &mut families {
            match (expects(row, family), detected(&v, family)) {
                (true, true) => counts.tp += 1,
                (false, true) => {
                    counts.fp += 1;
                    ok = false;
                }
                (true, false) => {
                    counts.fn_ += 1;
                    ok = false;
                }
                (false, false) => {}
            }
        }
        // Exact codes, where a full code is given.
        for code in &row.codes {
            let present = if let Some(kind) = code.strip_prefix("crisis.") {
                v.crisis.as_ref().is_some_and(|c| c.kind == kind)
            } else {
                v.has_reason(code)
            };
            ok &= present;
        }
        if row.category == "benign" {
            benign += 1;
            if v.action >= Action::Hold {
                benign_held += 1;
            }
        }
        if v.action == row.action {
            action_right += 1;
        }
        match per_category.iter_mut().find(|(c, _, _)| *c == row.category) {
            Some(entry) => {
                entry.1 += 1;
                entry.2 += usize::from(ok);
            }
            None => per_category.push((row.category.clone(), 1, usize::from(ok))),
        }
        if !ok {
            let codes: Vec<&str> = v.reasons.iter().map(|r| r.code.as_str()).collect();
            failures.push(format!(
                "line {} [{}] expected {:?} {:?}, got {:?} {:?} crisis={:?}: {}",
                row.line,
                row.category,
                row.action,
                row.codes,
                v.action,
                codes,
                v.crisis.as_ref().map(|c| (&c.kind, c.score)),
                row.text
            ));
        }
    }
    Report { families, benign, benign_held, action_right, per_category, total: rows.len(), failures }
}

fn print(name: &str, r: &Report) {
    println!(
        "== {name}: {} messages, action correct {}/{} ({:.1}%)",
        r.total,
        r.action_right,
        r.total,
        100.0 * r.action_right as f64 / r.total as f64
    );
    for (family, c) in &r.families {
        println!(
            "  {family:<14} precision {:.3}  recall {:.3}  (tp {} fp {} fn {})",
            c.precision(),
            c.recall(),
            c.tp,
            c.fp,
            c.fn_
        );
    }
    println!(
        "  benign false-hold rate {:.3} ({} of {})",
        r.benign_held as f64 / r.benign.max(1) as f64,
        r.benign_held,
        r.benign
    );
    for (category, n, ok) in &r.per_category {
        println!("  category {category:<14} fully right {ok}/{n}");
    }
    for f in &r.failures {
        println!("  MISS {f}");
    }
}

fn family<'r>(r: &'r Report, name: &str) -> &'r Counts {
    &r.families.iter().find(|(f, _)| *f == name).expect("family").1
}

#[test]
fn evaluation_set_meets_minimums() {
    let r = evaluate(include_str!("data/labelled.tsv"));
    print("evaluation (labelled.tsv)", &r);
    assert!(r.total >= 300, "evaluation set has {} messages", r.total);
    assert!(r.benign >= 100, "evaluation set has {} benign messages", r.benign);
    assert!(family(&r, "personal_data").recall() >= 0.9);
    assert!(family(&r, "personal_data").precision() >= 0.9);
    assert!(family(&r, "crisis").recall() >= 0.9);
    assert!(family(&r, "crisis").precision() >= 0.85);
    assert!(family(&r, "abuse").recall() >= 0.85);
    assert!(family(&r, "abuse").precision() >= 0.85);
    assert!(family(&r, "spam").recall() >= 0.8);
    assert!((r.benign_held as f64) / (r.benign as f64) <= 0.05, "benign false-hold rate too high");
    assert!(r.action_right as f64 / r.total as f64 >= 0.9, "action accuracy too low");
}

#[test]
fn tuning_set_report() {
    let r = evaluate(include_str!("data/tuning.tsv"));
    print("tuning (tuning.tsv)", &r);
    assert!((r.benign_held as f64) / (r.benign.max(1) as f64) <= 0.05);
}

#[test]
fn all_five_kinds_of_personal_data_are_removed() {
    let text = "NHS number 626 018 1590, mobile 07700 900123, home 0113 496 0000, \
                email jo.bloggs@example.com, postcode LS1 4AP. Born on 3rd March 1985.";
    let v = Moderator::standard().assess(text, &[]);
    assert_eq!(v.action, Action::PublishRedacted);
    for gone in ["626 018 1590", "07700 900123", "0113 496 0000", "jo.bloggs@example.com", "LS1 4AP", "1985"] {
        assert!(!v.text.contains(gone), "{gone} remains in {}", v.text);
    }
    for code in [
        "personal_data.nhs_number",
        "personal_data.phone",
        "personal_data.email",
        "personal_data.postcode",
        "personal_data.date_of_birth",
    ] {
        assert!(v.has_reason(code), "{code} missing: {:?}", v.reasons);
    }
    assert_eq!(v.reasons.iter().filter(|r| r.code == "personal_data.phone").count(), 2);
    assert_eq!(
        v.text,
        "NHS number [NHS number removed], mobile [phone removed], home [phone removed], \
         email [email removed], postcode [postcode removed]. Born on [date of birth removed]."
    );
}

#[test]
fn crisis_posts_are_never_rejected() {
    let m = Moderator::standard();
    for row in load(include_str!("data/labelled.tsv")).iter().filter(|r| r.category == "crisis") {
        let v = m.assess(&format!("{} kill yourself you useless lot", row.text), &[]);
        if v.crisis.is_some() {
            assert!(v.action <= Action::Hold, "line {}", row.line);
        }
    }
}

/// An independent set written after the rules were finished, by someone who did not
/// write them or the labelled set. Reported, with looser minimums than the main set.
#[test]
fn independent_set_report() {
    let r = evaluate(include_str!("data/independent.tsv"));
    print("independent (independent.tsv)", &r);
    assert!(family(&r, "personal_data").recall() >= 0.8);
    assert!(family(&r, "crisis").recall() >= 0.8);
    assert!(r.benign_held <= 3, "benign messages wrongly held: {:?}", r.failures);
}

//! `parley analyse` and `parley bench`: the binary's batch commands.

mod db;
pub mod fleet;
pub mod load;
mod workload;

use std::io::{BufRead, Write};
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use parley::config::Config;
use parley::report::{read_comments, week_of_ms, Format};
use themes::{PostRecord, SummaryBuilder, SummaryOptions};

/// Inputs longer than this get a progress bar.
const PROGRESS_FROM: usize = 2_000;

/// Words or phrases shown per tag by `--explain`.
const EXPLAIN_WORDS: usize = 3;

fn read_corpus(input: &Path, map: Option<&Path>) -> anyhow::Result<themes::model::Corpus> {
    let map = match map {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            Some(themes::model::ThemeMap::from_json(&text).with_context(|| path.display().to_string())?)
        }
        None => None,
    };
    let file = std::fs::File::open(input).with_context(|| format!("cannot open {}", input.display()))?;
    themes::model::Corpus::from_csv(std::io::BufReader::new(file), map.as_ref())
        .with_context(|| input.display().to_string())
}

/// `parley themes train`.
pub fn themes_train(input: &Path, out: &Path, map: Option<&Path>, source: &str) -> anyhow::Result<()> {
    let corpus = read_corpus(input, map)?;
    let options = themes::model::TrainOptions { source: source.to_owned(), ..Default::default() };
    let started = Instant::now();
    let model = themes::model::train(&corpus, &options);
    std::fs::write(out, model.to_bytes()).with_context(|| format!("cannot write {}", out.display()))?;
    eprintln!(
        "parley: trained on {} comments ({} themes: {}) in {:.1} s; wrote {}",
        corpus.examples.len(),
        corpus.themes.len(),
        corpus.themes.join(", "),
        started.elapsed().as_secs_f64(),
        out.display()
    );
    Ok(())
}

/// `parley themes evaluate`.
pub fn themes_evaluate(
    input: &Path,
    map: Option<&Path>,
    folds: usize,
    by_group: bool,
    json: bool,
) -> anyhow::Result<()> {
    anyhow::ensure!(folds >= 2, "--folds must be at least 2");
    let corpus = read_corpus(input, map)?;
    anyhow::ensure!(corpus.examples.len() >= folds, "{} comments cannot make {folds} folds", corpus.examples.len());
    let options = themes::model::TrainOptions::default();
    let mut reports = vec![themes::model::cross_validate(&corpus, &options, folds)];
    if by_group {
        let mut groups: Vec<&str> = corpus.examples.iter().filter_map(|e| e.group.as_deref()).collect();
        groups.sort_unstable();
        groups.dedup();
        anyhow::ensure!(groups.len() >= 2, "--by-group needs a `Trust` or `group` column with at least two values");
        for g in groups {
            reports.push(themes::model::cross_group(&corpus, &options, g));
        }
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    } else {
        for r in reports {
            println!("{r}");
        }
    }
    Ok(())
}

/// What `parley analyse` was asked for, besides the configuration.
#[derive(Debug, Clone, Default)]
pub struct AnalyseOptions<'a> {
    /// The input file; standard input when `None`.
    pub input: Option<&'a Path>,
    /// A summary format; one JSON object per comment when `None`.
    pub format: Option<Format>,
    /// The output file; standard output when `None`.
    pub output: Option<&'a Path>,
    /// Read the input as CSV whatever its header.
    pub force_csv: bool,
    /// The summary's title.
    pub title: &'a str,
    /// `--small-numbers`: the threshold under which summary counts are hidden.
    pub small_numbers: Option<u64>,
    /// `--no-text`: leave the comment's text out of the JSON lines.
    pub no_text: bool,
    /// `--explain`: the words or phrases that weighed most for each tag.
    pub explain: bool,
}

pub fn analyse(config: &Config, options: &AnalyseOptions<'_>) -> anyhow::Result<()> {
    let AnalyseOptions { input, format, output, force_csv, title, small_numbers, no_text, explain } = options.clone();
    let analyzer = config.themes.analyzer()?;
    let reader: Box<dyn BufRead> = match input {
        Some(path) => Box::new(std::io::BufReader::new(
            std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?,
        )),
        None => Box::new(std::io::BufReader::new(std::io::stdin())),
    };
    let force_csv = force_csv || input.is_some_and(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")));
    let comments = read_comments(reader, force_csv).map_err(|e| anyhow::anyhow!(e))?;
    let progress = (comments.len() >= PROGRESS_FROM).then(|| {
        let bar = indicatif::ProgressBar::new(comments.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} analysing {pos}/{len} comments [{bar:40}] {eta} left")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar
    });
    let this_week = week_of_ms(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0),
    );
    let mut out: Box<dyn Write> = match output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let options = SummaryOptions {
        threshold: small_numbers.unwrap_or(config.themes.small_number_threshold),
        small_numbers_hint: Some(parley::report::ANALYSE_SMALL_NUMBERS_HINT.to_string()),
        ..SummaryOptions::default()
    };
    let mut builder = SummaryBuilder::with_options(title, analyzer.taxonomy(), options);
    // Per theme: how much each explaining word weighed, over all comments.
    let mut evidence: std::collections::BTreeMap<String, std::collections::BTreeMap<String, u64>> =
        std::collections::BTreeMap::new();
    for (i, comment) in comments.iter().enumerate() {
        let (analysis, explanation) = if explain {
            let e = analyzer.explain(&comment.text, EXPLAIN_WORDS);
            (e.analysis.clone(), Some(e))
        } else {
            (analyzer.analyse(&comment.text), None)
        };
        if let (Some(e), Some(_)) = (&explanation, format) {
            for ev in e.explain.iter().filter(|ev| analysis.themes.contains(&ev.tag)) {
                let words = evidence.entry(ev.tag.clone()).or_default();
                for w in &ev.words {
                    *words.entry(w.clone()).or_default() += 1;
                }
            }
        }
        match format {
            None => {
                // `line` and `text` first, then the analysis's own fields exactly as before
                // (`themes`, `sentiment`, and `explain` with --explain), which scoring
                // scripts read.
                let fields = match &explanation {
                    Some(e) => serde_json::to_string(e)?,
                    None => serde_json::to_string(&analysis)?,
                };
                let fields = fields.strip_prefix('{').unwrap_or(&fields);
                write!(out, "{{\"line\":{}", comment.line)?;
                if !no_text {
                    out.write_all(b",\"text\":")?;
                    serde_json::to_writer(&mut out, &comment.text)?;
                }
                if fields != "}" {
                    out.write_all(b",")?;
                }
                out.write_all(fields.as_bytes())?;
                out.write_all(b"\n")?;
            }
            Some(_) => builder.add(&PostRecord {
                // Comments from elsewhere carry no identity: each counts as one person.
                participant: i as u64,
                week: comment.week.unwrap_or(this_week),
                text: &comment.text,
                themes: &analysis.themes,
                sentiment: analysis.sentiment,
                // These may not have been through parley's redaction: never quote them.
                quotable: false,
            }),
        }
        if let Some(bar) = &progress {
            bar.inc(1);
        }
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    if let Some(format) = format {
        let texts: Vec<&str> = comments.iter().map(|c| c.text.as_str()).collect();
        builder.set_emerging(themes::emerging_themes(&analyzer, &texts, 3, 10));
        out.write_all(format.render(&builder.finish()).as_bytes())?;
        if explain {
            // Words are counts over many comments, never quotes: safe to show.
            eprintln!("parley: the words that most often decided each theme:");
            for (theme, words) in &evidence {
                let mut top: Vec<(&String, &u64)> = words.iter().collect();
                top.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
                let list: Vec<String> = top.iter().take(8).map(|(w, n)| format!("{w} ({n})")).collect();
                eprintln!("  {}: {}", analyzer.taxonomy().label(theme), list.join(", "));
            }
        }
    }
    out.flush()?;
    if output.is_some() {
        eprintln!("parley: analysed {} comments", comments.len());
    }
    Ok(())
}

/// Stores `posts` analysed posts in one discussion, then times its summary.
pub async fn summary(config: &Config, database: Option<&str>, posts: u64) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let url =
        database.map(str::to_string).unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let store = parley::store::Store::connect(&url).await?;
    let analyzer = config.themes.analyzer()?;
    let samples = [
        "Waited three weeks for a GP appointment and the receptionist was rude",
        "The nurse was lovely and explained everything clearly",
        "Couldn't get through on the phone at 8am, the line was always engaged",
        "Parking at the hospital costs a fortune and the bus only runs hourly",
        "My repeat prescription went missing between the surgery and the pharmacy",
        "The NHS App is brilliant for booking but the online form closes by 9am",
        "Mental health crisis team took days to call back, I felt fobbed off",
        "The ward was clean and the staff went above and beyond",
    ];
    let analysed: Vec<(String, String, i64)> = samples
        .iter()
        .map(|t| {
            let a = analyzer.analyse(t);
            (t.to_string(), a.themes.join(","), (a.sentiment.score * 100.0).round() as i64)
        })
        .collect();
    eprintln!("parley bench: storing {posts} posts in {} ...", parley::store::redact_url(&url));
    let started = Instant::now();
    let (discussion, earlier) = store.bench_fill("bench", posts, &analysed).await?;
    if earlier > 0 {
        eprintln!("parley bench: the database has {earlier} posts from an earlier run; using them");
    } else {
        eprintln!("parley bench: stored in {:.1} s", started.elapsed().as_secs_f64());
    }
    let posts = if earlier > 0 { earlier } else { posts };
    // As `!summary` and `parley report` read: a read transaction, which on a SQLite file
    // scans the file directly. Then, as the baseline of the same run, the same work through
    // sqlx (the same read transaction without the direct scans, as every read went before).
    let mut read = store.begin_read().await?;
    let d = read.discussion(discussion).await?.context("the bench discussion vanished")?;
    let (direct, summary, participation) = time_summary(&mut read, &analyzer, &d).await?;
    drop(read);
    let ways: Vec<(&str, Vec<f64>)> = if store.backend() == parley::store::Backend::Sqlite {
        let mut queries = store.begin_read_queries().await?;
        let (through_sqlx, again, counted) = time_summary(&mut queries, &analyzer, &d).await?;
        drop(queries);
        anyhow::ensure!(
            again.to_chat() == summary.to_chat() && counted == participation,
            "the direct scan and sqlx disagree"
        );
        println!(
            "summary over {posts} stored posts, and participation (3 runs each; both ways give the same figures):"
        );
        vec![("read from the file directly", direct), ("through sqlx (before; baseline)", through_sqlx)]
    } else {
        println!("summary over {posts} stored posts, and participation (3 runs):");
        vec![("through sqlx", direct)]
    };
    for (how, t) in &ways {
        println!(
            "  {how}: summary best {:.3} s, median {:.3} s; participation best {:.3} s; both best {:.3} s",
            t[0], t[1], t[3], t[6]
        );
    }
    println!("{}", summary.to_chat().lines().next().unwrap_or(""));
    during_summary(config, store).await
}

/// Times the summary of `d` (sorted seconds at 0..3), participation (3..6) and both
/// (6..9), three runs each; returns the last summary and participation.
async fn time_summary(
    tx: &mut parley::store::Tx,
    analyzer: &themes::Analyzer,
    d: &parley::store::Discussion,
) -> anyhow::Result<(Vec<f64>, themes::Summary, parley::store::Participation)> {
    let (mut summaries, mut counts, mut both) = (Vec::new(), Vec::new(), Vec::new());
    let mut last = None;
    for _ in 0..3 {
        let started = Instant::now();
        let summary = parley::report::discussion_summary(tx, analyzer, d, 5).await?;
        let middle = Instant::now();
        let participation = tx.participation(d.id).await?;
        summaries.push((middle - started).as_secs_f64());
        counts.push(middle.elapsed().as_secs_f64());
        both.push(started.elapsed().as_secs_f64());
        last = Some((summary, participation));
    }
    let (summary, participation) = last.context("no run")?;
    let mut out = Vec::new();
    for mut t in [summaries, counts, both] {
        t.sort_by(f64::total_cmp);
        out.extend(t);
    }
    Ok((out, summary, participation))
}

/// A participant's post handled while a commissioner's `!summary` of the same discussion
/// runs, through the real engine: the summary reads outside the engine's lock, so the post
/// should be answered in about the time it takes alone.
async fn during_summary(config: &Config, store: parley::store::Store) -> anyhow::Result<()> {
    use chat::{Conversation, Core, Inbound, Platform, Roles, Sender};
    use std::sync::Arc;

    let engine = parley::engine::Engine::start(
        store,
        parley::identity::Identity::new(b"parley bench secret, not used for anything else"),
        Arc::new(parley::clock::SystemClock),
        config,
        vec![Platform::Console],
    )
    .await?;
    let engine = Arc::new(engine);
    let message = |n: u64, who: &str, conversation: Conversation, text: &str| Inbound {
        platform: Platform::Console,
        event_id: format!("bench-{n}"),
        sender: Sender { id: who.into(), roles: Roles { moderator: false, commissioner: true } },
        conversation,
        text: text.into(),
        reply_to: None,
    };
    let direct = |who: &str| Conversation::Direct { address: who.into() };
    // A post with nothing else running, for comparison (the first one also assigns a name).
    engine.handle(message(1, "p1", direct("p1"), "!post bench warming up")).await;
    let started = Instant::now();
    engine.handle(message(2, "p1", direct("p1"), "!post bench the phone line was engaged all morning")).await;
    let alone = started.elapsed();

    let summarising = {
        let engine = engine.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            engine.handle(message(3, "comm1", Conversation::Commissioners, "!summary bench")).await;
            started.elapsed()
        })
    };
    // Let the summary start reading before the participant writes.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let started = Instant::now();
    engine.handle(message(4, "p2", direct("p2"), "!post bench the receptionist was very kind")).await;
    let during = started.elapsed();
    let summary = summarising.await?;
    println!(
        "a participant's post: {:.1} ms alone, {:.1} ms while a !summary of the same discussion ran \
         (the summary was answered in {:.3} s)",
        alone.as_secs_f64() * 1000.0,
        during.as_secs_f64() * 1000.0,
        summary.as_secs_f64()
    );
    Ok(())
}

//! `parley analyse` and `parley bench`: the binary's batch commands.

use std::io::{BufRead, Write};
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use parley::config::Config;
use parley::report::{read_comments, week_of_ms, Format};
use themes::{PostRecord, SummaryBuilder, SummaryOptions};

/// Inputs longer than this get a progress bar.
const PROGRESS_FROM: usize = 2_000;

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
}

pub fn analyse(config: &Config, options: &AnalyseOptions<'_>) -> anyhow::Result<()> {
    let AnalyseOptions { input, format, output, force_csv, title, small_numbers, no_text } = options.clone();
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
    for (i, comment) in comments.iter().enumerate() {
        let analysis = analyzer.analyse(&comment.text);
        match format {
            None => {
                // `line` and `text` first, then the analysis's own fields exactly as before
                // (`themes`, `sentiment`), which scoring scripts read.
                let fields = serde_json::to_string(&analysis)?;
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
    let discussion = store.bench_fill("bench", posts, &analysed).await?;
    eprintln!("parley bench: stored in {:.1} s", started.elapsed().as_secs_f64());
    let mut tx = store.begin().await?;
    let d = tx.discussion(discussion).await?.context("the bench discussion vanished")?;
    let mut timings = Vec::new();
    let mut summary = None;
    for _ in 0..3 {
        let started = Instant::now();
        summary = Some(parley::report::discussion_summary(&mut tx, &analyzer, &d, 5).await?);
        timings.push(started.elapsed().as_secs_f64());
    }
    timings.sort_by(f64::total_cmp);
    println!("summary over {posts} stored posts: best {:.3} s, median {:.3} s (3 runs)", timings[0], timings[1]);
    if let Some(s) = summary {
        println!("{}", s.to_chat().lines().next().unwrap_or(""));
    }
    drop(tx);
    during_summary(config, store).await
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

//! Train or evaluate a theme model without building the whole of parley (the same
//! functions as `parley themes train|evaluate`).
//! `cargo run --release -p themes --example model -- evaluate train.csv [k]`
//! `cargo run --release -p themes --example model -- train train.csv out.model`
#![allow(clippy::unwrap_used)]

use themes::model::{cross_group, cross_validate, train, Corpus, TrainOptions};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let corpus = Corpus::from_csv(std::fs::File::open(&args[1]).unwrap(), None).unwrap();
    let mut opts = TrainOptions::default();
    if let Ok(c) = std::env::var("C_THEMES") {
        opts.c_themes = c.parse().unwrap();
    }
    if let Ok(c) = std::env::var("C_SENTIMENT") {
        opts.c_sentiment = c.parse().unwrap();
    }
    if let Ok(c) = std::env::var("MARGIN") {
        opts.lexicon_margin = c.parse().unwrap();
    }
    if std::env::var("BALANCE").is_ok() {
        opts.balance_classes = true;
    }
    if let Ok(c) = std::env::var("MIN_DF") {
        opts.min_df = c.parse().unwrap();
    }
    if std::env::var("NO_LEXICON").is_ok() {
        opts.lexicon = false;
    }
    match args[0].as_str() {
        "evaluate" => {
            let k = args.get(2).map(|k| k.parse().unwrap()).unwrap_or(5);
            println!("{}", cross_validate(&corpus, &opts, k));
        }
        "groups" => {
            let mut groups: Vec<String> = corpus.examples.iter().filter_map(|e| e.group.clone()).collect();
            groups.sort();
            groups.dedup();
            for g in groups {
                println!("{}", cross_group(&corpus, &opts, &g));
            }
        }
        _ => {
            let model = train(&corpus, &opts);
            std::fs::write(&args[2], model.to_bytes()).unwrap();
        }
    }
}

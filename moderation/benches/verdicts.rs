//! Throughput of full `Moderator::assess` on a realistic mix of posts: benign health talk,
//! posts with personal data to redact, abuse (with evasion), spam and crisis posts.
//!
//! `cargo bench -p moderation` reports the time per batch; verdicts per second on one core
//! is `POSTS.len()` divided by that time (criterion prints it as the element throughput).

#![allow(clippy::unwrap_used, missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use moderation::Moderator;

const POSTS: &[&str] = &[
    "The wait at my GP was three weeks for a routine appointment, and when I finally got in the doctor was lovely.",
    "Had my smear test yesterday, the nurse was lovely and explained everything",
    "the killer was the wait, 6 hours in A&E with a broken wrist",
    "my back is killing me and the physio list is 18 weeks",
    "Called 111 option 2 for my daughter and they were very helpful",
    "Parking charges at the hospital are a disgrace when you are visiting every day. Please sort it out, it costs me £40 a week.",
    "My 8 year old has been waiting 2 years for an autism assessment",
    "honestly the wait was bloody awful but the care once I was seen was great",
    "Visit https://www.nhs.uk/conditions/ for good info on symptoms",
    "I had to chase my test results three times before anyone rang back, it's exhausting when you're already ill and worried.",
    "please ring me on 07700 900123 about my appointment",
    "my nhs number is 626 018 1590 can someone check my referral",
    "email me at jo.bloggs@example.com, I'm at LS1 4AP",
    "my DOB 12/03/1985 was entered wrong on the system",
    "call +44 (0)7700 900987 or 0113 496 0000",
    "the receptionist is a f*cking idiot",
    "f u c k this surgery",
    "kill yourself",
    "check out https://example.com/deal for cheap meds",
    "I can't go on, everyone would be better off without me",
];

fn verdicts(c: &mut Criterion) {
    let moderator = Moderator::standard();
    let recent = vec!["Thanks to the nurses on ward 7, you were all stars".to_string()];
    let mut group = c.benchmark_group("assess");
    group.throughput(Throughput::Elements(POSTS.len() as u64));
    group.bench_function("mixed_posts", |b| {
        b.iter(|| {
            for post in POSTS {
                black_box(moderator.assess(black_box(post), &recent));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, verdicts);
criterion_main!(benches);

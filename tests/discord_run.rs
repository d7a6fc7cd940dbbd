//! `parley run` with a Discord configuration and nothing else, from the README's
//! instructions (environment variables only), pointed at the fake Discord of the adapter's
//! tests.
#![cfg(all(feature = "discord", unix))]
#![allow(clippy::unwrap_used)]

#[path = "../bots/discord/tests/support/mod.rs"]
mod support;

use std::process::Stdio;

use support::{bounded, FakeDiscord, Person, CHANNEL, COMMISSIONERS, GUILD, MODERATORS};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parley_run_on_a_fake_discord() {
    bounded(std::time::Duration::from_secs(300), async {
        let fake = FakeDiscord::start().await;
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_parley"));
        cmd.arg("run").arg("--data-dir").arg(dir.path());
        for (var, _) in std::env::vars() {
            if var.starts_with("PARLEY_") || var == "DATABASE_URL" {
                cmd.env_remove(var);
            }
        }
        let child = cmd
            .env("PARLEY_DISCORD_TOKEN", "fake-token")
            .env("PARLEY_DISCORD_GUILD", GUILD.to_string())
            .env("PARLEY_DISCORD_CHANNEL", CHANNEL.to_string())
            .env("PARLEY_DISCORD_MODERATORS_CHANNEL", MODERATORS.to_string())
            .env("PARLEY_DISCORD_COMMISSIONERS_CHANNEL", COMMISSIONERS.to_string())
            .env("PARLEY_DISCORD_API_URL", &fake.api_url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();

        let channel = CHANNEL.to_string();
        let root = fake
            .until("the gp-access thread", |f| {
                f.in_channel(&channel).into_iter().find(|m| m.content.starts_with("gp-access"))
            })
            .await;
        // Events are only dispatched on a live session: wait for READY before writing.
        fake.until("the gateway session", |f| (f.gateway_counts().3 > 0 && f.connected()).then_some(())).await;
        let alice = Person::new(920_000_000_000_000_001, "alice", "Alice");
        fake.dm(&alice, "!join gp-access");
        let dm = fake.dm_channel_of(alice.id);
        fake.until("the join answer", |f| {
            f.in_channel(&dm).into_iter().find(|m| m.content.contains("You have joined"))
        })
        .await;
        fake.dm(&alice, "Evening appointments would help");
        let post = fake
            .until("the post", |f| {
                f.in_channel(&root.id).into_iter().find(|m| m.content.contains("Evening appointments"))
            })
            .await;
        assert_eq!(post.body["allowed_mentions"], serde_json::json!({ "parse": [] }));

        // Ctrl-C: parley stops cleanly and said which adapter it started.
        let pid = child.id().unwrap().to_string();
        std::process::Command::new("kill").args(["-INT", &pid]).status().unwrap();
        let out = child.wait_with_output().await.unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(stderr.contains("started the Discord adapter"), "{stderr}");
    })
    .await;
}

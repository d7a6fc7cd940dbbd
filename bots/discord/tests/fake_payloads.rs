//! The fake Discord's gateway payloads are what serenity accepts from Discord.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::json;
use serenity::all::{Interaction, Message};
use support::{FakeDiscord, Person, CHANNEL};

#[tokio::test]
async fn dispatches_deserialize_as_serenity_models() {
    let fake = FakeDiscord::start().await;
    let mut p = Person::new(1_000, "u", "U");
    p.roles.push(5);
    fake.dm(&p, "hello");
    fake.guild_message(&p, &CHANNEL.to_string(), "hi");
    fake.slash(&p, None, "join", json!([{ "name": "discussion", "type": 3, "value": "gp-access" }]));
    fake.slash(&p, Some(&CHANNEL.to_string()), "topics", json!([]));
    for event in fake.dispatched() {
        let d = event["d"].clone();
        match event["t"].as_str().unwrap() {
            "MESSAGE_CREATE" => {
                serde_json::from_value::<Message>(d).unwrap();
            }
            "INTERACTION_CREATE" => match serde_json::from_value::<Interaction>(d).unwrap() {
                Interaction::Command(c) => assert_eq!(c.user.id.get(), 1_000),
                other => panic!("not a command: {other:?}"),
            },
            other => panic!("{other}"),
        }
    }
}

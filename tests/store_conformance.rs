//! One storage conformance suite, run against every backend: SQLite files and a real
//! PostgreSQL server (`PARLEY_TEST_POSTGRES`, default the local trust-auth server).
#![allow(clippy::unwrap_used)]

mod common;

use chat::Platform;
use parley::ids::{ParticipantKey, PostNumber};
use parley::store::{DiscussionStatus, NewOutbox, NewPost, OutboxAction, OutboxDest, PostStatus, Sanctions, Store};

async fn sqlite() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("conformance.db").display());
    (Store::connect(&url).await.unwrap(), dir)
}

async fn postgres() -> (Store, common::TestDatabase) {
    let db = common::fresh_postgres().await;
    (Store::connect(&db).await.unwrap(), db)
}

/// A published top-level post by "Amber Otter" without themes, for `insert_next_post`.
fn plain_post<'a>(
    discussion: parley::ids::DiscussionId,
    participant: &'a ParticipantKey,
    body: &'a str,
    created_at: i64,
    platform: Platform,
) -> NewPost<'a> {
    NewPost {
        discussion,
        number: PostNumber(0),
        participant,
        pseudonym: "Amber Otter",
        parent: None,
        body,
        status: PostStatus::Published,
        created_at,
        themes: "",
        sentiment: 0,
        platform,
        reasons: None,
    }
}

fn key(s: &str) -> ParticipantKey {
    ParticipantKey(format!("{s:0>64}"))
}

async fn inbound_events_are_deduplicated(store: Store) {
    let mut tx = store.begin().await.unwrap();
    assert!(tx.record_inbound(Platform::Matrix, "$e1", 1).await.unwrap());
    assert!(!tx.record_inbound(Platform::Matrix, "$e1", 2).await.unwrap());
    assert!(tx.record_inbound(Platform::Discord, "$e1", 3).await.unwrap(), "per platform");
    tx.commit().await.unwrap();
    // A rolled-back transaction leaves no trace.
    let mut tx = store.begin().await.unwrap();
    assert!(tx.record_inbound(Platform::Matrix, "$e2", 1).await.unwrap());
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    assert!(tx.record_inbound(Platform::Matrix, "$e2", 1).await.unwrap());
}

/// A group's events recorded at once: new ones are new once (the first of several with the
/// same id in the group), ones seen before are not, per platform; odd ids are stored as
/// given.
async fn inbound_events_of_a_group_are_deduplicated_at_once(store: Store) {
    let mut tx = store.begin().await.unwrap();
    assert!(tx.record_inbound(Platform::Matrix, "$seen", 1).await.unwrap());
    let odd = "quote \" backslash \\ brace } é 😀 \u{200D}";
    let events = [
        (Platform::Matrix, "$a"),
        (Platform::Matrix, "$seen"),
        (Platform::Matrix, "$a"),
        (Platform::Discord, "$a"),
        (Platform::Matrix, odd),
        (Platform::Matrix, "$b"),
    ];
    let new = tx.record_inbound_many(&events, 2).await.unwrap();
    assert_eq!(new, vec![true, false, false, true, true, true]);
    assert!(!tx.record_inbound(Platform::Matrix, odd, 3).await.unwrap(), "stored as given");
    assert!(!tx.record_inbound(Platform::Discord, "$a", 3).await.unwrap());
    assert_eq!(tx.record_inbound_many(&[], 4).await.unwrap(), Vec::<bool>::new());
    assert_eq!(tx.record_inbound_many(&events[..2], 4).await.unwrap(), vec![false, false]);
    tx.commit().await.unwrap();
}

async fn discussions_open_close_and_list(store: Store) {
    let mut tx = store.begin().await.unwrap();
    let d = tx.insert_discussion("gp-access", "GP", "How?", 1).await.unwrap().unwrap();
    assert!(tx.insert_discussion("gp-access", "again", "x", 2).await.unwrap().is_none());
    tx.insert_discussion("urgent-care", "UC", "?", 3).await.unwrap().unwrap();
    assert_eq!(tx.discussions(true).await.unwrap().len(), 2);
    tx.set_discussion_status(d.id, DiscussionStatus::Closed).await.unwrap();
    let open = tx.discussions(true).await.unwrap();
    assert_eq!(open.iter().map(|d| d.slug.as_str()).collect::<Vec<_>>(), vec!["urgent-care"]);
    assert_eq!(tx.discussions(false).await.unwrap().len(), 2);
    let got = tx.discussion_by_slug("gp-access").await.unwrap().unwrap();
    assert_eq!(got.status, DiscussionStatus::Closed);
    assert_eq!(tx.discussion(d.id).await.unwrap().unwrap().slug, "gp-access");
    assert!(tx.discussion_by_slug("nope").await.unwrap().is_none());
    tx.commit().await.unwrap();
}

async fn participants_pseudonyms_and_posts(store: Store) {
    let mut tx = store.begin().await.unwrap();
    let d = tx.insert_discussion("gp-access", "GP", "How?", 1).await.unwrap().unwrap();
    let (a, b) = (key("a"), key("b"));
    let p = tx.participant(&a, 1).await.unwrap();
    assert!(!p.seen_notice && p.current_discussion.is_none());
    tx.join(&a, d.id).await.unwrap();
    let p = tx.participant(&a, 2).await.unwrap();
    assert!(p.seen_notice);
    assert_eq!(p.current_discussion, Some(d.id));

    assert!(tx.claim_pseudonym(d.id, "Amber Otter", &a, 1).await.unwrap());
    assert!(!tx.claim_pseudonym(d.id, "Amber Otter", &b, 1).await.unwrap(), "names are unique per discussion");
    assert!(tx.claim_pseudonym(d.id, "Brave Heron", &b, 1).await.unwrap());
    assert_eq!(tx.pseudonym(d.id, &a).await.unwrap().as_deref(), Some("Amber Otter"));

    let n1 = tx.next_post_number(d.id).await.unwrap();
    let n2 = tx.next_post_number(d.id).await.unwrap();
    assert_eq!((n1, n2), (PostNumber(1), PostNumber(2)));
    let post = |number, participant, parent| NewPost {
        discussion: d.id,
        number,
        participant,
        pseudonym: "Amber Otter",
        parent,
        body: "text",
        status: PostStatus::Published,
        created_at: 5,
        themes: "waiting",
        sentiment: -40,
        platform: Platform::Matrix,
        reasons: None,
    };
    let id1 = tx.insert_post(&post(n1, &a, None)).await.unwrap();
    tx.insert_post(&post(n2, &a, Some(n1))).await.unwrap();
    let got = tx.post_by_number(d.id, n1).await.unwrap().unwrap();
    assert_eq!(got.id, id1);
    assert_eq!(got.participant.as_ref(), Some(&a));
    assert_eq!(tx.post_by_number(d.id, n2).await.unwrap().unwrap().parent, Some(n1));
    assert!(tx.post_by_number(d.id, PostNumber(9)).await.unwrap().is_none());
    assert_eq!(tx.posts(d.id).await.unwrap().len(), 2);

    tx.save_contact(&a, Platform::Matrix, "sealed-1", 1).await.unwrap();
    tx.save_contact(&a, Platform::Matrix, "sealed-2", 2).await.unwrap();
    assert_eq!(tx.contact(&a, Platform::Matrix).await.unwrap().as_deref(), Some("sealed-2"));

    assert_eq!(tx.forget(&a).await.unwrap(), 2);
    assert_eq!(tx.count_posts_by(&a).await.unwrap(), 0);
    assert!(tx.contact(&a, Platform::Matrix).await.unwrap().is_none());
    assert!(tx.pseudonym(d.id, &a).await.unwrap().is_none());
    assert!(!tx.claim_pseudonym(d.id, "Amber Otter", &a, 3).await.unwrap(), "a forgotten name stays reserved");
    assert_eq!(tx.posts(d.id).await.unwrap().len(), 2, "posts stay, detached");
    tx.commit().await.unwrap();
}

async fn outbox_delivers_in_order_with_leases_and_backoff(store: Store) {
    let mut tx = store.begin().await.unwrap();
    let d = tx.insert_discussion("gp-access", "GP", "How?", 1).await.unwrap().unwrap();
    let a = key("a");
    let n = tx.next_post_number(d.id).await.unwrap();
    let post = tx
        .insert_post(&NewPost {
            discussion: d.id,
            number: n,
            participant: &a,
            pseudonym: "Amber Otter",
            parent: None,
            body: "hello",
            status: PostStatus::Published,
            created_at: 1,
            themes: "",
            sentiment: 0,
            platform: Platform::Matrix,
            reasons: None,
        })
        .await
        .unwrap();
    assert!(!tx.thread_requested(d.id, Platform::Matrix).await.unwrap());
    let msg = |dest, action, body, post, reply_to| NewOutbox {
        platform: Platform::Matrix,
        dest,
        action,
        body,
        post,
        reply_to,
        choices: None,
        now: 100,
    };
    tx.enqueue(&msg(OutboxDest::Thread(d.id), OutboxAction::OpenThread, "root", None, None)).await.unwrap();
    assert!(tx.thread_requested(d.id, Platform::Matrix).await.unwrap());
    tx.enqueue(&msg(OutboxDest::Thread(d.id), OutboxAction::Send, "#1 hello", Some(post), None)).await.unwrap();
    // A DM asking for an answer keeps its choices through the outbox.
    let question = NewOutbox {
        choices: Some(r#"{"labels":["Yes","No"]}"#),
        ..msg(OutboxDest::Direct { sealed_address: "sealed" }, OutboxAction::Send, "ack", None, None)
    };
    tx.enqueue(&question).await.unwrap();
    tx.enqueue(&msg(OutboxDest::Thread(d.id), OutboxAction::Send, "#2 reply", None, Some(post))).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.pending_count().await.unwrap(), 4);

    // Before the root exists, only the root and the DM are due.
    let due = store.due(Platform::Matrix, 100, 10).await.unwrap();
    assert_eq!(due.iter().map(|r| r.action.as_str()).collect::<Vec<_>>(), vec!["open_thread", "send"]);
    assert_eq!(due[1].dest_kind, "direct");
    assert_eq!(due[1].sealed_address.as_deref(), Some("sealed"));
    assert_eq!(due[1].choices.as_deref(), Some(r#"{"labels":["Yes","No"]}"#));
    assert_eq!(due[0].choices, None);
    assert!(store.due(Platform::Discord, 100, 10).await.unwrap().is_empty(), "per platform");
    // Leased: a second caller gets nothing until the lease runs out.
    assert!(store.due(Platform::Matrix, 100, 10).await.unwrap().is_empty());

    // The root fails once and backs off.
    assert_eq!(store.mark_failed(due[0].id, 5_000).await.unwrap(), 1);
    assert_eq!(store.attempts(due[0].id).await.unwrap(), 1);
    store.mark_delivered(due[1].id, Some("$dm"), 200).await.unwrap();
    assert!(store.due(Platform::Matrix, 4_999, 10).await.unwrap().is_empty());
    let due = store.due(Platform::Matrix, 5_000, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    store.mark_delivered(due[0].id, Some("$root"), 5_001).await.unwrap();
    store.mark_delivered(due[0].id, Some("$other"), 5_002).await.unwrap(); // idempotent

    // Now the thread posts are due, with the root and the reply target resolved in order.
    let due = store.due(Platform::Matrix, 6_000, 1).await.unwrap();
    assert_eq!(due.len(), 1, "limit is honoured");
    assert_eq!(due[0].root.as_deref(), Some("$root"));
    assert_eq!(due[0].slug.as_deref(), Some("gp-access"));
    store.mark_delivered(due[0].id, Some("$post1"), 6_001).await.unwrap();
    let due = store.due(Platform::Matrix, 6_000, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].body, "#2 reply");
    assert_eq!(due[0].reply_to_message.as_deref(), Some("$post1"));
    store.mark_delivered(due[0].id, None, 6_002).await.unwrap();
    assert_eq!(store.pending_count().await.unwrap(), 0);

    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.post_messages(post).await.unwrap(), vec![(Platform::Matrix, "$post1".to_string())]);
    // Removing a post resolves its platform message.
    tx.enqueue(&NewOutbox {
        platform: Platform::Matrix,
        dest: OutboxDest::Thread(d.id),
        action: OutboxAction::Remove,
        body: "",
        post: Some(post),
        reply_to: None,
        choices: None,
        now: 7_000,
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let due = store.due(Platform::Matrix, 7_000, 10).await.unwrap();
    assert_eq!(due[0].remove_message.as_deref(), Some("$post1"));

    // Pruning drops delivered rows past their age and keeps pending ones.
    let (_, pruned) = store.prune(10_000, 1_000_000, 5_000, 100).await.unwrap();
    assert_eq!(pruned, 1, "only the DM was delivered before 5,000");
    assert_eq!(store.pending_count().await.unwrap(), 1);
    // At most so many a call, oldest first: the root (5,001) and the post (6,001), then
    // the reply (6,002).
    assert_eq!(store.prune(10_000, 1_000_000, 3_000, 2).await.unwrap().1, 2);
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.post_messages(post).await.unwrap(), vec![(Platform::Matrix, "$post1".to_string())]);
    tx.commit().await.unwrap();
    assert_eq!(store.prune(10_000, 1_000_000, 3_000, 2).await.unwrap().1, 1);
    assert_eq!(store.prune(10_000, 1_000_000, 3_000, 2).await.unwrap().1, 0);
    assert_eq!(store.pending_count().await.unwrap(), 1, "the pending removal stays");

    // Inbound event ids the same way, by age.
    let mut tx = store.begin().await.unwrap();
    for (id, at) in [("$late", 9_000), ("$a", 1), ("$b", 2), ("$c", 3)] {
        assert!(tx.record_inbound(Platform::Matrix, id, at).await.unwrap());
    }
    tx.commit().await.unwrap();
    assert_eq!(store.prune(10_000, 5_000, 1_000_000, 2).await.unwrap().0, 2);
    assert_eq!(store.prune(10_000, 5_000, 1_000_000, 2).await.unwrap().0, 1);
    assert_eq!(store.prune(10_000, 5_000, 1_000_000, 2).await.unwrap().0, 0);
    let mut tx = store.begin().await.unwrap();
    assert!(!tx.record_inbound(Platform::Matrix, "$late", 9_500).await.unwrap(), "a recent id is still known");
    assert!(tx.record_inbound(Platform::Matrix, "$a", 9_500).await.unwrap(), "a pruned id is new again");
    tx.commit().await.unwrap();
}

async fn numbering_is_per_discussion(store: Store) {
    let mut tx = store.begin().await.unwrap();
    let a = tx.insert_discussion("one", "1", "?", 1).await.unwrap().unwrap();
    let b = tx.insert_discussion("two", "2", "?", 1).await.unwrap().unwrap();
    assert_eq!(tx.next_post_number(a.id).await.unwrap(), PostNumber(1));
    assert_eq!(tx.next_post_number(b.id).await.unwrap(), PostNumber(1));
    assert_eq!(tx.next_post_number(a.id).await.unwrap(), PostNumber(2));
    tx.commit().await.unwrap();
}

/// A post stored under the next `#N` (one statement on PostgreSQL) gets the same numbers
/// as `next_post_number` and `insert_post`, and shares their counter.
async fn posts_take_the_next_number(store: Store) {
    let mut tx = store.begin().await.unwrap();
    let d = tx.insert_discussion("one", "1", "?", 1).await.unwrap().unwrap();
    let a = key("a");
    let post = |parent| NewPost {
        discussion: d.id,
        number: PostNumber(0),
        participant: &a,
        pseudonym: "Amber Otter",
        parent,
        body: "first",
        status: PostStatus::Published,
        created_at: 5,
        themes: "access",
        sentiment: -20,
        platform: Platform::Matrix,
        reasons: None,
    };
    let (first, n1) = tx.insert_next_post(&post(None)).await.unwrap();
    assert_eq!(n1, PostNumber(1));
    assert_eq!(tx.next_post_number(d.id).await.unwrap(), PostNumber(2));
    let (second, n3) = tx.insert_next_post(&post(Some(n1))).await.unwrap();
    assert_eq!(n3, PostNumber(3));
    assert_ne!(first, second);
    let stored = tx.post_by_number(d.id, n3).await.unwrap().unwrap();
    assert_eq!((stored.id, stored.parent, stored.body.as_str()), (second, Some(n1), "first"));
    assert_eq!(tx.post_by_number(d.id, n1).await.unwrap().unwrap().id, first);
    // No such discussion: an error.
    assert!(tx
        .insert_next_post(&NewPost { discussion: parley::ids::DiscussionId(999_999), ..post(None) })
        .await
        .is_err());
    drop(tx);

    // Numbers held in memory for a group: the same numbers, written back at the commit;
    // a transaction rolled back takes none.
    let mut tx = store.begin().await.unwrap();
    let d = tx.insert_discussion("two", "2", "?", 1).await.unwrap().unwrap();
    let e = tx.insert_discussion("three", "3", "?", 1).await.unwrap().unwrap();
    tx.commit().await.unwrap();
    let post_in = |d: parley::ids::DiscussionId| NewPost { discussion: d, ..post(None) };
    for commit in [false, true] {
        let mut tx = store.begin().await.unwrap();
        tx.hold_post_numbers();
        let mut numbers = Vec::new();
        for d in [d.id, e.id, d.id, d.id, e.id] {
            numbers.push(tx.insert_next_post(&post_in(d)).await.unwrap().1 .0);
        }
        assert_eq!(numbers, vec![1, 1, 2, 3, 2]);
        // A discussion opened in the group numbers from 1 too.
        let f = tx.insert_discussion("four", "4", "?", 1).await.unwrap().unwrap();
        assert_eq!(tx.insert_next_post(&post_in(f.id)).await.unwrap().1, PostNumber(1));
        assert_eq!(tx.insert_next_post(&post_in(d.id)).await.unwrap().1, PostNumber(4));
        assert!(tx.insert_next_post(&post_in(parley::ids::DiscussionId(999_999))).await.is_err());
        if commit {
            tx.commit().await.unwrap();
        }
    }
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.insert_next_post(&post_in(d.id)).await.unwrap().1, PostNumber(5));
    assert_eq!(tx.insert_next_post(&post_in(e.id)).await.unwrap().1, PostNumber(3));
    let f = tx.discussion_by_slug("four").await.unwrap().unwrap();
    assert_eq!(tx.insert_next_post(&post_in(f.id)).await.unwrap().1, PostNumber(2));
}

/// A sender's latest posts and survey invitations are the same whether the participant
/// read brought them (PostgreSQL) or they are read on their own (SQLite), and stay true
/// after the message changes them.
async fn the_participant_read_gives_latest_posts_and_invitations(store: Store) {
    let mut tx = store.begin().await.unwrap();
    let d = tx.insert_discussion("gp-access", "GP", "How?", 1).await.unwrap().unwrap();
    let (a, b) = (key("a"), key("b"));
    let bodies = ["one", "two \"quoted\" \\ é 😀", "three", "four", "five", "six", "seven"];
    for (who, body) in
        [(&a, bodies[0]), (&b, "b's"), (&a, bodies[1])].into_iter().chain(bodies[2..].iter().map(|t| (&a, *t)))
    {
        tx.insert_next_post(&plain_post(d.id, who, body, 5, Platform::Matrix)).await.unwrap();
    }
    assert!(tx.invite("s2", &a, d.id, "first_post", 10).await.unwrap());
    assert!(tx.invite("s1", &a, d.id, "push", 11).await.unwrap());
    tx.start_survey("s1", &a, 12).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    tx.next_message();
    tx.participant_on(&a, Platform::Matrix, 20).await.unwrap();
    let latest: Vec<String> = bodies[2..].iter().map(|s| s.to_string()).collect();
    assert_eq!(tx.recent_bodies(&a, 5).await.unwrap(), latest);
    assert_eq!(tx.recent_bodies(&a, 2).await.unwrap(), latest[3..].to_vec());
    let invitations = tx.invitations(&a).await.unwrap();
    assert_eq!(invitations.iter().map(|i| i.survey_id.as_str()).collect::<Vec<_>>(), vec!["s2", "s1"]);
    assert_eq!((invitations[0].started, invitations[1].started), (false, true));
    assert_eq!(invitations[1].discussion, d.id);
    assert!(tx.invitations(&b).await.unwrap().is_empty());
    // What the message changes is read afresh.
    tx.insert_next_post(&plain_post(d.id, &a, "eight", 21, Platform::Matrix)).await.unwrap();
    assert_eq!(tx.recent_bodies(&a, 5).await.unwrap(), vec!["four", "five", "six", "seven", "eight"]);
    // The sender invited: on PostgreSQL, where their invitations came with their row, the
    // row is queued with the message's others; read back the same, in the message and
    // after it.
    tx.next_message();
    tx.participant_on(&a, Platform::Matrix, 21).await.unwrap();
    assert!(tx.invite("s3", &a, d.id, "post", 21).await.unwrap());
    assert!(!tx.invite("s3", &a, d.id, "push", 21).await.unwrap(), "once per survey");
    assert!(!tx.invite("s1", &a, d.id, "push", 21).await.unwrap());
    for again in [false, true] {
        if again {
            tx.next_message();
            tx.participant_on(&a, Platform::Matrix, 21).await.unwrap();
        }
        let invitations = tx.invitations(&a).await.unwrap();
        let ids: Vec<_> = invitations.iter().map(|i| i.survey_id.as_str()).collect();
        assert_eq!(ids, ["s2", "s1", "s3"]);
        assert!(!invitations[2].started && invitations[2].discussion == d.id && invitations[2].next_question == 0);
    }
    assert_eq!(tx.survey_funnel("s3", d.id).await.unwrap().invited, 1);
    tx.stop_survey("s1", &a, 22).await.unwrap();
    assert!(tx.invitations(&a).await.unwrap()[1].stopped);
    tx.answer("s2", &a, 0, Some(("yes", "", true)), 3, false, 23).await.unwrap();
    assert_eq!(tx.invitations(&a).await.unwrap()[0].next_question, 3);
    tx.forget_surveys(&a).await.unwrap();
    assert!(tx.invitations(&a).await.unwrap().is_empty());
    // Someone who has never posted.
    tx.participant_on(&key("new"), Platform::Matrix, 24).await.unwrap();
    assert!(tx.recent_bodies(&key("new"), 5).await.unwrap().is_empty());
    assert!(tx.invitations(&key("new")).await.unwrap().is_empty());
}

/// A group's senders read at once (PostgreSQL; nothing on SQLite) give each message what
/// its own participant read gives: the participant, their address on that platform, their
/// sanctions, opt-out, discussion, pseudonym, latest posts and invitations. Someone with no
/// participant row yet gets one with the address their message came from (stored by the
/// group's read on PostgreSQL, when given), and a second message from a sender reads again.
async fn a_group_reads_its_senders_at_once(store: Store) {
    let mut tx = store.begin().await.unwrap();
    let d = tx.insert_discussion("gp-access", "GP", "How?", 1).await.unwrap().unwrap();
    let (a, b) = (key("a"), key("b"));
    for who in [&a, &b] {
        tx.participant_on(who, Platform::Matrix, 1).await.unwrap();
    }
    tx.join(&a, d.id).await.unwrap();
    tx.save_contact(&a, Platform::Matrix, "sealed-a", 2).await.unwrap();
    assert!(tx.claim_pseudonym(d.id, "Amber Otter", &a, 3).await.unwrap());
    tx.set_sanctions(&b, Sanctions { muted_until: 99, banned: false }, "Blue Heron@gp-access", 4).await.unwrap();
    tx.set_opted_out(&b, true).await.unwrap();
    for body in ["one", "two"] {
        tx.insert_next_post(&plain_post(d.id, &a, body, 5, Platform::Matrix)).await.unwrap();
    }
    assert!(tx.invite("s1", &a, d.id, "join", 6).await.unwrap());
    tx.commit().await.unwrap();

    // Each message's sender, platform and address sealed (`None`: a duplicate, which
    // stores nothing).
    let senders = [
        (a.clone(), Platform::Matrix, Some("sealed-a".to_string())),
        (b.clone(), Platform::Discord, Some("sealed-b".to_string())),
        (key("new"), Platform::Matrix, Some("sealed-new".to_string())),
        (key("dup"), Platform::Matrix, None),
        (a.clone(), Platform::Discord, Some("sealed-a2".to_string())),
        (a.clone(), Platform::Matrix, Some("sealed-a".to_string())),
        (key("new"), Platform::Discord, Some("sealed-new2".to_string())),
    ];
    // What each message sees: the prefetched group first (rolled back), then each alone.
    let mut seen = Vec::new();
    for at_once in [true, false] {
        let mut tx = store.begin().await.unwrap();
        if at_once {
            tx.read_participants_of(&senders, 10).await.unwrap();
            // PostgreSQL stores the new sender with the group's read, not the duplicate.
            if store.backend() == parley::store::Backend::Postgres {
                assert_eq!(tx.contact(&key("new"), Platform::Matrix).await.unwrap().as_deref(), Some("sealed-new"));
                assert!(tx.contact(&key("dup"), Platform::Matrix).await.unwrap().is_none());
            }
        }
        let mut these = Vec::new();
        for (who, platform, address) in &senders {
            tx.next_message();
            let Some(address) = address else {
                assert!(tx.contact(who, *platform).await.unwrap().is_none(), "a duplicate stores no one");
                these.push("duplicate".to_string());
                continue;
            };
            // As the engine does: the address stored unless it was stored with the row
            // (on PostgreSQL a first contact's, whether by the group's read or alone).
            let (participant, stored, saved) = tx.participant_sealed(who, *platform, 10, Some(address)).await.unwrap();
            let first_contact = who == &key("new") && *platform == Platform::Matrix;
            assert_eq!(saved, first_contact && store.backend() == parley::store::Backend::Postgres);
            if !saved && stored.as_ref() != Some(address) {
                tx.save_contact(who, *platform, address, 10).await.unwrap();
            }
            let sealed = tx.contact(who, *platform).await.unwrap();
            assert_eq!(sealed.as_ref(), Some(address));
            let discussion = match participant.current_discussion {
                Some(id) => Some((tx.discussion(id).await.unwrap(), tx.pseudonym(id, who).await.unwrap())),
                None => None,
            };
            these.push(format!(
                "{participant:?} {sealed:?} {:?} {} {discussion:?} {:?} {:?}",
                tx.sanctions(who).await.unwrap(),
                tx.opted_out(who).await.unwrap(),
                tx.recent_bodies(who, 5).await.unwrap(),
                tx.invitations(who).await.unwrap(),
            ));
            // The message changes the sender: a second message of theirs must see it.
            tx.insert_next_post(&plain_post(d.id, who, "later", 11, *platform)).await.unwrap();
        }
        seen.push(these);
    }
    assert_eq!(seen[0], seen[1]);
    assert!(seen[0][0].contains("sealed-a") && seen[0][0].contains("Amber Otter"), "{}", seen[0][0]);
    assert!(seen[0][1].contains("muted_until: 99"), "{}", seen[0][1]);
    assert!(seen[0][2].contains("sealed-new") && seen[0][2].contains("current_discussion: None"), "{}", seen[0][2]);
    assert!(seen[0][5].contains("\"later\""), "{}", seen[0][5]);
    assert!(seen[0][6].contains("sealed-new2") && seen[0][6].contains("\"later\""), "{}", seen[0][6]);
}

/// Outbox rows are written with the transaction's next statement: every read of the outbox
/// sees them, a rolled-back savepoint drops them, and an error in them surfaces at
/// `flush`, where the savepoint can still take them back.
async fn queued_outbox_rows(store: Store) {
    let mut tx = store.begin().await.unwrap();
    let d = tx.insert_discussion("gp-access", "GP", "How?", 1).await.unwrap().unwrap();
    tx.commit().await.unwrap();
    let row = |discussion, body| NewOutbox {
        platform: Platform::Matrix,
        dest: OutboxDest::Thread(discussion),
        action: OutboxAction::Send,
        body,
        post: None,
        reply_to: None,
        choices: None,
        now: 100,
    };
    let open = |discussion| NewOutbox { action: OutboxAction::OpenThread, ..row(discussion, "root") };

    let mut tx = store.begin().await.unwrap();
    // More rows than one statement writes, then a read that must see them all.
    tx.enqueue(&open(d.id)).await.unwrap();
    for i in 0..9 {
        tx.enqueue(&row(d.id, ["a", "b", "c", "d", "e", "f", "g", "h", "i"][i])).await.unwrap();
    }
    assert!(tx.thread_requested(d.id, Platform::Matrix).await.unwrap());

    // A message whose rows are rolled back with its savepoint.
    tx.savepoint().await.unwrap();
    tx.enqueue(&row(d.id, "rolled back")).await.unwrap();
    tx.undo_to_savepoint().await.unwrap();
    // A message whose row cannot be stored (no such discussion): the error comes at flush.
    tx.enqueue(&row(d.id, "kept")).await.unwrap();
    tx.next_savepoint().await.unwrap();
    tx.enqueue(&row(parley::ids::DiscussionId(999_999), "broken")).await.unwrap();
    assert!(tx.flush().await.is_err(), "the bad row's error surfaces at flush");
    tx.undo_to_savepoint().await.unwrap();
    tx.enqueue(&row(d.id, "after")).await.unwrap();
    tx.release().await.unwrap();
    // Queued last and written by the commit, around two senders' survey invitations
    // (queued too on PostgreSQL, where the group's read brought their invitations, and
    // written together): each table's rows keep their order.
    let senders = [
        (key("a"), Platform::Matrix, Some("sealed-a".to_string())),
        (key("b"), Platform::Matrix, Some("sealed-b".to_string())),
    ];
    tx.read_participants_of(&senders, 100).await.unwrap();
    tx.next_message();
    tx.participant_on(&key("a"), Platform::Matrix, 100).await.unwrap();
    tx.enqueue(&row(d.id, "last")).await.unwrap();
    assert!(tx.invite("s1", &key("a"), d.id, "post", 100).await.unwrap());
    tx.enqueue(&row(d.id, "very last")).await.unwrap();
    tx.next_message();
    tx.participant_on(&key("b"), Platform::Matrix, 100).await.unwrap();
    assert!(tx.invite("s1", &key("b"), d.id, "join", 100).await.unwrap());
    tx.commit().await.unwrap();

    let due = store.due(Platform::Matrix, 100, 100).await.unwrap();
    assert_eq!(due.iter().map(|r| r.body.as_str()).collect::<Vec<_>>(), vec!["root"], "the root first");
    store.mark_delivered(due[0].id, Some("$root"), 101).await.unwrap();
    let due = store.due(Platform::Matrix, 200, 100).await.unwrap();
    let bodies: Vec<&str> = due.iter().map(|r| r.body.as_str()).collect();
    assert_eq!(
        bodies,
        vec!["a", "b", "c", "d", "e", "f", "g", "h", "i", "kept", "after", "last", "very last"],
        "in order, once"
    );
    assert!(due.windows(2).all(|w| w[0].id < w[1].id));
    let mut tx = store.begin().await.unwrap();
    for who in ["a", "b"] {
        let invited: Vec<_> = tx.invitations(&key(who)).await.unwrap().into_iter().map(|i| i.survey_id).collect();
        assert_eq!(invited, ["s1"]);
    }
    assert_eq!(tx.survey_funnel("s1", d.id).await.unwrap().invited, 2);
    drop(tx);

    // A transaction dropped without commit leaves its queued rows unwritten.
    let mut tx = store.begin().await.unwrap();
    tx.enqueue(&row(d.id, "dropped")).await.unwrap();
    drop(tx);
    assert_eq!(store.pending_count().await.unwrap(), 13);

    // More rows than are ever queued at once, with other writes and reads between them
    // (which neither see them nor could make them fail): all written, in order, once.
    let mut tx = store.begin().await.unwrap();
    let bodies: Vec<String> = (0..150).map(|i| format!("r{i}")).collect();
    for (i, body) in bodies.iter().enumerate() {
        tx.enqueue(&NewOutbox { platform: Platform::Discord, dest: OutboxDest::Moderators, ..row(d.id, body) })
            .await
            .unwrap();
        if i % 7 == 0 {
            tx.participant(&key(&format!("p{i}")), 1).await.unwrap();
        }
    }
    tx.commit().await.unwrap();
    let due = store.due(Platform::Discord, 200, 1000).await.unwrap();
    assert_eq!(due.iter().map(|r| r.body.clone()).collect::<Vec<_>>(), bodies);
}

async fn moderation_records(store: Store) {
    use parley::store::{AuditEntry, Sanctions};
    let mut tx = store.begin().await.unwrap();
    let d = tx.insert_discussion("gp-access", "GP", "How?", 1).await.unwrap().unwrap();
    let (a, b, c) = (key("a"), key("b"), key("c"));
    tx.claim_pseudonym(d.id, "Amber Otter", &a, 1).await.unwrap();
    let n = tx.next_post_number(d.id).await.unwrap();
    let post = tx
        .insert_post(&NewPost {
            discussion: d.id,
            number: n,
            participant: &a,
            pseudonym: "Amber Otter",
            parent: None,
            body: "text",
            status: PostStatus::Held,
            created_at: 1,
            themes: "",
            sentiment: 0,
            platform: Platform::Matrix,
            reasons: Some("held by the filters"),
        })
        .await
        .unwrap();
    assert_eq!(tx.add_report(post, &b, "rude", true, 2).await.unwrap(), (true, 1));
    assert_eq!(tx.add_report(post, &b, "again", true, 3).await.unwrap(), (false, 1));
    assert_eq!(tx.add_report(post, &c, "rude", true, 4).await.unwrap(), (true, 2));
    // A report that does not count is kept, and counted nowhere.
    assert_eq!(tx.add_report(post, &a, "mine", false, 5).await.unwrap(), (true, 2));
    assert_eq!(tx.add_report(post, &a, "mine again", true, 6).await.unwrap(), (false, 2));
    let queue = tx.review_queue().await.unwrap();
    assert_eq!(queue.len(), 1);
    assert_eq!(
        (queue[0].slug.as_str(), queue[0].reports, queue[0].reasons.as_str()),
        ("gp-access", 3, "held by the filters")
    );
    tx.set_post_status(post, PostStatus::Published).await.unwrap();
    assert!(tx.review_queue().await.unwrap().is_empty());
    assert_eq!(tx.posts_numbered(n).await.unwrap().len(), 1);

    assert_eq!(tx.sanctions(&a).await.unwrap(), Sanctions::default());
    tx.set_sanctions(&a, Sanctions { muted_until: 99, banned: true }, "Amber Otter@gp-access", 5).await.unwrap();
    assert_eq!(tx.sanctions(&a).await.unwrap(), Sanctions { muted_until: 99, banned: true });
    assert_eq!(tx.sanctioned_as("amber otter@gp-access").await.unwrap(), Some(a.clone()));
    assert_eq!(tx.pseudonym_owner(d.id, "AMBER OTTER").await.unwrap(), Some(a.clone()));
    tx.forget(&a).await.unwrap();
    assert!(tx.sanctions(&a).await.unwrap().banned, "forgetting does not lift a ban");

    assert!(!tx.premoderated(d.id).await.unwrap());
    tx.set_premoderated("gp-access", true).await.unwrap();
    assert!(tx.premoderated(d.id).await.unwrap());

    for (i, action) in ["approve", "remove", "ban"].iter().enumerate() {
        tx.audit(&AuditEntry {
            at: i as i64,
            actor: "moderator abc123".into(),
            action: action.to_string(),
            target: "gp-access#1".into(),
            reason: String::new(),
        })
        .await
        .unwrap();
    }
    let log = tx.audit_log(2).await.unwrap();
    assert_eq!(
        log.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        vec!["remove", "ban"],
        "latest, oldest first"
    );
    tx.commit().await.unwrap();
}

async fn surveys_pushes_and_org_messages(store: Store) {
    use parley::store::{OrgMessage, PushKind};
    let mut tx = store.begin().await.unwrap();
    let d = tx.insert_discussion("gp-access", "GP", "How?", 1).await.unwrap().unwrap();
    let (a, b, c) = (key("a"), key("b"), key("c"));
    for k in [&a, &b, &c] {
        tx.participant(k, 1).await.unwrap();
        let n = tx.next_post_number(d.id).await.unwrap();
        tx.insert_post(&NewPost {
            discussion: d.id,
            number: n,
            participant: k,
            pseudonym: &format!("Name {}", n.0),
            parent: None,
            body: "text",
            status: PostStatus::Published,
            created_at: 2,
            themes: "",
            sentiment: 0,
            platform: Platform::Matrix,
            reasons: None,
        })
        .await
        .unwrap();
    }
    assert_eq!(tx.count_posts_in(d.id, &a).await.unwrap(), 1);

    // Opt-outs.
    assert!(!tx.opted_out(&a).await.unwrap());
    tx.set_opted_out(&a, true).await.unwrap();
    assert!(tx.opted_out(&a).await.unwrap());
    tx.set_opted_out(&a, false).await.unwrap();
    assert!(!tx.opted_out(&a).await.unwrap());
    assert!(!tx.opted_out(&key("unknown")).await.unwrap());

    // Invitations: once per survey and participant.
    assert!(tx.invite("s1", &a, d.id, "post", 3).await.unwrap());
    assert!(!tx.invite("s1", &a, d.id, "push", 4).await.unwrap());
    assert!(tx.invite("s2", &a, d.id, "join", 5).await.unwrap());
    let inv = tx.invitations(&a).await.unwrap();
    assert_eq!(inv.iter().map(|i| i.survey_id.as_str()).collect::<Vec<_>>(), vec!["s1", "s2"]);
    assert!(!inv[0].started && inv[0].next_question == 0);
    tx.start_survey("s1", &a, 6).await.unwrap();
    tx.answer("s1", &a, 0, Some(("2", "", false)), 1, false, 7).await.unwrap();
    tx.answer("s1", &a, 1, None, 2, false, 8).await.unwrap();
    tx.stop_survey("s1", &a, 9).await.unwrap();
    let inv = tx.invitations(&a).await.unwrap();
    assert!(inv[0].started && inv[0].stopped && !inv[0].completed && inv[0].next_question == 2);
    tx.start_survey("s1", &a, 10).await.unwrap();
    tx.answer("s1", &a, 2, Some(("more evening slots", "access", true)), 3, true, 11).await.unwrap();
    let inv = tx.invitations(&a).await.unwrap();
    assert!(inv[0].started && !inv[0].stopped && inv[0].completed);
    let answers = tx.survey_answers("s1", d.id).await.unwrap();
    assert_eq!(answers.len(), 2, "a skip stores no answer");
    assert_eq!((answers[1].question, answers[1].answer.as_str(), answers[1].quotable), (2, "more evening slots", true));
    tx.invite("s1", &b, d.id, "push", 12).await.unwrap();
    let funnel = tx.survey_funnel("s1", d.id).await.unwrap();
    assert_eq!((funnel.invited, funnel.started, funnel.completed), (2, 1, 1));
    assert_eq!(tx.count_answers_by(&a).await.unwrap(), 2);
    tx.forget(&a).await.unwrap();
    assert_eq!(tx.count_answers_by(&a).await.unwrap(), 0);
    assert!(tx.invitations(&a).await.unwrap().is_empty());

    // Push jobs walk the participants in key order, resumably.
    let id = tx.create_push(&PushKind::Survey("s1".into()), d.id, 20).await.unwrap();
    let job = tx.next_push().await.unwrap().unwrap();
    assert_eq!((job.id, job.kind.clone(), job.cursor.as_str(), job.sent), (id, PushKind::Survey("s1".into()), "", 0));
    let first = tx.participants_after(d.id, "", 2).await.unwrap();
    assert_eq!(first, vec![b.clone(), c.clone()], "a forgot, so only b and c are linked");
    tx.advance_push(id, &first[1].0, 25, 2, None).await.unwrap();
    let job = tx.next_push().await.unwrap().unwrap();
    assert_eq!((job.cursor.as_str(), job.next_slot, job.sent), (c.0.as_str(), 25, 2));
    assert!(tx.participants_after(d.id, &job.cursor, 2).await.unwrap().is_empty());
    tx.advance_push(id, &job.cursor, 25, 2, Some(30)).await.unwrap();
    assert!(tx.next_push().await.unwrap().is_none());
    tx.create_push(&PushKind::Update("we did".into()), d.id, 31).await.unwrap();
    assert_eq!(tx.next_push().await.unwrap().unwrap().kind, PushKind::Update("we did".into()));

    // The organisation's messages.
    let m = OrgMessage {
        kind: "respond".into(),
        post_number: Some(2),
        body: "thanks".into(),
        themes: "access".into(),
        created_at: 40,
    };
    tx.insert_org_message(d.id, &m).await.unwrap();
    assert_eq!(tx.org_messages(d.id).await.unwrap(), vec![m]);
    tx.commit().await.unwrap();
}

/// Summaries and participation read a SQLite file directly (outside sqlx) inside a read
/// transaction: they give exactly what the SQL queries give, on the writer and on a read
/// transaction alike.
async fn scans_agree_with_the_queries(store: Store) {
    let mut tx = store.begin().await.unwrap();
    let d = tx.insert_discussion("scan", "Scan", "?", 1).await.unwrap().unwrap();
    let other = tx.insert_discussion("other", "Other", "?", 1).await.unwrap().unwrap();
    // Summaries tell people apart by the key's first 16 hex digits.
    let k = |s: &str| ParticipantKey(format!("{s:0<64}"));
    let (a, b, c) = (k("a1"), k("b2"), k("c3"));
    const DAY: i64 = 86_400_000;
    const HOUR: i64 = 3_600_000;
    let posts = [
        // (author, name, status, day, hour, themes, sentiment, platform)
        (&a, "Amber Otter", PostStatus::Published, 0, 9, "access,waiting", 40, Platform::Matrix),
        (&b, "Brave Heron", PostStatus::Published, 0, 23, "waiting", -60, Platform::Discord),
        (&a, "Amber Otter", PostStatus::Hidden, 1, 0, "staff_attitude", -90, Platform::Matrix),
        (&c, "Calm Finch", PostStatus::Held, 8, 12, "", 0, Platform::Console),
        (&c, "Calm Finch", PostStatus::Published, 8, 13, "", 10, Platform::Discord),
        (&b, "Brave Heron", PostStatus::Published, 9, 9, "access", -20, Platform::Discord),
    ];
    for (n, (who, name, status, day, hour, themes, sentiment, platform)) in posts.iter().enumerate() {
        let n = n as i64 + 1;
        tx.insert_post(&NewPost {
            discussion: d.id,
            number: PostNumber(n),
            participant: who,
            pseudonym: name,
            parent: None,
            body: &format!("post {n}"),
            status: *status,
            created_at: 1_795_996_800_000 + day * DAY + hour * HOUR,
            themes,
            sentiment: *sentiment,
            platform: *platform,
            reasons: None,
        })
        .await
        .unwrap();
    }
    let noise = NewPost {
        discussion: other.id,
        number: PostNumber(1),
        participant: &a,
        pseudonym: "Amber Otter",
        parent: None,
        body: "elsewhere",
        status: PostStatus::Published,
        created_at: 5,
        themes: "access",
        sentiment: 0,
        platform: Platform::Matrix,
        reasons: None,
    };
    tx.insert_post(&noise).await.unwrap();
    // Brave Heron asks to be forgotten: their posts stay, unlinkable, under their name.
    tx.forget(&b).await.unwrap();
    tx.commit().await.unwrap();

    async fn read(
        tx: &mut parley::store::Tx,
        d: parley::ids::DiscussionId,
    ) -> (Vec<String>, parley::store::Participation) {
        let mut seen = Vec::new();
        let n = tx
            .for_each_published(d, 2, |p| {
                seen.push(format!("{:x}|{}|{}|{}|{}", p.participant, p.week, p.body, p.themes, p.sentiment))
            })
            .await
            .unwrap();
        assert_eq!(n as usize, seen.len());
        (seen, tx.participation(d).await.unwrap())
    }
    let mut write = store.begin().await.unwrap();
    let by_sql = read(&mut write, d.id).await;
    drop(write);
    // On a SQLite file the writer's queries run on its own connection (rusqlite) and the
    // read transactions' queries through sqlx: the same SQL, the same answers.
    let mut queries = store.begin_read_queries().await.unwrap();
    let by_queries = read(&mut queries, d.id).await;
    drop(queries);
    assert_eq!(by_queries, by_sql);
    let mut scan = store.begin_read().await.unwrap();
    let by_scan = read(&mut scan, d.id).await;
    assert_eq!(by_scan, by_sql);

    let (published, p) = by_scan;
    assert_eq!(published.len(), 4, "published posts only: {published:?}");
    assert!(published[0].starts_with("a100000000000000|"), "{published:?}");
    assert!(published[0].contains("||access,waiting|40"), "outside the quote window, no body: {published:?}");
    assert!(published[2].contains("|post 5||10"), "{published:?}");
    assert!(published[3].contains("|post 6|access|-20"), "{published:?}");
    assert!(published[1].starts_with("8"), "a forgotten author counts by post: {published:?}");
    assert_eq!((p.posts, p.participants), (6, 3));
    assert_eq!(
        p.by_platform,
        vec![("console".into(), 1, 1), ("discord".into(), 2, 3), ("matrix".into(), 1, 2)],
        "{p:?}"
    );
    let day0 = 1_795_996_800_000 / DAY;
    assert_eq!(p.by_day, vec![(day0, 2), (day0 + 1, 1), (day0 + 8, 2), (day0 + 9, 1)]);
    let mut hours = [0u64; 24];
    for h in [9, 23, 0, 12, 13, 9] {
        hours[h] += 1;
    }
    assert_eq!(p.by_hour, hours);
}

async fn deliveries_are_marked_many_at_once(store: Store) {
    let mut tx = store.begin().await.unwrap();
    let d = tx.insert_discussion("gp-access", "GP", "How?", 1).await.unwrap().unwrap();
    let a = key("a");
    let mut posts = Vec::new();
    for body in ["one", "two", "three"] {
        posts.push(tx.insert_next_post(&plain_post(d.id, &a, body, 1, Platform::Matrix)).await.unwrap().0);
    }
    let row = |dest, action, body, post| NewOutbox {
        platform: Platform::Matrix,
        dest,
        action,
        body,
        post,
        reply_to: None,
        choices: None,
        now: 100,
    };
    tx.enqueue(&row(OutboxDest::Thread(d.id), OutboxAction::OpenThread, "root", None)).await.unwrap();
    for (post, body) in posts.iter().zip(["#1", "#2", "#3"]) {
        tx.enqueue(&row(OutboxDest::Thread(d.id), OutboxAction::Send, body, Some(*post))).await.unwrap();
    }
    tx.enqueue(&row(OutboxDest::Direct { sealed_address: "sealed" }, OutboxAction::Send, "dm", None)).await.unwrap();
    tx.commit().await.unwrap();
    let root = store.due(Platform::Matrix, 100, 10).await.unwrap();
    assert_eq!(root.iter().map(|r| r.body.as_str()).collect::<Vec<_>>(), ["root", "dm"]);
    store.mark_delivered_many(&[(root[0].id, Some("$root".into())), (root[1].id, None)], 101).await.unwrap();
    let due = store.due(Platform::Matrix, 200, 10).await.unwrap();
    assert_eq!(due.iter().map(|r| r.body.as_str()).collect::<Vec<_>>(), ["#1", "#2", "#3"], "the root is the mirror");
    assert!(due.iter().all(|r| r.root.as_deref() == Some("$root")));
    // A row given twice keeps its first message id; a row delivered already is left as it was.
    store
        .mark_delivered_many(
            &[
                (due[0].id, Some("$p1".into())),
                (due[0].id, Some("$again".into())),
                (due[1].id, Some("$p2".into())),
                (root[0].id, Some("$late".into())),
            ],
            201,
        )
        .await
        .unwrap();
    assert_eq!(store.pending_count().await.unwrap(), 1, "#3 is still to deliver");
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.post_messages(posts[0]).await.unwrap(), vec![(Platform::Matrix, "$p1".to_string())]);
    assert_eq!(tx.post_messages(posts[1]).await.unwrap(), vec![(Platform::Matrix, "$p2".to_string())]);
    assert!(tx.post_messages(posts[2]).await.unwrap().is_empty());
    // More rows than one statement marks: all of them, once.
    let bodies: Vec<String> = (0..450).map(|i| format!("m{i}")).collect();
    for body in &bodies {
        tx.enqueue(&row(OutboxDest::Moderators, OutboxAction::Send, body, None)).await.unwrap();
    }
    tx.commit().await.unwrap();
    // Past #3's lease.
    let due = store.due(Platform::Matrix, 10_000_000, 1000).await.unwrap();
    assert_eq!(due.len(), 451);
    assert_eq!(due[0].body, "#3");
    let marks: Vec<(i64, Option<String>)> = due.iter().map(|r| (r.id, Some(format!("$m{}", r.id)))).collect();
    store.mark_delivered_many(&marks, 10_000_001).await.unwrap();
    assert_eq!(store.pending_count().await.unwrap(), 0);
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.post_messages(posts[2]).await.unwrap(), vec![(Platform::Matrix, format!("$m{}", due[0].id))]);
}

macro_rules! conformance {
    ($backend:ident: $($test:ident),* $(,)?) => {
        mod $backend {
            $(
                #[tokio::test]
                async fn $test() {
                    let (store, _guard) = super::$backend().await;
                    super::$test(store).await;
                }
            )*
        }
    };
}

async fn stored_posts_fall_in_monday_weeks(store: Store) {
    let mut tx = store.begin().await.unwrap();
    let d = tx.insert_discussion("weeks", "Weeks", "?", 1).await.unwrap().unwrap();
    let key = ParticipantKey("0123456789abcdef0123".into());
    // Sunday 2026-11-29 23:30 UTC and Monday 2026-11-30 00:30 UTC.
    for (n, at) in [(1, 1_795_995_000_000_i64), (2, 1_795_998_600_000)] {
        tx.insert_post(&NewPost {
            discussion: d.id,
            number: PostNumber(n),
            participant: &key,
            pseudonym: "Amber Otter",
            parent: None,
            body: "text",
            status: PostStatus::Published,
            created_at: at,
            themes: "",
            sentiment: 0,
            platform: Platform::Matrix,
            reasons: None,
        })
        .await
        .unwrap();
    }
    let mut weeks = Vec::new();
    tx.for_each_published(d.id, 10, |p| weeks.push(p.week)).await.unwrap();
    let day = |ms: i64| ms.div_euclid(86_400_000);
    assert_eq!(weeks, vec![themes::monday_week(day(1_795_995_000_000)), themes::monday_week(day(1_795_998_600_000))]);
    assert_eq!(weeks[1], weeks[0] + 1, "Sunday night and Monday morning are in different weeks");
}

/// Rows a transaction reads once and gives again (a new participant's row stored and read
/// in one statement on PostgreSQL, a pseudonym read or claimed in one, discussions kept
/// across messages) are never staler than what the transaction itself wrote.
async fn rows_given_again_are_never_stale(store: Store) {
    let mut tx = store.begin().await.unwrap();
    let d = tx.insert_discussion("gp-access", "GP", "How?", 1).await.unwrap().unwrap();
    let (a, b) = (key("a"), key("b"));

    // A ban outlives `!forget`: a returning participant's first read carries it.
    tx.participant(&a, 1).await.unwrap();
    let banned = parley::store::Sanctions { muted_until: 0, banned: true };
    tx.set_sanctions(&a, banned, "Amber Otter@gp-access", 1).await.unwrap();
    tx.forget(&a).await.unwrap();
    let (p, address) = tx.participant_on(&a, Platform::Matrix, 2).await.unwrap();
    assert!(p.current_discussion.is_none() && !p.seen_notice && address.is_none());
    assert!(tx.sanctions(&a).await.unwrap().banned, "a new participant row still reads the ban");
    let (_, again) = tx.participant_on(&a, Platform::Matrix, 3).await.unwrap();
    assert!(again.is_none(), "the second read finds the row the first stored");

    // A pseudonym: claimed once, given again, a taken name refused, a forgotten one kept.
    let mut asked = 0;
    let got = tx
        .pseudonym_or_claim(
            d.id,
            &b,
            || {
                asked += 1;
                "Brave Heron".into()
            },
            4,
        )
        .await
        .unwrap();
    assert_eq!(got.as_deref(), Some("Brave Heron"));
    let got = tx.pseudonym_or_claim(d.id, &b, || "Calm Wren".into(), 5).await.unwrap();
    assert_eq!(got.as_deref(), Some("Brave Heron"), "an assigned name is kept");
    assert_eq!(asked, 1);
    assert!(tx.pseudonym_or_claim(d.id, &a, || "Brave Heron".into(), 6).await.unwrap().is_none(), "taken");
    assert_eq!(
        tx.pseudonym_or_claim(d.id, &a, || "Amber Otter".into(), 7).await.unwrap().as_deref(),
        Some("Amber Otter")
    );
    tx.forget(&a).await.unwrap();
    assert!(
        tx.pseudonym_or_claim(d.id, &a, || "Amber Otter".into(), 8).await.unwrap().is_none(),
        "reserved after !forget"
    );

    // A first contact stores the address with the participant (in one statement on
    // PostgreSQL); `!join` names and joins at once, or does neither.
    let e = key("e");
    let (p, stored, saved) = tx.participant_sealed(&e, Platform::Matrix, 9, Some("sealed-e")).await.unwrap();
    assert!(p.current_discussion.is_none() && stored.is_none());
    if !saved {
        tx.save_contact(&e, Platform::Matrix, "sealed-e", 9).await.unwrap();
    }
    assert_eq!(tx.contact(&e, Platform::Matrix).await.unwrap().as_deref(), Some("sealed-e"));
    let (_, stored, saved) = tx.participant_sealed(&e, Platform::Matrix, 10, Some("sealed-e2")).await.unwrap();
    assert_eq!((stored.as_deref(), saved), (Some("sealed-e"), false), "only a new row stores it");
    assert_eq!(tx.join_named(&e, d.id, || "Brave Heron".into(), 11).await.unwrap(), None, "b's name");
    assert!(tx.participant(&e, 12).await.unwrap().current_discussion.is_none(), "not joined without a name");
    assert_eq!(tx.join_named(&e, d.id, || "Deft Robin".into(), 13).await.unwrap().as_deref(), Some("Deft Robin"));
    let p = tx.participant(&e, 14).await.unwrap();
    assert_eq!((p.current_discussion, p.seen_notice), (Some(d.id), true));
    assert_eq!(tx.join_named(&e, d.id, || "Eager Lark".into(), 15).await.unwrap().as_deref(), Some("Deft Robin"));
    assert_eq!(tx.pseudonym(d.id, &e).await.unwrap().as_deref(), Some("Deft Robin"));

    // Discussions: what the transaction changes is read back changed.
    assert!(tx.discussion_by_slug("gp-access").await.unwrap().unwrap().is_open());
    tx.set_discussion_status(d.id, DiscussionStatus::Closed).await.unwrap();
    assert!(!tx.discussion_by_slug("gp-access").await.unwrap().unwrap().is_open());
    assert!(!tx.discussion(d.id).await.unwrap().unwrap().is_open());
    tx.set_discussion_text(d.id, "GP access", "Why?").await.unwrap();
    assert_eq!(tx.discussion_by_slug("gp-access").await.unwrap().unwrap().title, "GP access");
    tx.set_premoderated("gp-access", true).await.unwrap();
    assert!(tx.discussion(d.id).await.unwrap().unwrap().premoderated);
    // A change rolled back to its savepoint is not given again.
    tx.savepoint().await.unwrap();
    tx.set_discussion_status(d.id, DiscussionStatus::Open).await.unwrap();
    assert!(tx.discussion_by_slug("gp-access").await.unwrap().unwrap().is_open());
    tx.rollback_to_savepoint().await.unwrap();
    assert!(!tx.discussion_by_slug("gp-access").await.unwrap().unwrap().is_open());
    assert!(!tx.discussion(d.id).await.unwrap().unwrap().is_open());
    tx.commit().await.unwrap();

    // Whether a message's post is its author's first in the discussion (known from the
    // participant read on PostgreSQL), in a group whose posts are held for one write.
    let c = key("c");
    let mut tx = store.begin().await.unwrap();
    tx.participant(&c, 10).await.unwrap();
    tx.join(&c, d.id).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.hold_post_numbers();
    for (at, first) in [(11, true), (12, false), (13, false)] {
        tx.next_message();
        assert_eq!(tx.participant(&c, at).await.unwrap().current_discussion, Some(d.id));
        tx.insert_next_post(&plain_post(d.id, &c, "a post", at, Platform::Matrix)).await.unwrap();
        assert_eq!(tx.first_post_in(d.id, &c).await.unwrap(), first, "the post at {at}");
    }
    tx.commit().await.unwrap();
    // Read again after its post, within the message: still its first.
    let f = key("f");
    let mut tx = store.begin().await.unwrap();
    tx.participant(&f, 20).await.unwrap();
    tx.join(&f, d.id).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.hold_post_numbers();
    tx.participant(&f, 21).await.unwrap();
    tx.insert_next_post(&plain_post(d.id, &f, "f's post", 21, Platform::Matrix)).await.unwrap();
    tx.participant(&f, 21).await.unwrap();
    assert!(tx.first_post_in(d.id, &f).await.unwrap());
    tx.commit().await.unwrap();
}

/// A group's posts held for one write (PostgreSQL queues them while their numbers are
/// held): each read in the group sees them, and what refers to them (an outbox row, a
/// report) is stored after them, with every column as given.
async fn held_posts_are_seen_and_stored_before_what_refers_to_them(store: Store) {
    let mut tx = store.begin().await.unwrap();
    let d = tx.insert_discussion("gp-access", "GP", "How?", 1).await.unwrap().unwrap();
    let (a, b) = (key("a"), key("b"));
    let (before, _) = tx.insert_next_post(&plain_post(d.id, &b, "b before", 1, Platform::Matrix)).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    tx.hold_post_numbers();
    let body = "one \"quoted\" \\ é 😀\nline";
    let held = NewPost {
        status: PostStatus::Held,
        reasons: Some("held by the filters"),
        themes: "waiting,access",
        sentiment: -35,
        ..plain_post(d.id, &a, body, 5, Platform::Discord)
    };
    let (id1, n1) = tx.insert_next_post(&held).await.unwrap();
    assert_eq!(n1, PostNumber(2));
    tx.enqueue(&NewOutbox {
        post: Some(id1),
        ..NewOutbox::message(Platform::Matrix, OutboxDest::Thread(d.id), "#2", 5)
    })
    .await
    .unwrap();
    // Another participant's read, and an older post's, are as they were.
    assert_eq!(tx.recent_bodies(&b, 5).await.unwrap(), vec!["b before"]);
    assert_eq!(tx.post_by_number(d.id, PostNumber(1)).await.unwrap().unwrap().id, before);
    // The author's reads see the held post.
    assert_eq!(tx.recent_bodies(&a, 5).await.unwrap(), vec![body]);
    let (id2, n2) = tx
        .insert_next_post(&NewPost { parent: Some(n1), ..plain_post(d.id, &a, "two", 6, Platform::Matrix) })
        .await
        .unwrap();
    assert_eq!(n2, PostNumber(3));
    assert!(id2.0 > id1.0 && id1.0 > before.0, "ids grow in the order posts are stored");
    assert_eq!(tx.count_posts_in(d.id, &a).await.unwrap(), 2);
    tx.enqueue(&NewOutbox {
        post: Some(id2),
        reply_to: Some(id1),
        ..NewOutbox::message(Platform::Matrix, OutboxDest::Thread(d.id), "#3", 6)
    })
    .await
    .unwrap();
    let found = tx.post_by_number(d.id, n2).await.unwrap().unwrap();
    assert_eq!((found.id, found.parent), (id2, Some(n1)));
    assert!(tx.add_report(found.id, &b, "spam", true, 7).await.unwrap().0);
    let (id3, n3) = tx.insert_next_post(&plain_post(d.id, &b, "b after", 8, Platform::Matrix)).await.unwrap();
    assert_eq!(n3, PostNumber(4));
    // A post stored with its own number meanwhile takes the next id too; holding again
    // changes nothing.
    tx.hold_post_numbers();
    let direct = tx
        .insert_post(&NewPost { number: PostNumber(99), ..plain_post(d.id, &b, "numbered", 8, Platform::Matrix) })
        .await
        .unwrap();
    assert_eq!(direct.0, id3.0 + 1);
    assert_eq!(tx.post_by_number(d.id, PostNumber(99)).await.unwrap().unwrap().id, direct);
    // Written at the commit, the post before the row that refers to it.
    tx.enqueue(&NewOutbox {
        post: Some(id3),
        ..NewOutbox::message(Platform::Matrix, OutboxDest::Thread(d.id), "#4", 8)
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    let posts = tx.posts(d.id).await.unwrap();
    let ids: Vec<_> = posts.iter().map(|p| (p.id, p.number)).collect();
    assert_eq!(ids, vec![(before, PostNumber(1)), (id1, n1), (id2, n2), (id3, n3), (direct, PostNumber(99))]);
    assert_eq!((posts[1].body.as_str(), posts[1].status), (body, PostStatus::Held));
    let queue = tx.review_queue().await.unwrap();
    assert_eq!(queue.len(), 1);
    assert_eq!((queue[0].post.id, queue[0].reasons.as_str()), (id1, "held by the filters"));
    assert_eq!(tx.recent_bodies(&a, 5).await.unwrap(), vec![body, "two"]);
    assert_eq!(tx.next_post_number(d.id).await.unwrap(), PostNumber(5));
    // Each post's publication was stored, referring to it.
    assert_eq!(tx.cancel_pending_sends(id1, 9).await.unwrap(), 1);
    assert_eq!(tx.cancel_pending_sends(id2, 9).await.unwrap(), 1);
    assert_eq!(tx.cancel_pending_sends(id3, 9).await.unwrap(), 1);
    // The sequence of ids goes on after the held posts' last.
    let (id4, n4) = tx.insert_next_post(&plain_post(d.id, &b, "b later", 10, Platform::Matrix)).await.unwrap();
    assert_eq!((id4.0, n4), (direct.0 + 1, PostNumber(6)));
}

conformance!(sqlite:
    inbound_events_are_deduplicated,
    the_participant_read_gives_latest_posts_and_invitations,
    a_group_reads_its_senders_at_once,
    inbound_events_of_a_group_are_deduplicated_at_once,
    posts_take_the_next_number,
    queued_outbox_rows,
    discussions_open_close_and_list,
    participants_pseudonyms_and_posts,
    outbox_delivers_in_order_with_leases_and_backoff,
    deliveries_are_marked_many_at_once,
    numbering_is_per_discussion,
    moderation_records,
    surveys_pushes_and_org_messages,
    stored_posts_fall_in_monday_weeks,
    scans_agree_with_the_queries,
    rows_given_again_are_never_stale,
    held_posts_are_seen_and_stored_before_what_refers_to_them,
);

conformance!(postgres:
    inbound_events_are_deduplicated,
    the_participant_read_gives_latest_posts_and_invitations,
    a_group_reads_its_senders_at_once,
    inbound_events_of_a_group_are_deduplicated_at_once,
    posts_take_the_next_number,
    queued_outbox_rows,
    discussions_open_close_and_list,
    participants_pseudonyms_and_posts,
    outbox_delivers_in_order_with_leases_and_backoff,
    deliveries_are_marked_many_at_once,
    numbering_is_per_discussion,
    moderation_records,
    surveys_pushes_and_org_messages,
    stored_posts_fall_in_monday_weeks,
    scans_agree_with_the_queries,
    rows_given_again_are_never_stale,
    held_posts_are_seen_and_stored_before_what_refers_to_them,
);

/// The engine end to end on PostgreSQL too: a post and a reply, and a restart.
#[tokio::test]
async fn engine_runs_on_postgres() {
    let db = common::fresh_postgres().await;
    let dir = tempfile::tempdir().unwrap();
    let config = parley::config::Config::load(None).unwrap();
    let bot = common::TestBot::on(config, vec![Platform::Console], dir, db.url.clone()).await;
    bot.drain().await;
    bot.say("alice", "!join gp-access").await;
    let out = bot.say("alice", "Posted on PostgreSQL").await;
    assert_eq!(common::lines_for(&out, "thread gp-access").len(), 1);
    let bot = bot.restart().await;
    assert!(bot.drain().await.is_empty(), "no thread root is queued twice");
    let out = bot.say("alice", "!reply #1 and replied").await;
    assert!(common::lines_for(&out, "thread gp-access")[0].starts_with("#2 "));
}

/// The limiter rows held by a group commit (`read_limits_of`) give the same outcomes, and
/// leave the same rows, as the statements, over a long random sequence of checks (the clock
/// now and then going back), refusals counted and cleared.
#[tokio::test]
async fn held_limiter_rows_agree_with_the_statements_on_postgres() {
    let db = common::fresh_postgres().await;
    let store = Store::connect(&db).await.unwrap();
    let (held, plain) = (key("held"), key("plain"));
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move |n: u64| {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (seed >> 33) % n
    };
    let mut now = 1_000_000i64;
    for round in 0..40 {
        let mut tx = store.begin().await.unwrap();
        tx.read_limits_of(&[&held]).await.unwrap();
        for step in 0..25 {
            now += next(4000) as i64 - 500;
            let op = next(6);
            let (a, b) = match op {
                0..=2 => {
                    let name = ["post", "reply", "slow:1"][next(3) as usize];
                    let every = [1000, 3000, 60_000][next(3) as usize];
                    let tolerance = every * next(4) as i64;
                    (
                        tx.take_limit(&held, name, now, every, tolerance).await.unwrap(),
                        tx.take_limit(&plain, name, now, every, tolerance).await.unwrap(),
                    )
                }
                3 | 4 => {
                    let window = [2000, 10_000][next(2) as usize];
                    (
                        Some(tx.count_refusal(&held, now, window).await.unwrap()),
                        Some(tx.count_refusal(&plain, now, window).await.unwrap()),
                    )
                }
                _ => {
                    tx.clear_refusals(&held).await.unwrap();
                    tx.clear_refusals(&plain).await.unwrap();
                    (None, None)
                }
            };
            assert_eq!(a, b, "round {round} step {step} op {op} at {now}");
        }
        tx.commit().await.unwrap();
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&db.url).await.unwrap();
        let rows = |k: &ParticipantKey| {
            format!("SELECT name, tat, refusals FROM limiter_state WHERE participant_key = '{}' ORDER BY name", k.0)
        };
        let a: Vec<(String, i64, i64)> =
            sqlx::query_as(sqlx::AssertSqlSafe(rows(&held))).fetch_all(&mut conn).await.unwrap();
        let b: Vec<(String, i64, i64)> =
            sqlx::query_as(sqlx::AssertSqlSafe(rows(&plain))).fetch_all(&mut conn).await.unwrap();
        assert_eq!(a, b, "rows after round {round}");
    }
}

/// A young table that changed by more rows than it has gets fresh planner statistics from
/// parley (PostgreSQL), once; SQLite has nothing to gather.
#[tokio::test]
async fn young_tables_get_fresh_statistics() {
    let (store, _guard) = sqlite().await;
    assert!(store.analyze_changed().await.unwrap().is_empty());

    use sqlx::Connection;
    let db = common::fresh_postgres().await;
    let store = Store::connect(&db.url).await.unwrap();
    store.analyze_changed().await.unwrap();
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    sqlx::query("INSERT INTO inbound_events (platform, event_id, received_at) SELECT 'console', g::text, 1 FROM generate_series(1, 2000) g")
        .execute(&mut conn)
        .await
        .unwrap();
    // The counts reach the statistics views when the session reports them.
    sqlx::query("SELECT pg_stat_force_next_flush()").execute(&mut conn).await.unwrap();
    sqlx::query("SELECT 1").execute(&mut conn).await.unwrap();
    let mut analysed = Vec::new();
    for _ in 0..100 {
        analysed = store.analyze_changed().await.unwrap();
        if !analysed.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(analysed, vec!["inbound_events".to_string()]);
    let last: Option<i64> = sqlx::query_scalar(
        "SELECT CAST(EXTRACT(EPOCH FROM last_analyze) AS BIGINT) FROM pg_stat_user_tables WHERE relname = 'inbound_events'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert!(last.is_some(), "ANALYZE ran");
    assert!(store.analyze_changed().await.unwrap().is_empty(), "not again until it changes as much again");
    store.close().await;
}

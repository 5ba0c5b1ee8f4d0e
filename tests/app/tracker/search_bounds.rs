//! Searches have a bounded cost and still find everything: counting stops after 10,000 hits
//! whatever their status (each count then "at least"); paging reaches every hit once, however
//! many of an issue's comments match; one person has at most two searches running (a third is
//! refused 429, another person's goes ahead); all searches together hold at most half the
//! pool's connections (one more waits a second, then 503 busy); and the database itself stops a
//! search at its time limit. Runs on SQLite and (scripts/test) PostgreSQL.

use std::time::{Duration, Instant};

use issues_app::model::{BoardFilter, count_text};
use issues_app::server::storage::issues::{Issues, ListError};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::harness::{CLIENT_ID, EMILY, JOHN, TestApp};

use super::{board, signed_in, titles};

/// Issues written behind the app's back, all with the word "widget": past the cap.
const MANY: i64 = 10_050;

/// `Capped widget 1` … `Capped widget N` for N in `first..=last`, in that order, in one statement
/// on either backend.
const BULK: &str = "WITH RECURSIVE n(i) AS (SELECT CAST($1 AS BIGINT) UNION ALL SELECT i + 1 FROM n WHERE i < $2) \
                    INSERT INTO issues (title, description, author_sub, author_name, created_at, updated_at) \
                    SELECT 'Capped widget ' || i, '', 'bulk', 'Bulk', i, i FROM n";

async fn insert_many(app: &TestApp) {
    // A thousand at a time: PostgreSQL's trigger keeps the counts in one row, and a row updated
    // n times in one transaction costs about n² to find again.
    for first in (1..=MANY).step_by(1000) {
        let last = (first + 999).min(MANY);
        issues_app::on_db!(&app.state.db, |pool| sqlx::query(BULK)
            .bind(first)
            .bind(last)
            .execute(pool)
            .await
            .map(|_| ()))
        .unwrap();
    }
}

/// An issue titled `title` written behind the app's back: its id.
async fn insert_issue(app: &TestApp, title: &str) -> i64 {
    issues_app::on_db!(&app.state.db, |pool| sqlx::query_scalar::<_, i64>(
        "INSERT INTO issues (title, description, author_sub, author_name, created_at, updated_at) \
         VALUES ($1, '', 'bulk', 'Bulk', 1, 1) RETURNING id"
    )
    .bind(title)
    .fetch_one(pool)
    .await)
    .unwrap()
}

/// `count` comments on issue `issue`, `<text> 1` … `<text> <count>`, in one statement.
async fn insert_comments(app: &TestApp, issue: i64, text: &str, count: i64) {
    issues_app::on_db!(&app.state.db, |pool| sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT CAST(1 AS BIGINT) UNION ALL SELECT i + 1 FROM n WHERE i < $3) \
         INSERT INTO comments (issue_id, body, author_sub, author_name, created_at) \
         SELECT $1, $2 || ' ' || i, 'bulk', 'Bulk', i FROM n"
    )
    .bind(issue)
    .bind(text)
    .bind(count)
    .execute(pool)
    .await
    .map(|_| ()))
    .unwrap();
}

/// `GET /api/v1/issues?q=…` as a program with `token`.
async fn search(app: &TestApp, token: &str, q: &str) -> (StatusCode, HeaderMap, Value) {
    let response = reqwest::Client::new()
        .get(app.url("/api/v1/issues"))
        .query(&[("q", q)])
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    (status, headers, response.json().await.unwrap_or(Value::Null))
}

/// Takes every connection of the app's pool, and keeps them until the answer is sent (or
/// dropped). A search then waits for a connection holding its places, as a costly one would
/// hold them reading, without a test hook.
async fn hold_the_pool(app: &TestApp) -> oneshot::Sender<()> {
    let (release, released) = oneshot::channel::<()>();
    let (taken, all_taken) = oneshot::channel::<()>();
    issues_app::on_db!(&app.state.db, |pool| {
        let pool = pool.clone();
        tokio::spawn(async move {
            let mut held = Vec::new();
            for _ in 0..pool.options().get_max_connections() {
                held.push(pool.acquire().await.unwrap());
            }
            let _ = taken.send(());
            let _ = released.await;
            drop(held);
        });
    });
    all_taken.await.unwrap();
    release
}

/// Waits until the app has `count` searches running (holding their places), for at most five
/// seconds: what a search does next is then certain, with no sleep guessing it.
async fn searches_reach(app: &TestApp, count: usize) {
    let waited = Instant::now();
    while app.state.issues.searches_running() != count {
        assert!(
            waited.elapsed() < Duration::from_secs(5),
            "{} searches running, not {count}",
            app.state.issues.searches_running()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The app with a pool of `connections` database connections: searches may hold half of them.
async fn app_with_connections(connections: u32) -> TestApp {
    TestApp::spawn_configured(Default::default(), |config| {
        config["Server"]["DatabaseMaxConnections"] = json!(connections);
    })
    .await
}

/// John's and Emily's tokens, each verified (and remembered) by a search while the database is
/// free.
async fn verified_tokens(app: &TestApp) -> (String, String) {
    let john = app.password_token(CLIENT_ID, JOHN).await;
    let emily = app.password_token(CLIENT_ID, EMILY).await;
    for token in [&john, &emily] {
        assert_eq!(search(app, token, "printer").await.0, StatusCode::OK);
    }
    (john, emily)
}

/// A page's counts when they stopped at the cap: both marked "at least", adding up to the cap.
fn capped_counts(page: &Value) -> (i64, i64) {
    let counts = &page["counts"];
    assert_eq!(
        (&counts["open_capped"], &counts["closed_capped"]),
        (&json!(true), &json!(true)),
        "{counts}"
    );
    let (open, closed) = (counts["open"].as_i64().unwrap(), counts["closed"].as_i64().unwrap());
    assert_eq!(open + closed, 10_000, "{counts}");
    (open, closed)
}

#[tokio::test]
async fn a_search_counts_to_ten_thousand_and_says_there_are_more() {
    // Ten thousand rows take memory the memory-measuring tests would count as theirs.
    let _heavy = crate::harness::MEMORY_HEAVY.lock().await;
    let app = TestApp::spawn().await;
    let john = signed_in(&app, JOHN).await;
    insert_many(&app).await;
    // Five of them closed: counting reads the hits as they come, whatever their status, so it
    // may stop before it has seen them all.
    issues_app::on_db!(&app.state.db, |pool| sqlx::query(
        "UPDATE issues SET status = 'closed', closed_at = 1 WHERE author_sub = 'bulk' AND created_at <= 5"
    )
    .execute(pool)
    .await
    .map(|_| ()))
    .unwrap();

    let page = board(&app, &john, &[("q", "widget"), ("status", "all")]).await;
    let (_, closed) = capped_counts(&page);
    assert!(closed <= 5, "{}", page["counts"]);
    let shown = titles(&page);
    assert_eq!(shown.len(), 20);
    assert_eq!(
        (shown[0].as_str(), shown[19].as_str()),
        ("Capped widget 10050", "Capped widget 10031")
    );
    // The next page goes on from there, newest first.
    let next = page["next_before"].to_string();
    let older = board(&app, &john, &[("q", "widget"), ("status", "all"), ("before", &next)]).await;
    assert_eq!(titles(&older)[0], "Capped widget 10030");
    capped_counts(&older);
    // A status the hits seldom have is found among them all the same.
    let closed = board(&app, &john, &[("q", "widget"), ("status", "closed")]).await;
    assert_eq!(
        titles(&closed),
        [
            "Capped widget 5",
            "Capped widget 4",
            "Capped widget 3",
            "Capped widget 2",
            "Capped widget 1"
        ]
    );
    // Under the cap, a count is exact and says nothing more.
    let one = board(&app, &john, &[("q", "widget 77"), ("status", "all")]).await;
    assert_eq!(titles(&one), ["Capped widget 77"]);
    assert_eq!(one["counts"], json!({"open": 1, "closed": 0}));

    // The REST API says the same; its document describes the flags.
    let token = app.password_token(CLIENT_ID, JOHN).await;
    let (status, _, body) = search(&app, &token, "widget").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    capped_counts(&body);
    let doc = app.openapi().await;
    let counts = &doc["components"]["schemas"]["StatusCounts"]["properties"];
    assert_eq!(counts["open_capped"]["type"], "boolean", "{counts}");
    assert_eq!(counts["closed_capped"]["type"], "boolean", "{counts}");
    let answers = &doc["paths"]["/api/v1/issues"]["get"]["responses"];
    assert!(answers["429"].is_object() && answers["503"].is_object(), "{answers}");

    // The board shows both as "at least".
    let html = app.page_text(&john, "/issues?q=widget&status=all").await;
    let (open, closed) = capped_counts(&board(&app, &john, &[("q", "widget"), ("status", "all")]).await);
    let (open, closed) = (
        format!("Open ({})", count_text(open, true)),
        format!("Closed ({})", count_text(closed, true)),
    );
    assert!(
        html.contains(&open) && html.contains(&closed),
        "{open}, {closed}: {html}"
    );
}

#[tokio::test]
async fn paging_reaches_every_hit_once_however_many_comments_of_an_issue_match() {
    let app = TestApp::spawn().await;
    let john = signed_in(&app, JOHN).await;
    // Oldest first: five title hits, an issue found by one comment, five more, an issue found
    // by 25 comments (more than a page's 21 places), then twenty more. The second page's
    // commented hits are those two: the busy one's comments must not crowd the quiet one out.
    let mut hits = Vec::new();
    for n in 1..=5 {
        hits.push(insert_issue(&app, &format!("Gadget {n}")).await);
    }
    let quiet = insert_issue(&app, "Quiet corner").await;
    insert_comments(&app, quiet, "Saw the gadget", 1).await;
    for n in 6..=10 {
        hits.push(insert_issue(&app, &format!("Gadget {n}")).await);
    }
    let busy = insert_issue(&app, "Busy corner").await;
    insert_comments(&app, busy, "The gadget again", 25).await;
    for n in 11..=30 {
        hits.push(insert_issue(&app, &format!("Gadget {n}")).await);
    }
    hits.extend([quiet, busy]);

    let mut reached = Vec::new();
    let mut before: Option<String> = None;
    for _ in 0..5 {
        let mut filters = vec![("q", "gadget"), ("status", "all")];
        if let Some(before) = &before {
            filters.push(("before", before.as_str()));
        }
        let page = board(&app, &john, &filters).await;
        reached.extend(
            page["issues"]
                .as_array()
                .unwrap()
                .iter()
                .map(|issue| issue["id"].as_i64().unwrap()),
        );
        match page["next_before"].as_i64() {
            Some(next) => before = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(reached.len(), hits.len(), "each hit once: {reached:?}");
    reached.sort_unstable();
    hits.sort_unstable();
    assert_eq!(reached, hits, "every hit reached");
}

#[tokio::test]
async fn a_third_search_at_once_is_refused_429_while_another_persons_goes_ahead() {
    // Three searches at once in all: John's two and Emily's one.
    let app = app_with_connections(6).await;
    let (john, emily) = verified_tokens(&app).await;

    let release = hold_the_pool(&app).await;
    let (first, second, (third, refused_in, emilys)) =
        tokio::join!(search(&app, &john, "printer"), search(&app, &john, "printer"), async {
            // John's two searches wait for a connection, each counted.
            searches_reach(&app, 2).await;
            let asked = Instant::now();
            let third = search(&app, &john, "printer").await;
            let refused_in = asked.elapsed();
            let (emilys, ()) = tokio::join!(search(&app, &emily, "printer"), async {
                searches_reach(&app, 3).await;
                let _ = release.send(());
            });
            (third, refused_in, emilys)
        });
    let (status, headers, body) = third;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(body["error"], "too_many_searches", "{body}");
    assert!(body["error_description"].is_string(), "{body}");
    assert!(
        refused_in < Duration::from_secs(1),
        "refused at once, not after waiting: {refused_in:?}"
    );
    for (status, _, body) in [first, second] {
        assert_eq!(status, StatusCode::OK, "John's first two went ahead: {body}");
    }
    assert_eq!(
        emilys.0,
        StatusCode::OK,
        "another person's search is not refused: {}",
        emilys.2
    );
    // Ended searches free their places.
    searches_reach(&app, 0).await;
    assert_eq!(search(&app, &john, "printer").await.0, StatusCode::OK);
}

#[tokio::test]
async fn searches_past_half_the_pool_wait_a_moment_then_answer_503_busy() {
    // Two searches at once in all.
    let app = app_with_connections(4).await;
    let (john, emily) = verified_tokens(&app).await;

    let release = hold_the_pool(&app).await;
    let (first, second, (third, answered_in)) =
        tokio::join!(search(&app, &john, "printer"), search(&app, &john, "printer"), async {
            searches_reach(&app, 2).await;
            let asked = Instant::now();
            let third = search(&app, &emily, "printer").await;
            let answered_in = asked.elapsed();
            let _ = release.send(());
            (third, answered_in)
        });
    let (status, headers, body) = third;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(body["error"], "searches_busy", "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("busy with other searches"),
        "{body}"
    );
    assert!(
        answered_in >= Duration::from_millis(900) && answered_in < Duration::from_secs(3),
        "after waiting a moment for a place: {answered_in:?}"
    );
    for (status, _, body) in [first, second] {
        assert_eq!(status, StatusCode::OK, "the two running went on: {body}");
    }
    searches_reach(&app, 0).await;
    assert_eq!(search(&app, &emily, "printer").await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_search_with_no_connection_in_its_time_is_the_database_unavailable_not_too_slow() {
    let app = app_with_connections(2).await;
    let john = app.password_token(CLIENT_ID, JOHN).await;
    assert_eq!(search(&app, &john, "printer").await.0, StatusCode::OK);

    let release = hold_the_pool(&app).await;
    let asked = Instant::now();
    let (status, _, body) = search(&app, &john, "printer").await;
    let answered_in = asked.elapsed();
    let _ = release.send(());
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");
    assert!(
        answered_in < Duration::from_secs(4),
        "within the search's time: {answered_in:?}"
    );
    let (status, _, body) = search(&app, &john, "printer").await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// The database stops a search at its time (PostgreSQL's `statement_timeout`, SQLite's
/// interrupt), and that, not the clock, makes it "too slow". The store is the app's over the
/// same pool, with no time for its statements at all (`with_search_time`): any statement of
/// real work is stopped, where with the app's two seconds it would take a million issues.
#[tokio::test]
async fn the_database_stops_a_search_at_its_time_and_the_pool_is_fine_after() {
    // Fifty thousand comments take memory the memory-measuring tests would count as theirs.
    let _heavy = crate::harness::MEMORY_HEAVY.lock().await;
    // Two connections: the app's searches below soon meet those the stopped ones used.
    let app = app_with_connections(2).await;
    let chatty = insert_issue(&app, "Chatty corner").await;
    // The page reads every matching comment (their issues are grouped before the page's
    // limit), far more than SQLite's ten thousand steps between two looks at the clock and
    // PostgreSQL's shortest timeout of a millisecond.
    insert_comments(&app, chatty, "Idle chatter", 50_000).await;
    for n in 1..=25 {
        insert_issue(&app, &format!("Gadget {n}")).await;
    }
    let hurried = Issues::new(app.state.db.clone()).with_search_time(Duration::ZERO);
    let filter = |status: &str, q: &str| BoardFilter::parse(Some(status), None, None, Some(q), None, "john").unwrap();

    match hurried.list("john", &filter("all", "chatter"), None, 20).await {
        Err(ListError::TooSlow) => {}
        Err(other) => panic!("stopped by the database, so too slow: {other:?}"),
        Ok(page) => panic!("not stopped: {:?}", page.page),
    }
    assert_eq!(hurried.searches_running(), 0, "a stopped search gives its place back");

    // A page read in a few steps is answered even when counting has no time left: the counts
    // are then the page's own, each "at least". (SQLite looks at the clock after ten thousand
    // steps of a statement, counted over its runs: hence a filter no search here has used, a
    // statement new to the connection. PostgreSQL may stop the page itself: planning it can
    // take its millisecond.)
    match hurried.list("john", &filter("open", "gadget"), None, 20).await {
        Ok(page) => {
            assert_eq!(page.page.issues.len(), 20);
            let counts = page.page.counts;
            assert_eq!(
                (counts.open, counts.closed, counts.open_capped, counts.closed_capped),
                (21, 0, true, true),
                "{counts:?}"
            );
        }
        Err(ListError::TooSlow) => assert_eq!(app.state.db.backend(), "postgres"),
        Err(other) => panic!("{other:?}"),
    }

    // The app's own searches, with their time, go on over the same connections: nothing is
    // left interrupting them.
    let john = app.password_token(CLIENT_ID, JOHN).await;
    for _ in 0..4 {
        let (status, _, body) = search(&app, &john, "chatter").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["issues"][0]["id"], chatty, "{body}");
    }
}

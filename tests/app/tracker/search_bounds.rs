//! Searches have a bounded cost: counts stop at 10,000 ("10,000+"), one person has at most four
//! searches running (a fifth is refused 429, another person's goes ahead), and a search that
//! cannot finish in its time answers 503 with words to act on. Runs on SQLite and (scripts/test)
//! PostgreSQL.

use std::time::{Duration, Instant};

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
/// dropped). A search then waits for a connection inside its time, holding its place among its
/// person's searches: a search that cannot go on, as a costly one would, without a test hook.
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

#[tokio::test]
async fn a_search_counts_to_ten_thousand_and_says_there_are_more() {
    // Ten thousand rows take memory the memory-measuring tests would count as theirs.
    let _heavy = crate::harness::MEMORY_HEAVY.lock().await;
    let app = TestApp::spawn().await;
    let john = signed_in(&app, JOHN).await;
    insert_many(&app).await;
    // Five of them closed: counted exactly, under the cap.
    issues_app::on_db!(&app.state.db, |pool| sqlx::query(
        "UPDATE issues SET status = 'closed', closed_at = 1 WHERE author_sub = 'bulk' AND created_at <= 5"
    )
    .execute(pool)
    .await
    .map(|_| ()))
    .unwrap();

    let capped = json!({"open": 10_000, "closed": 5, "open_capped": true});
    let page = board(&app, &john, &[("q", "widget"), ("status", "all")]).await;
    assert_eq!(page["counts"], capped);
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
    assert_eq!(older["counts"], capped);
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
    assert_eq!(body["counts"], capped);
    let doc: Value = reqwest::get(app.url("/api/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let counts = &doc["components"]["schemas"]["StatusCounts"]["properties"];
    assert_eq!(counts["open_capped"]["type"], "boolean", "{counts}");
    assert_eq!(counts["closed_capped"]["type"], "boolean", "{counts}");
    let answers = &doc["paths"]["/api/v1/issues"]["get"]["responses"];
    assert!(answers["429"].is_object() && answers["503"].is_object(), "{answers}");

    // The board shows it.
    let html = john
        .get(app.url("/issues?q=widget&status=all"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Open (10,000+)") && html.contains("Closed (5)"), "{html}");
}

#[tokio::test]
async fn a_fifth_search_at_once_is_refused_429_while_another_persons_goes_ahead() {
    let app = TestApp::spawn_configured(Default::default(), |config| {
        config["Server"]["DatabaseMaxConnections"] = json!(4);
    })
    .await;
    let john = app.password_token(CLIENT_ID, JOHN).await;
    let emily = app.password_token(CLIENT_ID, EMILY).await;
    // The tokens verified (and remembered) while the database is free.
    for token in [&john, &emily] {
        assert_eq!(search(&app, token, "printer").await.0, StatusCode::OK);
    }

    let release = hold_the_pool(&app).await;
    let (first, second, third, fourth, (fifth, refused_in, emilys)) = tokio::join!(
        search(&app, &john, "printer"),
        search(&app, &john, "printer"),
        search(&app, &john, "printer"),
        search(&app, &john, "printer"),
        async {
            // John's four searches are waiting for the database by now, each counted.
            tokio::time::sleep(Duration::from_millis(300)).await;
            let asked = Instant::now();
            let fifth = search(&app, &john, "printer").await;
            let refused_in = asked.elapsed();
            let (emilys, ()) = tokio::join!(search(&app, &emily, "printer"), async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                let _ = release.send(());
            });
            (fifth, refused_in, emilys)
        }
    );
    let (status, headers, body) = fifth;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(body["error"], "too_many_searches", "{body}");
    assert!(body["error_description"].is_string(), "{body}");
    assert!(
        refused_in < Duration::from_secs(1),
        "refused at once, not after waiting: {refused_in:?}"
    );
    for (status, _, body) in [first, second, third, fourth] {
        assert_eq!(status, StatusCode::OK, "John's first four went ahead: {body}");
    }
    assert_eq!(
        emilys.0,
        StatusCode::OK,
        "another person's search is not refused: {}",
        emilys.2
    );
    // Ended searches free their places.
    assert_eq!(search(&app, &john, "printer").await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_search_that_cannot_finish_in_time_answers_503_saying_what_to_do() {
    let app = TestApp::spawn_configured(Default::default(), |config| {
        config["Server"]["DatabaseMaxConnections"] = json!(2);
    })
    .await;
    let john = app.password_token(CLIENT_ID, JOHN).await;
    assert_eq!(search(&app, &john, "printer").await.0, StatusCode::OK);

    let release = hold_the_pool(&app).await;
    let asked = Instant::now();
    let (status, _, body) = search(&app, &john, "printer").await;
    let answered_in = asked.elapsed();
    let _ = release.send(());
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"], "search_too_slow", "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("more specific words"),
        "{body}"
    );
    assert!(
        answered_in < Duration::from_secs(4),
        "within the search's time: {answered_in:?}"
    );
    // Once the database is free, searching works again (nothing left interrupting it).
    let (status, _, body) = search(&app, &john, "printer").await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

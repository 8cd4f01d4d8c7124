//! Private messages, the unread badge and the notifications endpoint.

use phial::axum::http::StatusCode;
use serde_json::Value;

use crate::{Site, csrf_token, follow_flash};

#[tokio::test]
async fn a_message_reaches_the_recipient_with_badge_and_notification() {
    let site = Site::new().await;
    site.register("john").await;
    site.register("susan").await;
    let john = &site.client;
    site.login(john, "john").await;
    assert!(john.get("/user/susan").send().await.html().contains(r#"href="/send_message/susan""#));
    let page = john.get("/send_message/susan").send().await;
    assert!(page.html().contains("<h1>Send Message to susan</h1>") && page.html().contains(r#"name="message""#));
    let token = csrf_token(john, "/send_message/susan").await;
    let response =
        john.post("/send_message/susan").form(&[("csrf_token", token.as_str()), ("message", "")]).send().await;
    response.assert_status(StatusCode::OK);
    assert!(response.html().contains("This field is required."));
    let response = john
        .post("/send_message/susan")
        .form(&[("csrf_token", token.as_str()), ("message", "hi <susan>")])
        .send()
        .await;
    assert_eq!(response.location(), Some("/user/susan"));
    assert!(follow_flash(john, &response).await.contains("Your message has been sent."));
    john.get("/send_message/nobody").send().await.assert_status(StatusCode::NOT_FOUND);

    let susan = &john.new_session();
    site.login(susan, "susan").await;
    let index = susan.get("/index").send().await;
    assert!(index.html().contains(r#"style="visibility: visible;">1</span>"#), "{}", index.html());
    let answer = susan.get("/notifications").send().await;
    let notifications = answer.json_value();
    assert_eq!(notifications[0]["name"], "unread_message_count");
    assert_eq!(notifications[0]["data"], 1);
    // The timestamp as the server wrote it: serde_json's default float parsing may be one ulp
    // off, and `since` must be the very value (the browser's JSON.parse is exact).
    let text = answer.text();
    let start = text.find(r#""timestamp":"#).unwrap() + r#""timestamp":"#.len();
    let literal = &text[start..start + text[start..].find(['}', ',']).unwrap()];
    let since: f64 = literal.trim().parse().unwrap();
    assert!(since > 1.7e9, "seconds since the epoch: {since}");
    let later = susan.get(format!("/notifications?since={literal}")).send().await.json_value();
    assert_eq!(later, Value::Array(vec![]), "since={since}; first answer: {notifications}");

    let messages = susan.get("/messages").send().await;
    let html = messages.html();
    assert!(html.contains("hi &lt;susan&gt;") && html.contains(r#"href="/user/john""#), "{html}");
    assert!(html.contains(r#"style="visibility: hidden;">0</span>"#), "{html}");
    let after = susan.get(format!("/notifications?since={literal}")).send().await.json_value();
    assert_eq!(after[0]["data"], 0, "{after}");
    assert!(susan.get("/index").send().await.html().contains(r#"style="visibility: hidden;">0</span>"#));
}

#[tokio::test]
async fn translate_answers_that_the_service_is_not_configured() {
    let site = Site::new().await;
    site.register("susan").await;
    let client = &site.client;
    site.login(client, "susan").await;
    let body = serde_json::json!({"text": "hola", "source_language": "es", "dest_language": "en"});
    let response = client.post("/translate").json(&body).send().await;
    response.assert_status(StatusCode::OK);
    assert_eq!(response.json_value(), serde_json::json!({"text": "Error: the translation service is not configured."}));
}

//! A fuzz target for the form body readers, on stable Rust: mutates seed bodies (urlencoded,
//! JSON, multipart) at random for a bounded time and feeds them through the same path a
//! request takes, failing on the first panic. CI runs it for a few seconds; run it longer
//! by hand:
//!
//! ```sh
//! cargo run --release -p phial-forms --example fuzz_form_body -- 60     # seconds [default 10]
//! PHIAL_FUZZ_SEED=12345 cargo run -p phial-forms --example fuzz_form_body   # replay one seed
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use http::StatusCode;
use phial_core::axum::Router;
use phial_core::axum::routing::post;
use phial_core::testing::TestClient;
use phial_forms::{Form, FormData};
use serde::Deserialize;
use validator::Validate;

#[derive(Debug, Deserialize, Validate)]
#[expect(dead_code, reason = "only read through the form reader")]
struct Target {
    #[validate(length(min = 1, max = 20))]
    name: String,
    #[validate(range(min = 0, max = 150))]
    age: u8,
    score: Option<f64>,
    tags: Vec<String>,
    agree: bool,
    kind: Kind,
    #[validate(email)]
    email: Option<String>,
    #[validate(must_match(other = "name"))]
    again: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Kind {
    A,
    B,
}

const SEEDS: [(&str, &[u8]); 4] = [
    ("application/x-www-form-urlencoded", b"name=ada&age=36&score=1.5&tags=a&tags=b&agree=y&kind=a&email=a%40b.c&again=ada"),
    ("application/json", br#"{"name":"ada","age":36,"score":null,"tags":["a"],"agree":true,"kind":"b","again":"ada"}"#),
    (
        "multipart/form-data; boundary=XyZ",
        b"--XyZ\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nada\r\n--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\xff\r\n--XyZ--\r\n",
    ),
    ("application/x-www-form-urlencoded", b"%ff%zz=&&==&age=-1&kind=c&tags"),
];

/// xorshift64*: enough randomness for mutation, and replayable from a seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % (n.max(1) as u64)).unwrap_or(0)
    }
}

const INTERESTING: [&[u8]; 12] =
    [b"%", b"%f", b"=", b"&", b"\0", b"\xff", b"{", b"[", b"\"", b"--XyZ", b"\r\n", b"99999999999999999999999"];

fn mutate(rng: &mut Rng, body: &mut Vec<u8>) {
    for _ in 0..=rng.below(4) {
        match rng.below(5) {
            0 if !body.is_empty() => {
                let at = rng.below(body.len());
                body[at] = u8::try_from(rng.next() & 0xff).unwrap_or(0);
            }
            1 if !body.is_empty() => {
                let at = rng.below(body.len());
                let len = rng.below(body.len() - at + 1);
                body.drain(at..at + len);
            }
            2 => {
                let at = rng.below(body.len() + 1);
                let piece = INTERESTING[rng.below(INTERESTING.len())];
                body.splice(at..at, piece.iter().copied());
            }
            3 if !body.is_empty() => {
                let at = rng.below(body.len());
                let copy: Vec<u8> = body[at..].iter().take(rng.below(64)).copied().collect();
                body.extend(copy);
            }
            _ => body.truncate(rng.below(body.len() + 1)),
        }
    }
}

/// The seed being run, for the panic hook to report.
static CURRENT: AtomicU64 = AtomicU64::new(0);

async fn handler(form: Form<Target>) -> StatusCode {
    // Touch what a handler would.
    let _ = (form.is_valid(), form.errors().len(), form.value("name"));
    StatusCode::OK
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let seconds: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(10);
    let fixed = std::env::var("PHIAL_FUZZ_SEED").ok().and_then(|s| s.parse::<u64>().ok());
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        eprintln!("fuzz_form_body: panic with PHIAL_FUZZ_SEED={}", CURRENT.load(Ordering::SeqCst));
        default_hook(info);
        std::process::exit(1);
    }));
    let client = TestClient::new(Router::new().route("/", post(handler)));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut runs = 0_u64;
    let mut seed = fixed.unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.subsec_nanos().into())
            ^ u64::from(std::process::id())
            | 1
    });
    loop {
        CURRENT.store(seed, Ordering::SeqCst);
        let mut rng = Rng(seed);
        let (content_type, base) = SEEDS[rng.below(SEEDS.len())];
        let mut body = base.to_vec();
        mutate(&mut rng, &mut body);
        // The readers directly, then the whole extractor through a request. phial-forms reads
        // urlencoded bodies with its own decoder: it must agree with form_urlencoded's.
        let data = FormData::from_urlencoded(&body);
        let mut expected = FormData::new();
        for (name, value) in form_urlencoded::parse(&body) {
            expected.push_text(&name, &value);
        }
        if data != expected {
            eprintln!("seed {seed}: urlencoded body read differently: {:?}", String::from_utf8_lossy(&body));
            std::process::exit(1);
        }
        let _ = Form::<Target>::submit(data, None);
        if let Ok(data) = FormData::from_json(&body) {
            let _ = Form::<Target>::submit(data, None);
        }
        let status = client.post("/").header("content-type", content_type).body(body.clone()).await.status();
        if status.is_server_error() {
            eprintln!("seed {seed}: {status} for {content_type} body {:?}", String::from_utf8_lossy(&body));
            std::process::exit(1);
        }
        runs += 1;
        if fixed.is_some() || Instant::now() >= deadline {
            break;
        }
        seed = rng.next() | 1;
    }
    eprintln!("fuzz_form_body: {runs} bodies, no panic, no 5xx");
}

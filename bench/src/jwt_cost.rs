//! `phial-bench jwt-cost`: minting and verifying cost per token, phial-jwt against
//! jsonwebtoken used by hand, measured in the same process, interleaved, as medians of rounds.

use std::hint::black_box;
use std::time::Instant;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use phial_jwt::{JwtAuth, JwtConfig, MintOptions};
use serde::{Deserialize, Serialize};

const SECRET: &str = "a long random secret for the jwt bench, 32+ bytes";
const PER_ROUND: u32 = 20_000;
const ROUNDS: usize = 7;

#[derive(Serialize, Deserialize)]
struct Claims {
    sub: String,
    exp: u64,
    iat: u64,
}

fn ns_per(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1e9 / f64::from(PER_ROUND)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[expect(clippy::print_stdout, reason = "the report is the command's output")]
pub(crate) fn run() -> anyhow::Result<()> {
    let auth = JwtAuth::builder(JwtConfig::default()).secret(SECRET).build()?;
    let encoding = EncodingKey::from_secret(SECRET.as_bytes());
    let decoding = DecodingKey::from_secret(SECRET.as_bytes());
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
    let claims = Claims { sub: "alice".into(), iat: now, exp: now + 900 };
    let phial_token = auth.create_access_token("alice", MintOptions::new())?;
    let plain_token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &encoding)?;
    let (mut pm, mut jm, mut pv, mut jv) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let started = Instant::now();
        for _ in 0..PER_ROUND {
            black_box(auth.create_access_token(black_box("alice"), MintOptions::new())?);
        }
        pm.push(ns_per(started));
        let started = Instant::now();
        for _ in 0..PER_ROUND {
            black_box(jsonwebtoken::encode(&Header::new(Algorithm::HS256), black_box(&claims), &encoding)?);
        }
        jm.push(ns_per(started));
        let started = Instant::now();
        for _ in 0..PER_ROUND {
            black_box(auth.decode_token(black_box(&phial_token), false)?);
        }
        pv.push(ns_per(started));
        let started = Instant::now();
        for _ in 0..PER_ROUND {
            black_box(jsonwebtoken::decode::<Claims>(black_box(&plain_token), &decoding, &validation)?);
        }
        jv.push(ns_per(started));
    }
    let (pm, jm, pv, jv) = (median(pm), median(jm), median(pv), median(jv));
    println!("| operation | phial-jwt ns/token | jsonwebtoken by hand ns/token | phial ÷ by hand |");
    println!("|---|---:|---:|---:|");
    println!("| mint (access token) | {pm:.0} | {jm:.0} | {:.2} |", pm / jm);
    println!("| verify (decode + checks) | {pv:.0} | {jv:.0} | {:.2} |", pv / jv);
    println!();
    println!(
        "{ROUNDS} interleaved rounds of {PER_ROUND} per operation, medians. phial's token carries Flask-JWT-Extended's \
         claims (fresh, iat, jti (a UUIDv4), type, sub, nbf, csrf, exp), the hand-made one sub, iat, exp."
    );
    Ok(())
}

//! phial-mail against lettre by hand: messages per second through one pooled SMTP connection.
//!
//! Two servers: an in-process SMTP sink (answers every command at once, so the client's own
//! cost shows) and, with `--smtp-port`, the aiosmtpd test server (a real server, the usual
//! bottleneck). Per server, interleaved rounds of:
//!
//! - `phial send`: `Mail::send(Message)` in a loop, `pool_size = 1`;
//! - `phial send_many`: `Mail::send_many` of the round's messages over one session;
//! - `lettre`: lettre's pooled `AsyncSmtpTransport` (`max_size(1)`), a `lettre::Message`
//!   built and sent per iteration — the plain lettre loop;
//! - `lettre nodelay`: the same loop on one `AsyncSmtpConnection` over a `TCP_NODELAY` socket
//!   (`connect_with_transport`), lettre at its fastest by hand, without the delayed-ACK wait
//!   its transport has.
//!
//! Usage: `mail [--smtp-port PORT] [--rounds 7] [--messages 2000]`; prints a markdown report.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use phial_mail::{Mail, MailConfig, Message, TransportKind};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

const BODY: &str = "Hello,\n\nThis is a benchmark message of about one kilobyte. \
    Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt \
    ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation \
    ullamco laboris nisi ut aliquip ex ea commodo consequat. Duis aute irure dolor in \
    reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur. Excepteur \
    sint occaecat cupidatat non proident, sunt in culpa qui officia deserunt mollit anim id \
    est laborum. Sed ut perspiciatis unde omnis iste natus error sit voluptatem accusantium \
    doloremque laudantium, totam rem aperiam, eaque ipsa quae ab illo inventore veritatis et \
    quasi architecto beatae vitae dicta sunt explicabo. Nemo enim ipsam voluptatem quia \
    voluptas sit aspernatur aut odit aut fugit.\n\n-- \nThe bench\n";

/// Messages the clients sent, to check that the sink received each once.
static SENT: AtomicU64 = AtomicU64::new(0);

#[derive(Clone, Copy)]
enum Client {
    PhialSend,
    PhialSendMany,
    Lettre,
    LettreNodelay,
}

impl Client {
    const ALL: [Self; 4] = [Self::PhialSend, Self::PhialSendMany, Self::Lettre, Self::LettreNodelay];

    fn name(self) -> &'static str {
        match self {
            Self::PhialSend => "phial send",
            Self::PhialSendMany => "phial send_many",
            Self::Lettre => "lettre loop",
            Self::LettreNodelay => "lettre nodelay",
        }
    }
}

struct Clients {
    mail: Mail,
    lettre: AsyncSmtpTransport<Tokio1Executor>,
    nodelay: tokio::sync::Mutex<AsyncSmtpConnection>,
}

impl Clients {
    async fn new(port: u16) -> anyhow::Result<Self> {
        let mut config = MailConfig::default();
        config.transport = TransportKind::Smtp;
        "127.0.0.1".clone_into(&mut config.server);
        config.port = port;
        config.pool_size = 1;
        config.suppress_send = Some(false);
        config.default_sender = Some("Bench <bench@example.com>".to_owned());
        let mail = Mail::new(config)?;
        let lettre = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(port)
            .pool_config(PoolConfig::new().max_size(1))
            .build();
        let socket = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        socket.set_nodelay(true)?;
        let nodelay = AsyncSmtpConnection::connect_with_transport(Box::new(socket), &ClientId::default()).await?;
        Ok(Self { mail, lettre, nodelay: tokio::sync::Mutex::new(nodelay) })
    }

    /// Sends `count` messages with `client`; returns messages per second and the process's
    /// CPU time per message in µs (client and in-process sink together).
    async fn run(&self, client: Client, count: usize) -> anyhow::Result<(f64, f64)> {
        let started = Instant::now();
        let cpu_before = cpu_ns();
        match client {
            Client::PhialSend => {
                for n in 0..count {
                    self.mail.send(phial_message(n)).await?;
                }
            }
            Client::PhialSendMany => {
                self.mail.send_many((0..count).map(phial_message)).await?;
            }
            Client::Lettre => {
                for n in 0..lettre_count(count) {
                    self.lettre.send(lettre_message(n)?).await?;
                }
            }
            Client::LettreNodelay => {
                let mut conn = self.nodelay.lock().await;
                for n in 0..count {
                    let message = lettre_message(n)?;
                    conn.send(message.envelope(), &message.formatted()).await?;
                }
            }
        }
        let sent = if matches!(client, Client::Lettre) { lettre_count(count) } else { count };
        SENT.fetch_add(u64::try_from(sent)?, Ordering::Relaxed);
        #[expect(clippy::cast_precision_loss, reason = "counts and nanoseconds are far below 2^52")]
        Ok((sent as f64 / started.elapsed().as_secs_f64(), (cpu_ns() - cpu_before) as f64 / 1000.0 / sent as f64))
    }
}

/// lettre's loop waits ~40 ms per message for a delayed ACK (see phial-mail's `smtp` module):
/// it sends a twentieth as many (at least 50), so that a round takes seconds, not minutes.
fn lettre_count(count: usize) -> usize {
    (count / 20).max(50)
}

fn lettre_message(n: usize) -> anyhow::Result<lettre::Message> {
    Ok(lettre::Message::builder()
        .from("Bench <bench@example.com>".parse()?)
        .to(format!("rcpt{n}@example.com").parse()?)
        .subject("Bench")
        .body(BODY.to_owned())?)
}

fn phial_message(n: usize) -> Message {
    Message::new("Bench").to(format!("rcpt{n}@example.com")).body(BODY)
}

/// A minimal SMTP server that accepts everything at once and counts messages.
async fn start_sink() -> anyhow::Result<(u16, Arc<AtomicU64>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let received = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&received);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                if let Err(err) = sink_session(stream, &counter).await {
                    eprintln!("sink session: {err}");
                }
            });
        }
    });
    Ok((port, received))
}

async fn sink_session(stream: tokio::net::TcpStream, received: &AtomicU64) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink ESMTP\r\n").await?;
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-sink\r\n250-8BITMIME\r\n250 SIZE 10485760\r\n",
            "DATA" => {
                write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" {
                        break;
                    }
                }
                received.fetch_add(1, Ordering::Relaxed);
                b"250 2.0.0 queued\r\n"
            }
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => b"250 OK\r\n",
        };
        write.write_all(reply).await?;
    }
}

/// Waits while a compiler runs: it would skew the measurement.
/// CPU time of every thread of this process so far, in ns (`/proc/self/task/*/schedstat`).
fn cpu_ns() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return 0 };
    tasks
        .filter_map(Result::ok)
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|stat| stat.split_whitespace().next().and_then(|ns| ns.parse::<u64>().ok()))
        .sum()
}

/// Whether a compiler runs on the machine. `BENCH_IGNORE_COMPILERS=1` says no, for checking
/// that the bench works, not for numbers.
fn compiler_running() -> bool {
    if std::env::var_os("BENCH_IGNORE_COMPILERS").is_some() {
        return false;
    }
    ["rustc", "cargo"].iter().any(|name| {
        std::process::Command::new("pgrep").args(["-x", name]).output().is_ok_and(|out| out.status.success())
    })
}

/// Timed runs that overlapped a compiler (reported), and all timed runs.
static NOISY_RUNS: AtomicU64 = AtomicU64::new(0);
static RUNS: AtomicU64 = AtomicU64::new(0);

/// Runs one timed measurement while no compiler runs, again when one started during it. On a
/// machine that never goes quiet, it measures anyway after `BENCH_QUIET_WAIT_MAX` seconds
/// (default 120) and counts the run as noisy in the report.
async fn measure_quietly(clients: &Clients, client: Client, count: usize) -> anyhow::Result<(f64, f64)> {
    let patience = std::env::var("BENCH_QUIET_WAIT_MAX").ok().and_then(|v| v.parse().ok()).unwrap_or(120u64);
    let deadline = Instant::now() + Duration::from_secs(patience);
    loop {
        while compiler_running() && Instant::now() < deadline {
            eprintln!("waiting for rustc/cargo to finish…");
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
        let result = clients.run(client, count).await?;
        let noisy = compiler_running();
        if !noisy || Instant::now() >= deadline {
            RUNS.fetch_add(1, Ordering::Relaxed);
            if noisy {
                NOISY_RUNS.fetch_add(1, Ordering::Relaxed);
            }
            return Ok(result);
        }
        eprintln!("a compiler started during the run; measuring again");
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Runs interleaved rounds against one server; returns the report's rows.
async fn measure(server: &str, port: u16, rounds: usize, count: usize) -> anyhow::Result<Vec<String>> {
    let clients = Clients::new(port).await?;
    for client in Client::ALL {
        clients.run(client, count / 10 + 1).await.with_context(|| format!("warm-up of {}", client.name()))?;
    }
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); Client::ALL.len()];
    let mut cpu: Vec<Vec<f64>> = vec![Vec::new(); Client::ALL.len()];
    for round in 0..rounds {
        for (i, client) in Client::ALL.into_iter().enumerate() {
            let (rate, us) = measure_quietly(&clients, client, count).await?;
            eprintln!("{server} round {}: {} {rate:.0} msg/s, {us:.1} µs CPU/msg", round + 1, client.name());
            rates[i].push(rate);
            cpu[i].push(us);
        }
    }
    let ratio = |of: usize, to: usize| -> String {
        let mut r: Vec<f64> = rates[of].iter().zip(&rates[to]).map(|(p, l)| p / l).collect();
        let (min, max) = r.iter().fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
        format!("**{:.2}** ({min:.2}–{max:.2})", median(&mut r))
    };
    // CPU per message, as lettre nodelay ÷ phial: above 1 means phial spends less.
    let cpu_ratio = |of: usize| -> String {
        let mut r: Vec<f64> = cpu[3].iter().zip(&cpu[of]).map(|(l, p)| l / p).collect();
        let (min, max) = r.iter().fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
        format!("**{:.2}** ({min:.2}–{max:.2})", median(&mut r))
    };
    let lettre = median(&mut rates[2].clone());
    let nodelay = median(&mut rates[3].clone());
    let nodelay_cpu = median(&mut cpu[3].clone());
    let mut rows = Vec::new();
    for (i, client) in Client::ALL.into_iter().enumerate().take(2) {
        rows.push(format!(
            "| {server} | {} | {:.0} | {lettre:.0} | {} | {nodelay:.0} | {} | {:.1} / {nodelay_cpu:.1} | {} |",
            client.name(),
            median(&mut rates[i].clone()),
            ratio(i, 2),
            ratio(i, 3),
            median(&mut cpu[i].clone()),
            cpu_ratio(i),
        ));
    }
    clients.mail.shutdown().await;
    Ok(rows)
}

#[tokio::main]
#[expect(clippy::print_stdout, reason = "the report goes to stdout, progress to stderr")]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (mut smtp_port, mut rounds, mut count) = (None, 7, 2000);
    while let Some(arg) = args.next() {
        let value = args.next().context("every option takes a value")?;
        match arg.as_str() {
            "--smtp-port" => smtp_port = Some(value.parse()?),
            "--rounds" => rounds = value.parse()?,
            "--messages" => count = value.parse()?,
            other => anyhow::bail!("unknown option {other}"),
        }
    }
    let (sink_port, received) = start_sink().await?;
    let mut rows = measure("in-process sink", sink_port, rounds, count).await?;
    anyhow::ensure!(
        received.load(Ordering::Relaxed) == SENT.load(Ordering::Relaxed),
        "the sink got every message once"
    );
    if let Some(port) = smtp_port {
        rows.extend(measure("aiosmtpd", port, rounds, count / 4).await?);
    }
    println!(
        "| server | phial | phial msg/s | lettre loop msg/s | phial ÷ lettre loop (range) | lettre nodelay msg/s | phial ÷ lettre nodelay (range) | CPU µs/msg phial / lettre nodelay | lettre nodelay CPU ÷ phial CPU (range) |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for row in rows {
        println!("{row}");
    }
    println!();
    println!(
        "{rounds} interleaved rounds per server ({count} messages per round on the sink, {} on aiosmtpd), medians; \
         one SMTP connection each (`pool_size = 1`, lettre `PoolConfig::max_size(1)`), a 1 KiB text body; \
         the lettre loop sends a twentieth as many messages per round (at least 50). \
         CPU time is the whole process's (client and in-process sink) from `/proc/self/task/*/schedstat`.",
        count / 4
    );
    let noisy = NOISY_RUNS.load(Ordering::Relaxed);
    if noisy > 0 {
        println!();
        println!(
            "**{noisy} of {} timed runs overlapped a compiler** (the machine did not go quiet): \
             msg/s is disturbed by it, CPU time per message much less.",
            RUNS.load(Ordering::Relaxed)
        );
    }
    Ok(())
}

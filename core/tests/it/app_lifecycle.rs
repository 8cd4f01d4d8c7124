//! Extension ordering, start failure cleanup, shutdown order and timeouts, state promises,
//! config precedence.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use phial_core::prelude::*;
use serde::{Deserialize, Serialize};

use crate::builder;

type Log = Arc<Mutex<Vec<String>>>;

/// An extension that records its hooks in a shared log.
struct Probe {
    name: &'static str,
    deps: Deps,
    log: Log,
    fail_start: bool,
    slow_shutdown: Option<Duration>,
    panic_shutdown: bool,
}

impl Probe {
    fn new(name: &'static str, log: &Log) -> Self {
        Self {
            name,
            deps: Deps::none(),
            log: Arc::clone(log),
            fail_start: false,
            slow_shutdown: None,
            panic_shutdown: false,
        }
    }

    fn deps(mut self, deps: Deps) -> Self {
        self.deps = deps;
        self
    }

    fn record(&self, event: &str) {
        self.log.lock().unwrap().push(format!("{event} {}", self.name));
    }
}

impl Extension for Probe {
    const NAME: &'static str = "probe";
    type Config = ();

    fn name(&self) -> String {
        self.name.to_owned()
    }

    fn deps(&self) -> Deps {
        self.deps.clone()
    }

    fn build(&self, (): &(), _: &mut BuildCtx<'_>) -> Result<(), Error> {
        self.record("build");
        Ok(())
    }

    async fn start(&self, (): &(), _: &mut StartCtx) -> Result<(), Error> {
        self.record("start");
        if self.fail_start { Err(Error::msg("database unreachable")) } else { Ok(()) }
    }

    async fn shutdown(&self, _: &AppState) {
        if let Some(delay) = self.slow_shutdown {
            tokio::time::sleep(delay).await;
        }
        assert!(!self.panic_shutdown, "shutdown hook exploded");
        self.record("shutdown");
    }
}

fn log() -> Log {
    Arc::new(Mutex::new(Vec::new()))
}

fn events(log: &Log) -> Vec<String> {
    log.lock().unwrap().clone()
}

#[tokio::test]
async fn hooks_run_in_dependency_order_and_shutdown_in_reverse() {
    let log = log();
    let app = builder()
        .extension(Probe::new("login", &log).deps(Deps::none().requires("sql")))
        .extension(Probe::new("cache", &log))
        .extension(Probe::new("sql", &log))
        .build()
        .unwrap();
    assert_eq!(app.extension_order(), ["cache", "sql", "login"]);
    let running = app.start().await.unwrap();
    running.shutdown().await;
    assert_eq!(
        events(&log),
        [
            "build cache",
            "build sql",
            "build login",
            "start cache",
            "start sql",
            "start login",
            "shutdown login",
            "shutdown sql",
            "shutdown cache",
        ]
    );
}

#[tokio::test]
async fn missing_required_extension_fails_the_build() {
    let log = log();
    let err = builder().extension(Probe::new("login", &log).deps(Deps::none().requires("sql"))).build().err().unwrap();
    assert!(
        matches!(&err, Error::MissingDependency { extension, requires } if extension == "login" && requires == "sql")
    );
    assert!(events(&log).is_empty(), "no hook runs when the build is invalid");
}

#[tokio::test]
async fn cycle_fails_the_build_naming_the_cycle() {
    let log = log();
    let err = builder()
        .extension(Probe::new("a", &log).deps(Deps::none().after("b")))
        .extension(Probe::new("b", &log).deps(Deps::none().requires("a")))
        .build()
        .err()
        .unwrap();
    let text = err.to_string();
    assert!(text.contains("cycle") && text.contains("a -> b -> a") || text.contains("b -> a -> b"), "{text}");
}

#[tokio::test]
async fn duplicate_extension_fails_the_build() {
    let log = log();
    let err = builder().extension(Probe::new("sql", &log)).extension(Probe::new("sql", &log)).build().err().unwrap();
    assert!(matches!(err, Error::Duplicate(name) if name == "sql"));
}

#[tokio::test]
async fn before_constraint_moves_an_extension_forward() {
    let log = log();
    let app = builder()
        .extension(Probe::new("cache", &log))
        .extension(Probe::new("redis", &log).deps(Deps::none().before("cache")))
        .build()
        .unwrap();
    assert_eq!(app.extension_order(), ["redis", "cache"]);
}

#[tokio::test]
async fn failed_start_shuts_down_the_started_extensions_in_reverse() {
    let log = log();
    let mut failing = Probe::new("c", &log);
    failing.fail_start = true;
    let err = builder()
        .extension(Probe::new("a", &log))
        .extension(Probe::new("b", &log))
        .extension(failing)
        .extension(Probe::new("d", &log))
        .build()
        .unwrap()
        .start()
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("`c`") && err.to_string().contains("database unreachable"), "{err}");
    let events = events(&log);
    assert_eq!(&events[4..], ["start a", "start b", "start c", "shutdown b", "shutdown a"]);
}

#[tokio::test(start_paused = true)]
async fn shutdown_hooks_are_bounded_and_all_run() {
    let log = log();
    let mut slow = Probe::new("slow", &log);
    slow.slow_shutdown = Some(Duration::from_hours(1));
    let mut panicking = Probe::new("panicking", &log);
    panicking.panic_shutdown = true;
    let running = builder()
        .set("app.shutdown_timeout", 2.0)
        .extension(Probe::new("first", &log))
        .extension(slow)
        .extension(panicking)
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    running.shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(10), "the slow hook was cut off at its timeout");
    let events = events(&log);
    assert!(events.contains(&"shutdown first".to_owned()), "{events:?}");
    assert!(!events.contains(&"shutdown slow".to_owned()));
}

#[derive(Debug)]
struct Pool;

struct Promiser {
    provide: bool,
}

impl Extension for Promiser {
    const NAME: &'static str = "promiser";
    type Config = ();

    fn build(&self, (): &(), ctx: &mut BuildCtx<'_>) -> Result<(), Error> {
        ctx.promise::<Pool>();
        Ok(())
    }

    async fn start(&self, (): &(), ctx: &mut StartCtx) -> Result<(), Error> {
        if self.provide {
            ctx.provide(Pool);
        }
        Ok(())
    }
}

#[tokio::test]
async fn promised_state_that_is_not_provided_fails_startup() {
    let err = builder().extension(Promiser { provide: false }).build().unwrap().start().await.err().unwrap();
    assert!(matches!(&err, Error::MissingState { extension, .. } if extension == "promiser"), "{err}");
    assert!(err.to_string().contains("Pool"));
    let running = builder().extension(Promiser { provide: true }).build().unwrap().start().await.unwrap();
    assert!(running.state().get::<Pool>().is_some());
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
struct GreeterConfig {
    greeting: String,
    secret: Secret,
}

struct Greeter;

impl Extension for Greeter {
    const NAME: &'static str = "greeter";
    const ENV_ALIASES: &'static [(&'static str, &'static str)] = &[("GREETER_GREETING", "greeting")];
    type Config = GreeterConfig;

    fn build(&self, config: &GreeterConfig, ctx: &mut BuildCtx<'_>) -> Result<(), Error> {
        ctx.state(config.clone());
        Ok(())
    }
}

#[test]
fn extension_config_layers_and_env_override() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("phial.toml"), "[greeter]\ngreeting = \"from file\"\n").unwrap();
    std::fs::write(dir.path().join("phial.development.toml"), "[greeter]\ngreeting = \"from profile file\"\n").unwrap();
    let app = App::builder()
        .config_dir(dir.path())
        .env([("PHIAL_PROFILE", "development")])
        .extension(Greeter)
        .build()
        .unwrap();
    assert!(app.config_listing()["greeter"]["greeting"] == "from profile file");

    let app = App::builder()
        .config_dir(dir.path())
        .env([("PHIAL_GREETER__GREETING", "from env")])
        .extension(Greeter)
        .build()
        .unwrap();
    assert!(app.config_listing()["greeter"]["greeting"] == "from env");
}

#[test]
fn flask_variables_of_an_extension_sit_above_files_and_below_phial_variables() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("phial.toml"), "[greeter]\ngreeting = \"from file\"\n").unwrap();
    let build = |vars: &[(&str, &str)]| {
        App::builder().config_dir(dir.path()).env(vars.to_vec()).extension(Greeter).build().unwrap()
    };
    let app = build(&[("GREETER_GREETING", "from the Flask variable")]);
    assert_eq!(app.config_listing()["greeter"]["greeting"], "from the Flask variable");
    let app = build(&[("GREETER_GREETING", "from the Flask variable"), ("PHIAL_GREETER__GREETING", "from PHIAL_")]);
    assert_eq!(app.config_listing()["greeter"]["greeting"], "from PHIAL_");
    let app = build(&[("OTHER_GREETING", "ignored")]);
    assert_eq!(app.config_listing()["greeter"]["greeting"], "from file");
}

#[test]
fn unknown_extension_key_is_a_build_error() {
    let err = builder().set("greeter.greting", "typo").extension(Greeter).build().err().unwrap().to_string();
    assert!(err.contains("greeter.greting") && err.contains("unknown key"), "{err}");
}

#[test]
fn development_secret_in_production_is_a_build_error() {
    let err = App::builder()
        .profile(Profile::Production)
        .env([("SECRET_KEY", "a-real-secret")])
        .config_toml("[greeter]\nsecret = \"insecure-dev-greeter\"\n")
        .extension(Greeter)
        .build()
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("greeter.secret"), "{err}");
    let err = App::builder().profile(Profile::Production).env(Vec::<(String, String)>::new()).build().err().unwrap();
    assert!(err.to_string().contains("app.secret_key"), "{err}");
}

#[test]
fn config_listing_masks_secrets() {
    let app = builder().set("greeter.secret", "hunter2").extension(Greeter).build().unwrap();
    let listing = app.config_listing().to_string();
    assert!(!listing.contains("hunter2") && !listing.contains("test-secret-key"), "{listing}");
    assert!(listing.contains("********"));
}

#[tokio::test]
async fn app_config_section_is_registered_as_state() {
    #[derive(Debug, Clone, Default, Serialize, Deserialize)]
    #[serde(default)]
    struct Blog {
        posts_per_page: u32,
    }
    let running = builder()
        .config_section::<Blog>("blog")
        .env([("PHIAL_BLOG__POSTS_PER_PAGE", "25")])
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    assert_eq!(running.state().get::<Blog>().unwrap().posts_per_page, 25);
}

#[tokio::test]
async fn extension_group_adds_in_order() {
    struct Pair(Log);
    impl ExtensionGroup for Pair {
        fn add_to(self, app: AppBuilder) -> AppBuilder {
            app.extension(Probe::new("one", &self.0)).extension(Probe::new("two", &self.0))
        }
    }
    let log = log();
    let app = builder().extensions(Pair(Arc::clone(&log))).build().unwrap();
    assert_eq!(app.extension_order(), ["one", "two"]);
}

#[tokio::test]
async fn background_tasks_stop_before_the_shutdown_hooks() {
    let log = log();
    let task_log = Arc::clone(&log);
    let ticker = FnExtension::new("ticker", |_| Ok(())).on_start(move |ctx| {
        let task_log = Arc::clone(&task_log);
        Box::pin(async move {
            ctx.spawn("ticker", move |mut stop| async move {
                stop.stopped().await;
                task_log.lock().unwrap().push("task stopped".to_owned());
            });
            Ok(())
        })
    });
    let running =
        builder().extension(Probe::new("probe", &log)).extension(ticker).build().unwrap().start().await.unwrap();
    running.shutdown().await;
    let events = events(&log);
    assert_eq!(&events[2..], ["task stopped", "shutdown probe"]);
}

//! Layered configuration: defaults, `phial.toml`, `phial.<profile>.toml`, environment.
//!
//! Sources, lowest to highest:
//!
//! 1. each section's `Config::default()` (the core's `[app]`, every extension's `[NAME]`, and
//!    the app's own sections from [`AppBuilder::config_section`](crate::AppBuilder::config_section));
//! 2. the app's own defaults ([`AppBuilder::config_toml`](crate::AppBuilder::config_toml));
//! 3. `phial.toml` in the config directory (the working directory unless
//!    [`AppBuilder::config_dir`](crate::AppBuilder::config_dir) says otherwise);
//! 4. `phial.<profile>.toml`;
//! 5. the conventional Flask variables `SECRET_KEY` (→ `app.secret_key`), `DATABASE_URL`
//!    (→ `sql.url`, when an extension owns section `sql`) and `REDIS_URL` (→ `redis.url`, when
//!    an extension owns section `redis`), and each extension's Flask variables
//!    ([`Extension::ENV_ALIASES`](crate::Extension::ENV_ALIASES), e.g. `MAIL_SERVER`);
//! 6. `PHIAL_<SECTION>__<FIELD>` environment variables, nested with `__`
//!    (`PHIAL_APP__SESSION__COOKIE_NAME`);
//! 7. values [set](crate::AppBuilder::set) on the builder (mainly for tests).
//!
//! The profile is `development` unless `PHIAL_PROFILE` or
//! [`AppBuilder::profile`](crate::AppBuilder::profile) says otherwise. Unknown sections and
//! unknown keys are errors that name the key and the file or variable it came from. In
//! `production`, any secret still at a development default (see [`Secret`]) is
//! an error.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use figment::providers::Format;
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Provider};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::secret::{DEV_SECRET_PREFIX, Secret};
use crate::session::SessionConfig;

/// Which set of defaults and checks applies: Flask's `development` / `production` / `testing`.
///
/// # Examples
///
/// ```
/// use phial_core::Profile;
///
/// assert_eq!("production".parse::<Profile>().unwrap(), Profile::Production);
/// assert_eq!(Profile::default(), Profile::Development);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Profile {
    /// Local development: development secrets allowed, templates reload.
    #[default]
    Development,
    /// Deployed: development secrets refused, cookies `Secure`.
    Production,
    /// Tests: like development, and no files or environment are read unless asked for.
    Testing,
}

impl Profile {
    /// The profile's name as used in file names and `PHIAL_PROFILE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Development => "development",
            Self::Production => "production",
            Self::Testing => "testing",
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Profile {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s.to_ascii_lowercase().as_str() {
            "development" | "dev" => Ok(Self::Development),
            "production" | "prod" => Ok(Self::Production),
            "testing" | "test" => Ok(Self::Testing),
            other => Err(Error::config(
                "PHIAL_PROFILE",
                format!("unknown profile `{other}`; use development, production or testing"),
            )),
        }
    }
}

/// The core's own settings, section `[app]`.
///
/// # Examples
///
/// ```toml
/// # phial.toml
/// [app]
/// secret_key = "a long random string"   # Flask: SECRET_KEY (also read from env SECRET_KEY)
/// bind = "0.0.0.0:8000"
/// body_limit = 16777216                 # Flask: MAX_CONTENT_LENGTH
///
/// [app.session]
/// permanent = true
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct AppConfig {
    /// Signs session cookies and tokens. Flask: `SECRET_KEY`; env `SECRET_KEY` is honoured.
    /// The development default is refused in `production`.
    pub secret_key: Secret,
    /// Older keys still accepted when verifying (rotation). Flask: `SECRET_KEY_FALLBACKS`.
    pub secret_key_fallbacks: Vec<Secret>,
    /// Address `serve` listens on. Flask's development server uses `127.0.0.1:5000`.
    pub bind: String,
    /// Largest accepted request body in bytes; larger bodies get 413. Flask:
    /// `MAX_CONTENT_LENGTH`.
    pub body_limit: u64,
    /// Seconds a request may take before it is answered with 503; `0` disables.
    pub request_timeout: f64,
    /// Seconds to finish in-flight requests on shutdown, and the bound on each extension's
    /// shutdown hook.
    pub shutdown_timeout: f64,
    /// Folder for instance files (`SQLite` databases, mail in development), relative to the
    /// working directory. Flask: the instance folder.
    pub instance_path: PathBuf,
    /// Host (and port) for external URLs built outside a request. Flask: `SERVER_NAME`.
    pub server_name: Option<String>,
    /// Scheme for external URLs built outside a request. Flask: `PREFERRED_URL_SCHEME`.
    pub preferred_url_scheme: String,
    /// Path of the liveness probe (`""` removes it).
    pub liveness_path: String,
    /// Path of the readiness probe with per-extension health (`""` removes it).
    pub readiness_path: String,
    /// Folder of templates, relative to the working directory.
    pub template_folder: PathBuf,
    /// Reload templates when they change; `None` = on in development only. Flask:
    /// `TEMPLATES_AUTO_RELOAD`.
    pub templates_auto_reload: Option<bool>,
    /// Folder served at [`static_url_path`](Self::static_url_path) (`""` disables).
    pub static_folder: PathBuf,
    /// URL prefix of static files. Flask: `static_url_path`.
    pub static_url_path: String,
    /// `Cache-Control: max-age` of static files in seconds. Flask: `SEND_FILE_MAX_AGE_DEFAULT`.
    pub static_max_age: u64,
    /// Session cookie settings (Flask's `SESSION_COOKIE_*`).
    pub session: SessionConfig,
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            secret_key: Secret::development_default("secret-key"),
            secret_key_fallbacks: Vec::new(),
            bind: "127.0.0.1:5000".to_owned(),
            body_limit: 2 * 1024 * 1024,
            request_timeout: 30.0,
            shutdown_timeout: 10.0,
            instance_path: PathBuf::from("instance"),
            server_name: None,
            preferred_url_scheme: "http".to_owned(),
            liveness_path: "/healthz".to_owned(),
            readiness_path: "/readyz".to_owned(),
            template_folder: PathBuf::from("templates"),
            templates_auto_reload: None,
            static_folder: PathBuf::from("static"),
            static_url_path: "/static".to_owned(),
            static_max_age: 3600,
            session: SessionConfig::default(),
        }
    }
}

thread_local! {
    static EXPOSE_SECRETS: Cell<bool> = const { Cell::new(false) };
}

/// Whether [`Secret`]s serialize their real value on this thread right now.
///
/// True only while defaults are being handed to the config layers, so that a default secret
/// keeps its value; every other serialization masks it.
pub fn exposing_secrets() -> bool {
    EXPOSE_SECRETS.with(Cell::get)
}

/// Serializes `value` with secrets exposed, for use as a config default.
pub(crate) fn defaults_to_value<T: Serialize>(value: &T, section: &str) -> Result<serde_json::Value, Error> {
    EXPOSE_SECRETS.with(|flag| flag.set(true));
    let result = serde_json::to_value(value);
    EXPOSE_SECRETS.with(|flag| flag.set(false));
    result.map_err(|err| Error::config(section, format!("default config does not serialize: {err}")))
}

/// Serializes `value` with secrets masked, for display.
pub(crate) fn to_masked_value<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

/// Where config comes from, before it is loaded. Built by the [`AppBuilder`](crate::AppBuilder).
#[derive(Debug, Clone, Default)]
pub(crate) struct ConfigInputs {
    pub(crate) profile: Option<Profile>,
    pub(crate) dir: Option<PathBuf>,
    pub(crate) app_toml: Vec<String>,
    pub(crate) overrides: Vec<(String, Value)>,
    /// `None`: read the process environment (not in `testing`). `Some`: exactly these.
    pub(crate) env: Option<Vec<(String, String)>>,
}

/// The merged config sources; typed sections are extracted from it.
#[derive(Debug, Clone)]
pub struct ConfigSource {
    figment: Figment,
    profile: Profile,
}

impl ConfigSource {
    /// Merges every source for the given sections and their defaults.
    #[cfg(test)]
    pub(crate) fn load(inputs: &ConfigInputs, defaults: &[(String, serde_json::Value)]) -> Result<Self, Error> {
        Self::load_with_aliases(inputs, defaults, &[])
    }

    /// [`load`](Self::load), with the extensions' Flask variables (`MAIL_SERVER` → `mail.server`).
    pub(crate) fn load_with_aliases(
        inputs: &ConfigInputs,
        defaults: &[(String, serde_json::Value)],
        aliases: &[(&'static str, String)],
    ) -> Result<Self, Error> {
        let env: Vec<(String, String)> = match (&inputs.env, inputs.profile) {
            (Some(vars), _) => vars.clone(),
            (None, Some(Profile::Testing)) => Vec::new(),
            (None, _) => std::env::vars().collect(),
        };
        let profile = match inputs.profile {
            Some(profile) => profile,
            None => match env.iter().find(|(k, _)| k == "PHIAL_PROFILE") {
                Some((_, v)) => v.parse()?,
                None => Profile::Development,
            },
        };
        let mut figment = Figment::new();
        for (section, value) in defaults {
            figment = figment.merge(Named::new(format!("defaults of [{section}]"), section.clone(), to_figment(value)));
        }
        for toml in &inputs.app_toml {
            figment = figment.merge(figment::providers::Toml::string(toml));
        }
        let files = inputs.profile != Some(Profile::Testing) || inputs.dir.is_some();
        if files {
            let dir = inputs.dir.clone().unwrap_or_else(|| PathBuf::from("."));
            for file in [dir.join("phial.toml"), dir.join(format!("phial.{profile}.toml"))] {
                // Absent files are fine; present ones must parse.
                if file.is_file() {
                    figment = figment.merge(figment::providers::Toml::file_exact(file));
                }
            }
        }
        let has_sql = defaults.iter().any(|(s, _)| s == "sql");
        let has_redis = defaults.iter().any(|(s, _)| s == "redis");
        for (name, value) in &env {
            let path = match name.as_str() {
                "SECRET_KEY" => "app.secret_key".to_owned(),
                "DATABASE_URL" if has_sql => "sql.url".to_owned(),
                "REDIS_URL" if has_redis => "redis.url".to_owned(),
                _ => continue,
            };
            figment = figment.merge(Named::env(name, path, Value::from(value.clone())));
        }
        for (name, value) in &env {
            let Some((_, path)) = aliases.iter().find(|(var, _)| var == name) else { continue };
            let parsed = Value::from_str(value).unwrap_or_else(|never| match never {});
            figment = figment.merge(Named::env(name, path.clone(), parsed));
        }
        for (name, value) in &env {
            let Some(rest) = name.strip_prefix("PHIAL_") else { continue };
            if !rest.contains("__") {
                continue; // PHIAL_PROFILE, PHIAL_TEST_*: not config keys
            }
            let path = rest.to_ascii_lowercase().replace("__", ".");
            let parsed = Value::from_str(value).unwrap_or_else(|never| match never {});
            figment = figment.merge(Named::env(name, path, parsed));
        }
        for (key, value) in &inputs.overrides {
            figment = figment.merge(Named::new(format!("override of `{key}`"), key.clone(), value.clone()));
        }
        let source = Self { figment, profile };
        source.check_sections(defaults)?;
        if profile == Profile::Production {
            source.check_no_dev_secrets()?;
        }
        Ok(source)
    }

    /// The active profile.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// Extracts section `section` as `T`, refusing keys that `T` does not have.
    ///
    /// # Errors
    ///
    /// A missing or malformed value, or an unknown key, as an [`Error::Config`] naming the key
    /// and its source.
    pub fn extract_section<T: DeserializeOwned + Serialize>(&self, section: &str) -> Result<T, Error> {
        let value: T = self.figment.extract_inner(section).map_err(|err| Self::describe(section, &err))?;
        let typed = defaults_to_value(&value, section)?;
        if let Ok(Value::Dict(_, given)) = self.figment.find_value(section) {
            self.check_known(section, &given, &typed)?;
        }
        Ok(value)
    }

    /// The human-readable source of `key` (a file, an environment variable, a default).
    pub fn source_of(&self, key: &str) -> String {
        self.figment.find_metadata(key).map_or_else(|| "unknown source".to_owned(), describe_metadata)
    }

    fn describe(section: &str, err: &figment::Error) -> Error {
        let key = if err.path.is_empty() { section.to_owned() } else { err.path.join(".") };
        let key = if key.starts_with(section) { key } else { format!("{section}.{key}") };
        let from = err.metadata.as_ref().map(|m| format!(" (from {})", describe_metadata(m))).unwrap_or_default();
        Error::config(key, format!("{}{from}", err.kind))
    }

    fn check_known(&self, prefix: &str, given: &Dict, typed: &serde_json::Value) -> Result<(), Error> {
        let serde_json::Value::Object(fields) = typed else { return Ok(()) };
        for (key, value) in given {
            let path = format!("{prefix}.{key}");
            match fields.get(key) {
                None => {
                    let known: Vec<&str> = fields.keys().map(String::as_str).collect();
                    return Err(Error::config(
                        &path,
                        format!("unknown key (from {}); known keys: {}", self.source_of(&path), known.join(", ")),
                    ));
                }
                Some(inner) => {
                    if let Value::Dict(_, nested) = value {
                        self.check_known(&path, nested, inner)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn check_sections(&self, defaults: &[(String, serde_json::Value)]) -> Result<(), Error> {
        let merged = self.figment.data().map_err(|err| Error::config("config", err.to_string()))?;
        for dict in merged.values() {
            for section in dict.keys() {
                if !defaults.iter().any(|(s, _)| s == section) {
                    let known: Vec<&str> = defaults.iter().map(|(s, _)| s.as_str()).collect();
                    return Err(Error::config(
                        section,
                        format!(
                            "unknown config section (from {}); known sections: {}",
                            self.source_of(section),
                            known.join(", ")
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    fn check_no_dev_secrets(&self) -> Result<(), Error> {
        let value: Value = self.figment.extract().map_err(|err| Error::config("config", err.to_string()))?;
        let mut found = Vec::new();
        find_dev_secrets(&value, String::new(), &mut found);
        match found.first() {
            None => Ok(()),
            Some(key) => Err(Error::config(
                key,
                "still holds its development default in production; set a long random value \
                 (e.g. `python -c 'import secrets; print(secrets.token_hex())'`) in phial.production.toml \
                 or the environment",
            )),
        }
    }
}

fn find_dev_secrets(value: &Value, path: String, found: &mut Vec<String>) {
    match value {
        Value::String(_, s) if s.starts_with(DEV_SECRET_PREFIX) => found.push(path),
        Value::Dict(_, dict) => {
            for (k, v) in dict {
                let sub = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                find_dev_secrets(v, sub, found);
            }
        }
        Value::Array(_, items) => {
            for (i, v) in items.iter().enumerate() {
                find_dev_secrets(v, format!("{path}[{i}]"), found);
            }
        }
        _ => {}
    }
}

fn describe_metadata(metadata: &Metadata) -> String {
    match &metadata.source {
        Some(source) => format!("{} {source}", metadata.name),
        None => metadata.name.to_string(),
    }
}

fn to_figment(value: &serde_json::Value) -> Value {
    match value {
        serde_json::Value::Null => Value::from(Map::<String, Value>::new()),
        serde_json::Value::Bool(b) => Value::from(*b),
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                Value::from(n.as_f64().unwrap_or_default())
            }
        }
        serde_json::Value::String(s) => Value::from(s.clone()),
        serde_json::Value::Array(items) => Value::from(items.iter().map(to_figment).collect::<Vec<_>>()),
        serde_json::Value::Object(fields) => {
            let dict: BTreeMap<String, Value> =
                fields.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), to_figment(v))).collect();
            Value::from(dict)
        }
    }
}

/// A provider for one value at a dotted path, with a name for error messages.
struct Named {
    name: String,
    path: String,
    value: Value,
}

impl Named {
    fn new(name: String, path: String, value: Value) -> Self {
        Self { name, path, value }
    }

    fn env(var: &str, path: String, value: Value) -> Self {
        Self::new(format!("environment variable `{var}`"), path, value)
    }
}

impl Provider for Named {
    fn metadata(&self) -> Metadata {
        Metadata::named(self.name.clone())
    }

    fn data(&self) -> Result<Map<figment::Profile, Dict>, figment::Error> {
        let mut value = self.value.clone();
        for part in self.path.rsplit('.') {
            let mut dict = Dict::new();
            dict.insert(part.to_owned(), value);
            value = Value::from(dict);
        }
        let Value::Dict(_, dict) = value else { unreachable!("the loop above always wraps in a dict") };
        Ok(figment::Profile::Default.collect(dict))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
    #[serde(default)]
    struct Demo {
        name: String,
        port: u16,
        key: Secret,
        nested: Nested,
    }

    #[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
    #[serde(default)]
    struct Nested {
        depth: u8,
    }

    fn load(inputs: &ConfigInputs) -> Result<ConfigSource, Error> {
        let defaults = vec![(
            "demo".to_owned(),
            defaults_to_value(
                &Demo { name: "default".into(), port: 1, key: Secret::development_default("demo"), ..Demo::default() },
                "demo",
            )
            .unwrap(),
        )];
        ConfigSource::load(inputs, &defaults)
    }

    #[expect(clippy::unnecessary_wraps, reason = "matches the optional field it fills")]
    fn env(pairs: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
        Some(pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect())
    }

    #[test]
    fn later_sources_win_over_earlier_ones() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("phial.toml"), "[demo]\nname = \"file\"\nport = 2\n").unwrap();
        std::fs::write(dir.path().join("phial.production.toml"), "[demo]\nport = 3\nkey = \"real\"\n").unwrap();
        let inputs = ConfigInputs {
            profile: Some(Profile::Production),
            dir: Some(dir.path().to_owned()),
            app_toml: vec!["[demo]\nname = \"app\"\n".to_owned()],
            env: env(&[("PHIAL_DEMO__NESTED__DEPTH", "9")]),
            overrides: vec![],
        };
        let demo: Demo = load(&inputs).unwrap().extract_section("demo").unwrap();
        assert_eq!(demo.name, "file");
        assert_eq!(demo.port, 3);
        assert_eq!(demo.nested.depth, 9);
        assert_eq!(demo.key.expose(), "real");
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let inputs = ConfigInputs { profile: Some(Profile::Testing), ..ConfigInputs::default() };
        let demo: Demo = load(&inputs).unwrap().extract_section("demo").unwrap();
        assert_eq!(demo.name, "default");
        assert!(demo.key.is_development_default());
    }

    #[test]
    fn unknown_key_names_key_and_source() {
        let inputs = ConfigInputs {
            profile: Some(Profile::Testing),
            env: env(&[("PHIAL_DEMO__PROT", "80")]),
            ..ConfigInputs::default()
        };
        let err = load(&inputs).unwrap().extract_section::<Demo>("demo").unwrap_err().to_string();
        assert!(err.contains("demo.prot"), "{err}");
        assert!(err.contains("PHIAL_DEMO__PROT"), "{err}");
    }

    #[test]
    fn unknown_nested_key_is_an_error() {
        let inputs = ConfigInputs {
            profile: Some(Profile::Testing),
            app_toml: vec!["[demo.nested]\ndepht = 1\n".to_owned()],
            ..ConfigInputs::default()
        };
        let err = load(&inputs).unwrap().extract_section::<Demo>("demo").unwrap_err().to_string();
        assert!(err.contains("demo.nested.depht"), "{err}");
    }

    #[test]
    fn unknown_section_is_an_error() {
        let inputs = ConfigInputs {
            profile: Some(Profile::Testing),
            app_toml: vec!["[dmeo]\nname = \"x\"\n".to_owned()],
            ..ConfigInputs::default()
        };
        let err = load(&inputs).unwrap_err().to_string();
        assert!(err.contains("dmeo") && err.contains("unknown config section"), "{err}");
    }

    #[test]
    fn malformed_value_names_key_and_source() {
        let inputs = ConfigInputs {
            profile: Some(Profile::Testing),
            env: env(&[("PHIAL_DEMO__PORT", "lots")]),
            ..ConfigInputs::default()
        };
        let err = load(&inputs).unwrap().extract_section::<Demo>("demo").unwrap_err().to_string();
        assert!(err.contains("demo.port"), "{err}");
        assert!(err.contains("PHIAL_DEMO__PORT"), "{err}");
    }

    #[test]
    fn development_secret_is_refused_in_production_only() {
        let production = ConfigInputs { profile: Some(Profile::Production), env: env(&[]), ..ConfigInputs::default() };
        let err = load(&production).unwrap_err().to_string();
        assert!(err.contains("demo.key") && err.contains("production"), "{err}");
        let development =
            ConfigInputs { profile: Some(Profile::Development), env: env(&[]), ..ConfigInputs::default() };
        assert!(load(&development).is_ok());
    }

    #[test]
    fn profile_comes_from_phial_profile() {
        let inputs = ConfigInputs { env: env(&[("PHIAL_PROFILE", "testing")]), ..ConfigInputs::default() };
        assert_eq!(load(&inputs).unwrap().profile(), Profile::Testing);
        let bad = ConfigInputs { env: env(&[("PHIAL_PROFILE", "staging")]), ..ConfigInputs::default() };
        assert!(load(&bad).unwrap_err().to_string().contains("staging"));
    }

    #[test]
    fn secret_key_env_is_honoured() {
        let defaults = vec![("app".to_owned(), defaults_to_value(&AppConfig::default(), "app").unwrap())];
        let inputs = ConfigInputs {
            profile: Some(Profile::Production),
            env: env(&[("SECRET_KEY", "from-env")]),
            ..ConfigInputs::default()
        };
        let app: AppConfig = ConfigSource::load(&inputs, &defaults).unwrap().extract_section("app").unwrap();
        assert_eq!(app.secret_key.expose(), "from-env");
        assert_eq!(format!("{:?}", app.secret_key), "Secret(\"********\")");
    }

    #[test]
    fn redis_url_env_fills_the_redis_section_only_when_it_exists() {
        #[derive(Serialize, Deserialize)]
        struct Redis {
            url: String,
        }
        let inputs = ConfigInputs { env: env(&[("REDIS_URL", "redis://cache:6379/1")]), ..ConfigInputs::default() };
        let redis = vec![("redis".to_owned(), serde_json::json!({ "url": "redis://127.0.0.1:6379" }))];
        let url = ConfigSource::load(&inputs, &redis).unwrap().extract_section::<Redis>("redis").unwrap().url;
        assert_eq!(url, "redis://cache:6379/1");
        assert!(ConfigSource::load(&inputs, &[]).is_ok(), "REDIS_URL without a redis section is ignored");
    }
}

//! Configuration: the original's environment variables, its `.env` file and its fixed
//! settings (`POSTS_PER_PAGE`, `LANGUAGES`, `ADMINS`) as the defaults of section `[microblog]`.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// Section `[microblog]` of `phial.toml` (env: `PHIAL_MICROBLOG__POSTS_PER_PAGE`, ...). The
/// defaults are the original's `Config` class.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MicroblogConfig {
    /// Posts per page on the index, explore and profile pages (`POSTS_PER_PAGE`).
    pub posts_per_page: u64,
    /// The languages the app speaks (`LANGUAGES`).
    pub languages: Vec<String>,
    /// Who gets error mails in production (`ADMINS`).
    pub admins: Vec<String>,
    /// Microsoft Translator's key (`MS_TRANSLATOR_KEY`); none: `/translate` answers that the
    /// service is not configured.
    pub ms_translator_key: Option<phial::Secret>,
    /// Where `/translate` posts (not in the original, which has Microsoft's address fixed):
    /// Microsoft Translator's v3 `translate` endpoint; `api-version`, `from` and `to` are added
    /// as query parameters.
    pub translator_url: String,
    /// The `Ocp-Apim-Subscription-Region` header: the Azure region of the key (the original
    /// sends `westus`, its default here).
    pub translator_region: String,
    /// Seconds a call to the translator may take, connecting included, before `/translate`
    /// answers the failure text (the original waits as long as `requests` does: forever).
    pub translator_timeout: f64,
    /// Seconds the posts export waits after each post (the original sleeps 5 to show the
    /// progress banner move); default 0.
    pub export_delay: f64,
    /// Mail `ERROR` log events to `admins`; unset: in production when `MAIL_SERVER` is set, as
    /// the original.
    pub error_mail: Option<bool>,
    /// Mark tasks still recorded as in progress complete at start (see `tasks`); the binary
    /// turns it off for every command but `serve`, so `microblog db current` beside a running
    /// server leaves its exports alone.
    pub complete_interrupted_tasks: bool,
}

impl Default for MicroblogConfig {
    fn default() -> Self {
        Self {
            posts_per_page: 25,
            languages: vec!["en".to_owned(), "es".to_owned()],
            admins: vec!["your-email@example.com".to_owned()],
            ms_translator_key: None,
            translator_url: crate::translate::MICROSOFT_TRANSLATOR_URL.to_owned(),
            translator_region: "westus".to_owned(),
            translator_timeout: 5.0,
            export_delay: 0.0,
            error_mail: None,
            complete_interrupted_tasks: true,
        }
    }
}

/// The database when `DATABASE_URL` is not set: `app.db` in the instance folder.
pub const DEFAULT_DATABASE_URL: &str = "sqlite:///app.db";

/// `DATABASE_URL` as phial-sql reads it. SQLAlchemy URLs name a driver
/// (`mysql+pymysql://`, `postgresql+psycopg2://`); the driver part is dropped, and `postgres://`
/// is accepted as the original's `config.py` accepts it. sqlx URLs pass unchanged, and so do
/// SQLite URLs (`sqlite:////abs/app.db` absolute, `sqlite:///app.db` in the instance folder).
pub fn database_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let base = scheme.split('+').next().unwrap_or(scheme);
    let base = if base == "postgresql" { "postgres" } else { base };
    format!("{base}://{rest}")
}

/// The variables of a `.env` file (python-dotenv's format, the common part of it): `KEY=value`
/// lines, `export ` prefixes, `#` comments, values in single or double quotes. A missing file
/// is no variables.
pub fn read_dotenv(path: &Path) -> Vec<(String, String)> {
    let Ok(text) = std::fs::read_to_string(path) else { return Vec::new() };
    parse_dotenv(&text)
}

/// Parses the text of a `.env` file (see [`read_dotenv`]).
pub fn parse_dotenv(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                return None;
            }
            let line = line.strip_prefix("export ").unwrap_or(line);
            let (key, value) = line.split_once('=')?;
            let value = value.trim();
            let value = if let Some(quoted) = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
            {
                quoted.to_owned()
            } else {
                // An unquoted value ends at a ` #` comment.
                value.split(" #").next().unwrap_or_default().trim().to_owned()
            };
            Some((key.trim().to_owned(), value))
        })
        .collect()
}

/// The process environment with `.env`'s variables under it: as python-dotenv's
/// `load_dotenv`, a variable already set wins over the file.
pub fn environment(dotenv: &Path) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = std::env::vars().collect();
    for (key, value) in read_dotenv(dotenv) {
        if !vars.iter().any(|(name, _)| *name == key) {
            vars.push((key, value));
        }
    }
    vars
}

/// Whether the command line (`args`, the program name first) serves: no command, `serve`, or
/// only options.
pub fn serves(args: &[String]) -> bool {
    args.get(1).is_none_or(|command| command == "serve" || command.starts_with('-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlalchemy_urls_become_sqlx_urls() {
        assert_eq!(database_url("postgresql://u:p@db/app"), "postgres://u:p@db/app");
        assert_eq!(database_url("postgres://u:p@db/app"), "postgres://u:p@db/app");
        assert_eq!(database_url("postgresql+psycopg2://db/app"), "postgres://db/app");
        assert_eq!(database_url("mysql+pymysql://root@db/app?charset=utf8mb4"), "mysql://root@db/app?charset=utf8mb4");
        assert_eq!(database_url("sqlite:////var/lib/app.db"), "sqlite:////var/lib/app.db");
        assert_eq!(database_url("sqlite:///app.db"), "sqlite:///app.db");
        assert_eq!(database_url("mariadb://db/app"), "mariadb://db/app");
    }

    #[test]
    fn only_serve_or_no_command_serves() {
        let args = |list: &[&str]| list.iter().map(|arg| (*arg).to_owned()).collect::<Vec<_>>();
        assert!(serves(&args(&["microblog"])) && serves(&args(&["microblog", "serve", "--bind", "0.0.0.0:5000"])));
        assert!(!serves(&args(&["microblog", "db", "upgrade"])) && !serves(&args(&["microblog", "routes"])));
    }

    #[test]
    fn dotenv_lines_are_read_as_python_dotenv_reads_them() {
        let vars = parse_dotenv(
            "# comment\nSECRET_KEY=abc # trailing\nexport MAIL_SERVER=localhost\nDATABASE_URL=\"sqlite:////tmp/x.db\"\n\nEMPTY=\nQUOTED='a b'\n",
        );
        let expected = [
            ("SECRET_KEY", "abc"),
            ("MAIL_SERVER", "localhost"),
            ("DATABASE_URL", "sqlite:////tmp/x.db"),
            ("EMPTY", ""),
            ("QUOTED", "a b"),
        ];
        assert_eq!(vars, expected.map(|(k, v)| (k.to_owned(), v.to_owned())));
    }
}

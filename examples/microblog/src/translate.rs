//! Translations and the language of posts: the original's `app/translate.py` (Microsoft
//! Translator) and its use of langdetect when a post is written.
//!
//! [`Translator`] posts `[{"Text": text}]` to Microsoft Translator's v3 `translate` endpoint
//! with the key and region headers, as the original does, and answers its first translation.
//! Unlike the original's `requests.post`, every call has a timeout (`[microblog]
//! translator_timeout`), so a dead service is the failure text, never a hung request; the
//! endpoint is a setting (`translator_url`) rather than fixed.
//!
//! [`detect_language`] stands in for langdetect's `detect`: whatlang (trigrams, pure Rust)
//! restricted to the languages langdetect knows, answering langdetect's codes (`en`, `es`,
//! `zh-cn`, ...). Where langdetect guesses anyway (a word or two, a name, a URL), it answers
//! `""` when whatlang's confidence is below [`MIN_CONFIDENCE`], so no "Translate" link
//! offers a translation from a language the post is probably not in.

use std::sync::LazyLock;
use std::time::Duration;

use phial::axum::Json;
use phial::login::CurrentUser;
use phial::prelude::*;
use serde::Deserialize;
use whatlang::{Detector, Lang};

use crate::config::MicroblogConfig;
use crate::i18n::Locale;
use crate::models::User;

/// Microsoft Translator's `translate` endpoint (API version 3.0), the default of
/// `[microblog] translator_url`.
pub const MICROSOFT_TRANSLATOR_URL: &str = "https://api.cognitive.microsofttranslator.com/translate";

/// Why [`Translator::translate`] has no translation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TranslateError {
    /// No `MS_TRANSLATOR_KEY` (or an empty one).
    NotConfigured,
    /// The call failed: no connection, a timeout, a status other than 200, or an answer
    /// without a translation. The reason is logged at `warn`.
    Failed,
}

impl TranslateError {
    /// The original's text for the error: a message id of the catalogs in [`crate::i18n`].
    ///
    /// # Examples
    ///
    /// ```
    /// use microblog::translate::TranslateError;
    ///
    /// assert_eq!(TranslateError::Failed.message(), "Error: the translation service failed.");
    /// ```
    #[must_use]
    pub fn message(self) -> &'static str {
        match self {
            Self::NotConfigured => "Error: the translation service is not configured.",
            Self::Failed => "Error: the translation service failed.",
        }
    }
}

/// Calls Microsoft Translator (or whatever `translator_url` names); registered as state by
/// [`TranslatorExtension`]. Cloning shares the connection pool.
#[derive(Clone)]
pub struct Translator {
    client: reqwest::Client,
    url: reqwest::Url,
    region: String,
    key: Option<Secret>,
}

impl std::fmt::Debug for Translator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key stays out: `Secret` would mask it, but nothing needs to see it.
        f.debug_struct("Translator")
            .field("url", &self.url.as_str())
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl Translator {
    /// A translator from `[microblog]`'s `ms_translator_key`, `translator_url`,
    /// `translator_region` and `translator_timeout`.
    ///
    /// # Errors
    ///
    /// A `translator_url` that is not an absolute URL, a `translator_timeout` that is not a
    /// positive number of seconds, or an HTTP client that cannot be made (its TLS setup).
    ///
    /// # Examples
    ///
    /// ```
    /// use microblog::MicroblogConfig;
    /// use microblog::translate::{TranslateError, Translator};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let translator = Translator::new(&MicroblogConfig::default()).unwrap();
    /// // No key: no call is made.
    /// assert_eq!(translator.translate("hola", "es", "en").await, Err(TranslateError::NotConfigured));
    /// # }
    /// ```
    pub fn new(config: &MicroblogConfig) -> Result<Self, Error> {
        let url = reqwest::Url::parse(&config.translator_url)
            .map_err(|err| Error::config("microblog.translator_url", format!("not an absolute URL: {err}")))?;
        let timeout = Duration::try_from_secs_f64(config.translator_timeout)
            .ok()
            .filter(|timeout| !timeout.is_zero())
            .ok_or_else(|| Error::config("microblog.translator_timeout", "must be a positive number of seconds"))?;
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|err| Error::config("microblog.translator_url", format!("no HTTP client: {err}")))?;
        let key = config.ms_translator_key.clone().filter(|key| !key.is_empty());
        Ok(Self { client, url, region: config.translator_region.clone(), key })
    }

    /// `translate(text, source_language, dest_language)`: the translation of `text`.
    ///
    /// # Errors
    ///
    /// [`TranslateError::NotConfigured`] without a key; [`TranslateError::Failed`] when the
    /// call fails in any way (logged at `warn`, without the key or the text).
    pub async fn translate(
        &self,
        text: &str,
        source_language: &str,
        dest_language: &str,
    ) -> Result<String, TranslateError> {
        let Some(key) = &self.key else { return Err(TranslateError::NotConfigured) };
        self.call(key, text, source_language, dest_language).await.map_err(|reason| {
            tracing::warn!(url = %self.url, from = source_language, to = dest_language, %reason, "the translation service failed");
            TranslateError::Failed
        })
    }

    /// One request; the reason of a failure as text for the log.
    async fn call(&self, key: &Secret, text: &str, from: &str, to: &str) -> Result<String, String> {
        let mut key = reqwest::header::HeaderValue::from_str(key.expose())
            .map_err(|_| "MS_TRANSLATOR_KEY is not a valid header value".to_owned())?;
        key.set_sensitive(true);
        let body = serde_json::to_vec(&[serde_json::json!({ "Text": text })]).map_err(|err| err.to_string())?;
        let response = self
            .client
            .post(self.url.clone())
            .query(&[("api-version", "3.0"), ("from", from), ("to", to)])
            .header("Ocp-Apim-Subscription-Key", key)
            .header("Ocp-Apim-Subscription-Region", &self.region)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|err| error_chain(&err))?;
        let status = response.status();
        if status != reqwest::StatusCode::OK {
            return Err(format!("answered {status}"));
        }
        let answer = response.bytes().await.map_err(|err| error_chain(&err))?;
        let answer: serde_json::Value =
            serde_json::from_slice(&answer).map_err(|err| format!("the answer is not JSON: {err}"))?;
        // `r.json()[0]['translations'][0]['text']`
        answer[0]["translations"][0]["text"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| "the answer has no [0].translations[0].text".to_owned())
    }
}

/// An error with its sources, `a: b: c` (reqwest's own text is only the outermost, such as
/// "error sending request").
fn error_chain(err: &dyn std::error::Error) -> String {
    phial::error::error_chain(err, ": ")
}

/// Registers a [`Translator`] made from `[microblog]`; a bad `translator_url` or
/// `translator_timeout` stops the app at startup.
#[derive(Debug, Default)]
pub struct TranslatorExtension;

impl Extension for TranslatorExtension {
    const NAME: &'static str = "translator";
    type Config = ();

    fn build(&self, _config: &(), ctx: &mut BuildCtx<'_>) -> Result<(), Error> {
        let config: MicroblogConfig = ctx.config().extract_section("microblog")?;
        ctx.state(Translator::new(&config)?);
        Ok(())
    }
}

/// The body the page's `translate()` script posts.
#[derive(Debug, Deserialize)]
pub(crate) struct TranslateRequest {
    text: String,
    source_language: String,
    dest_language: String,
}

/// `/translate` (login required): `{"text": ...}`, the translation or the original's error
/// text in the reader's language.
pub(crate) async fn translate_text(
    locale: Locale,
    CurrentUser(_me): CurrentUser<User>,
    Ext(translator): Ext<Translator>,
    Json(request): Json<TranslateRequest>,
) -> Json<serde_json::Value> {
    let text = match translator.translate(&request.text, &request.source_language, &request.dest_language).await {
        Ok(text) => text,
        Err(err) => locale.gettext(err.message()).to_owned(),
    };
    Json(serde_json::json!({ "text": text }))
}

/// The languages langdetect knows that whatlang knows too, with langdetect's codes.
/// langdetect's `so`, `sq`, `sw` and `zh-tw` have no whatlang profile; whatlang's Chinese
/// becomes `zh-cn` (it cannot tell simplified from traditional). Languages langdetect does
/// not know (Esperanto, Latin, Serbian, ...) are left out, so a post is given one of
/// langdetect's answers, as in the original.
const LANGDETECT_LANGUAGES: [(Lang, &str); 51] = [
    (Lang::Afr, "af"),
    (Lang::Ara, "ar"),
    (Lang::Bul, "bg"),
    (Lang::Ben, "bn"),
    (Lang::Cat, "ca"),
    (Lang::Ces, "cs"),
    (Lang::Cym, "cy"),
    (Lang::Dan, "da"),
    (Lang::Deu, "de"),
    (Lang::Ell, "el"),
    (Lang::Eng, "en"),
    (Lang::Spa, "es"),
    (Lang::Est, "et"),
    (Lang::Pes, "fa"),
    (Lang::Fin, "fi"),
    (Lang::Fra, "fr"),
    (Lang::Guj, "gu"),
    (Lang::Heb, "he"),
    (Lang::Hin, "hi"),
    (Lang::Hrv, "hr"),
    (Lang::Hun, "hu"),
    (Lang::Ind, "id"),
    (Lang::Ita, "it"),
    (Lang::Jpn, "ja"),
    (Lang::Kan, "kn"),
    (Lang::Kor, "ko"),
    (Lang::Lit, "lt"),
    (Lang::Lav, "lv"),
    (Lang::Mkd, "mk"),
    (Lang::Mal, "ml"),
    (Lang::Mar, "mr"),
    (Lang::Nep, "ne"),
    (Lang::Nld, "nl"),
    (Lang::Nob, "no"),
    (Lang::Pan, "pa"),
    (Lang::Pol, "pl"),
    (Lang::Por, "pt"),
    (Lang::Ron, "ro"),
    (Lang::Rus, "ru"),
    (Lang::Slk, "sk"),
    (Lang::Slv, "sl"),
    (Lang::Swe, "sv"),
    (Lang::Tam, "ta"),
    (Lang::Tel, "te"),
    (Lang::Tha, "th"),
    (Lang::Tgl, "tl"),
    (Lang::Tur, "tr"),
    (Lang::Ukr, "uk"),
    (Lang::Urd, "ur"),
    (Lang::Vie, "vi"),
    (Lang::Cmn, "zh-cn"),
];

/// The least confidence (whatlang's, 0 to 1) at which [`detect_language`] names a language.
///
/// whatlang's own `is_reliable` asks for more than 0.9, which most posts of a microblog's
/// length (at most 140 characters) miss even when the guess is right: "Mañana vamos a la playa
/// con mis amigos si no llueve por la tarde." is Spanish at 0.44. On sampled short posts the
/// wrong guesses stayed below 0.16 ("Today is a beautiful day": Portuguese at 0.13, "hello
/// world": Dutch at 0.01), and most right ones were above 0.2. A post below it gets no
/// language, so no "Translate" link, as a post langdetect fails on in the original.
pub const MIN_CONFIDENCE: f64 = 0.2;

/// whatlang limited to [`LANGDETECT_LANGUAGES`].
static DETECTOR: LazyLock<Detector> =
    LazyLock::new(|| Detector::with_allowlist(LANGDETECT_LANGUAGES.iter().map(|(lang, _)| *lang).collect()));

/// The language of a new post as the original stores it: langdetect's code (`en`, `es`,
/// `zh-cn`, ...), or `""` when the language cannot be told reliably (too short, gibberish,
/// digits and punctuation only). Never longer than five characters (the column's size).
///
/// # Examples
///
/// ```
/// use microblog::translate::detect_language;
///
/// assert_eq!(detect_language("The quick brown fox jumps over the lazy dog near the river bank."), "en");
/// assert_eq!(detect_language("¿Dónde está la biblioteca? Necesito estudiar para el examen de mañana."), "es");
/// assert_eq!(detect_language("12345 !!!"), "");
/// ```
#[must_use]
pub fn detect_language(text: &str) -> &'static str {
    let Some(info) = DETECTOR.detect(text) else { return "" };
    if info.confidence() < MIN_CONFIDENCE {
        return "";
    }
    LANGDETECT_LANGUAGES.iter().find(|(lang, _)| *lang == info.lang()).map_or("", |(_, code)| code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_fit_the_language_column() {
        assert!(LANGDETECT_LANGUAGES.iter().all(|(_, code)| !code.is_empty() && code.len() <= 5));
    }

    #[test]
    fn sentences_get_langdetect_codes() {
        let samples = [
            ("I have been reading a very interesting book about the history of computers.", "en"),
            ("Mañana vamos a la playa con mis amigos si no llueve por la tarde.", "es"),
            ("Je voudrais un café et un croissant avant de partir au travail ce matin.", "fr"),
            ("Ich habe heute keine Zeit, weil ich meine Wohnung aufräumen muss.", "de"),
            ("Сегодня мы пойдём в кино, если не будет дождя.", "ru"),
            ("Estoy aprendiendo a programar en Python", "es"),
            ("This new phone is great but the battery is terrible", "en"),
        ];
        for (text, code) in samples {
            assert_eq!(detect_language(text), code, "{text}");
        }
    }

    #[test]
    fn short_or_meaningless_posts_have_no_language() {
        let texts =
            ["", "ok", "hi!", "1234 5678", "xqzt vbnm", "asdf qwer zxcv", ":-) ;-)", "hello world", "my second post"];
        for text in texts {
            assert_eq!(detect_language(text), "", "{text:?}");
        }
    }
}

//! English and Spanish, chosen per request from `Accept-Language` among `[microblog] languages`
//! (Flask-Babel's `request.accept_languages.best_match(LANGUAGES)`, English when none fits).
//!
//! Templates call `_('text', name=value)`; handlers translate flashes with [`Locale`]. The
//! Spanish texts are this port's own translations.

use std::sync::Arc;

use phial::axum::extract::{FromRequestParts, Request};
use phial::axum::http::{HeaderMap, header, request::Parts};
use phial::forms::Catalog;
use phial::minijinja::Value;
use phial::minijinja::value::Kwargs;
use phial::prelude::*;
use phial::templates::TemplateVars;

use crate::config::MicroblogConfig;

/// Message ids and their Spanish translations.
const SPANISH: &[(&str, &str)] = &[
    ("Welcome to Microblog", "Bienvenido a Microblog"),
    ("Home", "Inicio"),
    ("Explore", "Explorar"),
    ("Messages", "Mensajes"),
    ("Profile", "Perfil"),
    ("Logout", "Salir"),
    ("Login", "Ingresar"),
    ("Sign In", "Ingresar"),
    ("Username", "Nombre de usuario"),
    ("Password", "Contraseña"),
    ("Remember Me", "Recordarme"),
    ("New User?", "¿Usuario nuevo?"),
    ("Click to Register!", "¡Haz click aquí para registrarte!"),
    ("Register", "Registrarse"),
    ("Email", "Email"),
    ("Repeat Password", "Repetir contraseña"),
    ("Hi, %(username)s!", "¡Hola, %(username)s!"),
    ("Say something", "Dí algo"),
    ("Submit", "Enviar"),
    ("said", "dijo"),
    ("Translate", "Traducir"),
    ("Newer posts", "Artículos más recientes"),
    ("Older posts", "Artículos más antiguos"),
    ("User", "Usuario"),
    ("Last seen on", "Última visita"),
    ("%(count)d followers", "%(count)d seguidores"),
    ("%(count)d following", "siguiendo a %(count)d"),
    ("Edit your profile", "Editar tu perfil"),
    ("Follow", "Seguir"),
    ("Unfollow", "Dejar de seguir"),
    ("Send private message", "Enviar mensaje privado"),
    ("Edit Profile", "Editar perfil"),
    ("About me", "Acerca de mí"),
    ("Not Found", "Página no encontrada"),
    ("Back", "Atrás"),
    ("An unexpected error has occurred", "Ha ocurrido un error inesperado"),
    (
        "The administrator has been notified. Sorry for the inconvenience!",
        "El administrador ha sido notificado. ¡Lamentamos los inconvenientes!",
    ),
    ("Send Message", "Enviar mensaje"),
    ("Send Message to %(recipient)s", "Enviar mensaje a %(recipient)s"),
    ("Message", "Mensaje"),
    ("Newer messages", "Mensajes más recientes"),
    ("Older messages", "Mensajes más antiguos"),
    ("Invalid username or password", "Nombre de usuario o contraseña inválidos"),
    ("Congratulations, you are now a registered user!", "¡Felicitaciones, ya eres un usuario registrado!"),
    ("Your post is now live!", "¡Tu artículo ha sido publicado!"),
    ("Your changes have been saved.", "Tus cambios han sido guardados."),
    ("User %(username)s not found.", "El usuario %(username)s no ha sido encontrado."),
    ("You cannot follow yourself!", "¡No te puedes seguir a ti mismo!"),
    ("You are following %(username)s!", "¡Ahora estás siguiendo a %(username)s!"),
    ("You cannot unfollow yourself!", "¡No te puedes dejar de seguir a ti mismo!"),
    ("You are not following %(username)s.", "No estás siguiendo a %(username)s."),
    ("Your message has been sent.", "Tu mensaje ha sido enviado."),
    ("Please use a different username.", "Por favor usa un nombre de usuario diferente."),
    ("Please use a different email address.", "Por favor usa una dirección de email diferente."),
    ("Error: the translation service is not configured.", "Error: el servicio de traducciones no está configurado."),
    ("Error: the translation service failed.", "Error: el servicio de traducciones ha fallado."),
    ("The CSRF token is missing.", "Falta el token CSRF."),
    ("The CSRF token is invalid.", "El token CSRF no es válido."),
    ("The CSRF token has expired.", "El token CSRF ha expirado."),
    ("The CSRF session token is missing.", "Falta el token CSRF de la sesión."),
    ("Forgot Your Password?", "¿Olvidaste tu contraseña?"),
    ("Click to Reset It", "Haz click aquí para restablecerla"),
    ("Reset Password", "Restablecer contraseña"),
    ("Reset Your Password", "Restablece tu contraseña"),
    ("Request Password Reset", "Pedir un enlace para restablecer la contraseña"),
    (
        "Check your email for the instructions to reset your password",
        "Busca en tu email las instrucciones para restablecer tu contraseña",
    ),
    ("Your password has been reset.", "Tu contraseña ha sido restablecida."),
    ("[Microblog] Reset Your Password", "[Microblog] Restablece tu contraseña"),
    ("Dear %(username)s,", "Hola %(username)s:"),
    ("To reset your password click on the following link:", "Para restablecer tu contraseña abre este enlace:"),
    ("To reset your password", "Para restablecer tu contraseña"),
    ("click here", "haz click aquí"),
    (
        "Alternatively, you can paste the following link in your browser's address bar:",
        "También puedes copiar este enlace en la barra de direcciones de tu navegador:",
    ),
    (
        "If you have not requested a password reset simply ignore this message.",
        "Si no pediste restablecer tu contraseña, ignora este mensaje.",
    ),
    ("Sincerely,", "Saludos,"),
    ("The Microblog Team", "El equipo de Microblog"),
    ("Export your posts", "Exportar tus artículos"),
    ("An export task is currently in progress", "Ya hay una exportación en curso"),
    ("Exporting posts...", "Exportando artículos..."),
    ("Search", "Buscar"),
    ("Search Results", "Resultados de búsqueda"),
    ("Too Many Requests", "Demasiadas solicitudes"),
    (
        "Too many attempts. Please wait a little and try again.",
        "Demasiados intentos. Espera un poco y vuelve a intentarlo.",
    ),
];

/// WTForms' messages in Spanish, for phial-forms.
pub fn forms_catalog() -> Catalog {
    Catalog::new("es")
        .add("This field is required.", "Este campo es obligatorio.")
        .add("Invalid email address.", "Dirección de email inválida.")
        .add("Field must be equal to {other_name}.", "El campo debe ser igual a {other_name}.")
        .add(
            "Field must be between {min} and {max} characters long.",
            "El campo debe tener entre {min} y {max} caracteres.",
        )
}

/// The request's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    /// English, the messages' own language.
    En,
    /// Spanish.
    Es,
}

impl Locale {
    /// The language code (`g.locale`).
    pub fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Es => "es",
        }
    }

    /// The best language of `headers`' `Accept-Language` among `languages`: the highest
    /// quality whose primary tag is offered, English when none is.
    pub fn negotiate(headers: &HeaderMap, languages: &[String]) -> Self {
        let header = headers.get(header::ACCEPT_LANGUAGE).and_then(|value| value.to_str().ok()).unwrap_or_default();
        let mut best: Option<(f32, Self)> = None;
        for range in header.split(',') {
            let mut parts = range.split(';');
            let tag = parts.next().unwrap_or_default().trim();
            let quality =
                parts.find_map(|part| part.trim().strip_prefix("q=")).and_then(|q| q.parse().ok()).unwrap_or(1.0_f32);
            let primary = tag.split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase();
            let locale = match primary.as_str() {
                "es" => Self::Es,
                "en" => Self::En,
                _ => continue,
            };
            if quality > 0.0
                && languages.iter().any(|language| language == locale.code())
                && best.is_none_or(|(q, _)| quality > q)
            {
                best = Some((quality, locale));
            }
        }
        best.map_or(Self::En, |(_, locale)| locale)
    }

    /// `gettext(text)`: the translation of message id `text`.
    pub fn gettext(self, text: &str) -> &str {
        match self {
            Self::En => text,
            Self::Es => SPANISH.iter().find(|(english, _)| *english == text).map_or(text, |(_, spanish)| spanish),
        }
    }

    /// `_(text, name=value)`: the translation with `%(name)s` / `%(name)d` filled in.
    pub fn format(self, text: &str, args: &[(&str, &str)]) -> String {
        let mut out = self.gettext(text).to_owned();
        for (name, value) in args {
            for spec in ['s', 'd'] {
                out = out.replace(&format!("%({name}){spec}"), value);
            }
        }
        out
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Locale {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<Self>().copied().unwrap_or(Self::En))
    }
}

/// Chooses each request's [`Locale`] and gives its templates `_` and `locale`.
#[derive(Debug, Default)]
pub struct I18nExtension;

impl Extension for I18nExtension {
    const NAME: &'static str = "i18n";
    type Config = ();

    fn build(&self, _config: &(), ctx: &mut BuildCtx<'_>) -> Result<(), Error> {
        let config: MicroblogConfig = ctx.config().extract_section("microblog")?;
        let languages = Arc::new(config.languages);
        ctx.layer(
            Stage::Inner,
            "locale",
            phial::tower::util::MapRequestLayer::new(move |mut request: Request| {
                let locale = Locale::negotiate(request.headers(), &languages);
                request.extensions_mut().insert(locale);
                request
            }),
        );
        // Only requests that render a page get the template functions.
        ctx.context_processor(|parts, vars: &mut TemplateVars| {
            if let Some(&locale) = parts.extensions.get::<Locale>() {
                vars.insert(
                    "_",
                    Value::from_function(move |text: String, kwargs: Kwargs| gettext(locale, &text, &kwargs)),
                );
                vars.insert("locale", locale.code());
            }
        });
        Ok(())
    }
}

/// `_()` in templates (the app-wide global, English, serves pages rendered without a request).
pub fn gettext(locale: Locale, text: &str, kwargs: &Kwargs) -> Result<String, phial::minijinja::Error> {
    let mut values = Vec::new();
    for name in kwargs.args() {
        let value: Value = kwargs.get(name)?;
        values.push((name, value.to_string()));
    }
    let args: Vec<(&str, &str)> = values.iter().map(|(name, value)| (*name, value.as_str())).collect();
    Ok(locale.format(text, &args))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn negotiate(header: &str) -> Locale {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_LANGUAGE, header.parse().unwrap_or_else(|_| unreachable!()));
        Locale::negotiate(&headers, &["en".to_owned(), "es".to_owned()])
    }

    #[test]
    fn accept_language_picks_the_best_offered_language() {
        assert_eq!(negotiate("es-ES,es;q=0.9,en;q=0.8"), Locale::Es);
        assert_eq!(negotiate("en-US,en;q=0.9,es;q=0.8"), Locale::En);
        assert_eq!(negotiate("fr-FR,fr;q=0.9,es;q=0.5"), Locale::Es);
        assert_eq!(negotiate("fr,de"), Locale::En);
        assert_eq!(Locale::negotiate(&HeaderMap::new(), &["es".to_owned()]), Locale::En);
    }

    #[test]
    fn messages_are_translated_with_their_placeholders() {
        assert_eq!(Locale::Es.format("Hi, %(username)s!", &[("username", "susan")]), "¡Hola, susan!");
        assert_eq!(Locale::En.format("%(count)d followers", &[("count", "3")]), "3 followers");
        assert_eq!(Locale::Es.gettext("not in the catalog"), "not in the catalog");
    }
}

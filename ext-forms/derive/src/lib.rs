//! `#[derive(FormFields)]` for phial-forms: see `phial_forms::FormFields`, which documents the
//! attributes and has the examples (a proc-macro crate cannot run them itself).
#![cfg_attr(docsrs, feature(doc_cfg))]

use proc_macro::TokenStream;
use proc_macro2::TokenStream as Tokens;
use quote::quote;
use syn::punctuated::Punctuated;
use syn::{Data, DeriveInput, Expr, Fields, Lit, Meta, Token, Type, parse_macro_input};

/// Describes a form struct's fields for rendering in templates; see `phial_forms::FormFields`.
#[proc_macro_derive(FormFields, attributes(field, form))]
pub fn derive_form_fields(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand(&input) {
        Ok(tokens) => tokens.into(),
        Err(err) => err.to_compile_error().into(),
    }
}

fn expand(input: &DeriveInput) -> syn::Result<Tokens> {
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new_spanned(&input.ident, "FormFields is derived for structs with named fields"));
    };
    let Fields::Named(named) = &data.fields else {
        return Err(syn::Error::new_spanned(&input.ident, "FormFields is derived for structs with named fields"));
    };
    let krate = crate_path(input)?;
    let specs = named.named.iter().map(|field| field_spec(field, &krate)).collect::<syn::Result<Vec<_>>>()?;
    let ident = &input.ident;
    let (impl_generics, type_generics, where_clause) = input.generics.split_for_impl();
    Ok(quote! {
        impl #impl_generics #krate::FormFields for #ident #type_generics #where_clause {
            fn fields() -> &'static [#krate::FieldSpec] {
                const FIELDS: &[#krate::FieldSpec] = &[#(#specs),*];
                FIELDS
            }
        }
    })
}

/// `#[form(crate = "phial::forms")]` for apps that reach phial-forms through the facade.
fn crate_path(input: &DeriveInput) -> syn::Result<Tokens> {
    let mut krate = quote!(::phial_forms);
    for attr in input.attrs.iter().filter(|attr| attr.path().is_ident("form")) {
        for meta in attr.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)? {
            let text = match &meta {
                Meta::NameValue(pair) if pair.path.is_ident("crate") => string_literal(&pair.value),
                _ => None,
            };
            let Some(text) = text else {
                return Err(syn::Error::new_spanned(meta, "expected `crate = \"path::to::phial_forms\"`"));
            };
            let path: syn::Path = syn::parse_str(&text)?;
            krate = quote!(#path);
        }
    }
    Ok(krate)
}

#[derive(Default)]
struct Spec {
    name: String,
    label: Option<String>,
    kind: Option<String>,
    required: Option<bool>,
    min_length: Option<u64>,
    max_length: Option<u64>,
    min: Option<f64>,
    max: Option<f64>,
}

fn field_spec(field: &syn::Field, krate: &Tokens) -> syn::Result<Tokens> {
    let ident = field.ident.as_ref().expect("named fields have names");
    let mut spec = Spec { name: ident.to_string().trim_start_matches("r#").to_owned(), ..Spec::default() };
    for attr in &field.attrs {
        if attr.path().is_ident("serde") {
            serde_rename(attr, &mut spec);
        } else if attr.path().is_ident("validate") {
            validators(attr, &mut spec)?;
        } else if attr.path().is_ident("field") {
            field_options(attr, &mut spec)?;
        }
    }
    let (optional, type_kind) = type_shape(&field.ty);
    let kind = spec.kind.clone().unwrap_or_else(|| type_kind.to_owned());
    // Like WTForms' `required` flag: fields the form cannot do without. A checkbox is never
    // required (unchecked, it sends nothing), nor is an `Option`.
    let required = spec.required.unwrap_or(!optional && !matches!(kind.as_str(), "checkbox" | "submit" | "hidden"));
    let label = spec.label.clone().unwrap_or_else(|| title(&spec.name));
    let name = &spec.name;
    let mut tokens = quote!(#krate::FieldSpec::new(#name, #label, #kind).required(#required));
    if let Some(n) = spec.min_length {
        tokens = quote!(#tokens.min_length(#n));
    }
    if let Some(n) = spec.max_length {
        tokens = quote!(#tokens.max_length(#n));
    }
    if let Some(n) = spec.min {
        tokens = quote!(#tokens.min(#n));
    }
    if let Some(n) = spec.max {
        tokens = quote!(#tokens.max(#n));
    }
    Ok(tokens)
}

/// WTForms' default label: the name with `_` as spaces, each word capitalised.
fn title(name: &str) -> String {
    name.split('_')
        .filter(|word| !word.is_empty())
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map(|first| first.to_uppercase().chain(chars).collect::<String>()).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether the type is an `Option`, and the input type its (inner) type suggests.
fn type_shape(ty: &Type) -> (bool, &'static str) {
    let Type::Path(path) = ty else { return (false, "text") };
    let Some(last) = path.path.segments.last() else { return (false, "text") };
    let name = last.ident.to_string();
    if name == "Option"
        && let syn::PathArguments::AngleBracketed(args) = &last.arguments
        && let Some(syn::GenericArgument::Type(inner)) = args.args.first()
    {
        return (true, type_shape(inner).1);
    }
    let kind = match name.as_str() {
        "bool" => "checkbox",
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" | "u8" | "u16" | "u32" | "u64" | "u128" | "usize" | "f32"
        | "f64" => "number",
        _ => "text",
    };
    (false, kind)
}

fn serde_rename(attr: &syn::Attribute, spec: &mut Spec) {
    let Ok(metas) = attr.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated) else { return };
    for meta in metas {
        if let Meta::NameValue(pair) = meta
            && pair.path.is_ident("rename")
            && let Some(name) = string_literal(&pair.value)
        {
            spec.name = name;
        }
    }
}

/// Reads the constraints an HTML input can state from validator's attributes; anything else
/// (custom functions, regexes, non-literal bounds) is left to the server-side check.
fn validators(attr: &syn::Attribute, spec: &mut Spec) -> syn::Result<()> {
    let Ok(metas) = attr.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated) else { return Ok(()) };
    for meta in metas {
        match &meta {
            Meta::Path(path) if path.is_ident("required") => spec.required = Some(true),
            Meta::List(list) if list.path.is_ident("length") || list.path.is_ident("range") => {
                let length = list.path.is_ident("length");
                let pairs = list.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)?;
                for pair in pairs {
                    let Meta::NameValue(pair) = pair else { continue };
                    let Some(value) = number_literal(&pair.value) else { continue };
                    let key = pair.path.get_ident().map(ToString::to_string).unwrap_or_default();
                    #[expect(
                        clippy::cast_possible_truncation,
                        clippy::cast_sign_loss,
                        reason = "lengths are small whole numbers"
                    )]
                    match (length, key.as_str()) {
                        (true, "min") => spec.min_length = Some(value as u64),
                        (true, "max") => spec.max_length = Some(value as u64),
                        (true, "equal") => {
                            spec.min_length = Some(value as u64);
                            spec.max_length = Some(value as u64);
                        }
                        (false, "min") => spec.min = Some(value),
                        (false, "max") => spec.max = Some(value),
                        _ => {}
                    }
                }
            }
            // phial-forms' `data_required` is WTForms' DataRequired.
            Meta::List(list) if list.path.is_ident("custom") && list.tokens.to_string().contains("data_required") => {
                spec.required = Some(true);
            }
            _ => {}
        }
    }
    Ok(())
}

fn field_options(attr: &syn::Attribute, spec: &mut Spec) -> syn::Result<()> {
    for meta in attr.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)? {
        match &meta {
            Meta::NameValue(pair) if pair.path.is_ident("label") => spec.label = string_literal(&pair.value),
            Meta::NameValue(pair) if pair.path.is_ident("kind") => spec.kind = string_literal(&pair.value),
            Meta::Path(path) if path.is_ident("required") => spec.required = Some(true),
            Meta::Path(path) if path.is_ident("optional") => spec.required = Some(false),
            _ => {
                return Err(syn::Error::new_spanned(
                    meta,
                    "expected `label = \"...\"`, `kind = \"...\"`, `required` or `optional`",
                ));
            }
        }
    }
    Ok(())
}

fn string_literal(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Lit(lit) => match &lit.lit {
            Lit::Str(text) => Some(text.value()),
            _ => None,
        },
        _ => None,
    }
}

fn number_literal(expr: &Expr) -> Option<f64> {
    match expr {
        Expr::Lit(lit) => match &lit.lit {
            Lit::Int(int) => int.base10_parse::<f64>().ok(),
            Lit::Float(float) => float.base10_parse::<f64>().ok(),
            _ => None,
        },
        Expr::Unary(unary) if matches!(unary.op, syn::UnOp::Neg(_)) => number_literal(&unary.expr).map(|n| -n),
        _ => None,
    }
}

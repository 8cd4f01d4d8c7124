//! Fields rendered in templates from `#[derive(FormFields)]` and `Form::view`.

use phial_core::minijinja::{Environment, Value, context};
use phial_forms::{FieldSpec, Form, FormData, FormFields};
use serde::Deserialize;
use validator::Validate;

#[derive(Debug, Deserialize, Validate, FormFields)]
#[expect(dead_code, reason = "the fields are read by the templates only")]
struct Profile {
    #[validate(custom(function = "phial_forms::data_required"), length(min = 3, max = 64))]
    username: String,
    #[serde(rename = "about_me")]
    #[validate(length(max = 140))]
    #[field(kind = "textarea", label = "About me")]
    about: Option<String>,
    #[validate(range(min = 18, max = 130))]
    age: Option<u32>,
    #[field(kind = "password")]
    password: String,
    remember_me: bool,
    #[field(kind = "submit", label = "Submit")]
    submit: Option<String>,
}

fn render(source: &str, form: &Value) -> String {
    let mut env = Environment::new();
    env.add_function("hidden_tag", || {
        Value::from_safe_string(r#"<input name="csrf_token" type="hidden" value="t">"#.into())
    });
    env.add_template("page.html", source).unwrap();
    env.get_template("page.html").unwrap().render(context! { form => form.clone() }).unwrap()
}

#[test]
fn the_derive_reads_names_labels_types_and_validator_constraints() {
    let fields = Profile::fields();
    let names: Vec<_> = fields.iter().map(|f| f.name).collect();
    assert_eq!(names, ["username", "about_me", "age", "password", "remember_me", "submit"]);
    assert_eq!(fields[0], FieldSpec::new("username", "Username", "text").required(true).min_length(3).max_length(64));
    assert_eq!(fields[1], FieldSpec::new("about_me", "About me", "textarea").max_length(140));
    assert_eq!(fields[2], FieldSpec::new("age", "Age", "number").min(18.0).max(130.0));
    assert_eq!(fields[3], FieldSpec::new("password", "Password", "password").required(true));
    assert_eq!(fields[4], FieldSpec::new("remember_me", "Remember Me", "checkbox"));
    assert_eq!(fields[5], FieldSpec::new("submit", "Submit", "submit"));
}

#[test]
fn submitted_values_come_back_escaped_and_errors_mark_the_field() {
    let body = b"username=al&about_me=%3Cb%3Ehi%3C%2Fb%3E&password=secret&remember_me=y";
    let form: Form<Profile> = Form::submit(FormData::from_urlencoded(body), None);
    let html = render(
        "{{ form.username() }}|{% for e in form.username.errors %}{{ e }}{% endfor %}|{{ form.about_me() }}|\
         {{ form.password() }}|{{ form.remember_me() }}|{{ form.submit() }}|{{ form.about_me.label }}",
        &form.view(),
    );
    let parts: Vec<_> = html.split('|').collect();
    assert_eq!(
        parts[0],
        r#"<input class="form-control is-invalid" id="username" name="username" type="text" value="al" required minlength="3" maxlength="64">"#
    );
    assert_eq!(parts[1], "Field must be between 3 and 64 characters long.");
    assert_eq!(
        parts[2],
        r#"<textarea class="form-control" id="about_me" name="about_me" maxlength="140">&lt;b&gt;hi&lt;/b&gt;</textarea>"#
    );
    assert_eq!(
        parts[3], r#"<input class="form-control" id="password" name="password" type="password" required>"#,
        "never echoed"
    );
    assert_eq!(
        parts[4],
        r#"<input class="form-check-input" id="remember_me" name="remember_me" type="checkbox" value="y" checked>"#
    );
    assert_eq!(parts[5], r#"<input class="btn btn-primary" id="submit" name="submit" type="submit" value="Submit">"#);
    assert_eq!(parts[6], r#"<label for="about_me">About me</label>"#);
}

#[test]
fn keyword_arguments_become_sorted_attributes_and_classes_add_up() {
    let form: Form<Profile> = Form::empty();
    let html = render(
        r#"{{ form.username(size=32, class="wide", data_toggle="x", autofocus=true, hidden=false) }}"#,
        &form.view(),
    );
    assert_eq!(
        html,
        r#"<input class="form-control wide" id="username" name="username" type="text" value="" required minlength="3" maxlength="64" autofocus data-toggle="x" size="32">"#
    );
    let html = render(r#"{{ form.username(title='"><script>') }}"#, &form.view());
    assert!(html.contains(r#"title="&#34;&gt;&lt;script&gt;""#), "{html}");
}

#[test]
fn hidden_tag_data_and_the_error_map_are_there_for_templates() {
    let form: Form<Profile> = Form::submit(FormData::from_urlencoded(b"username=ada&password=x"), None);
    let html = render(
        "{{ form.hidden_tag() }}|{{ form.username.data }}|{{ form.age.data is none }}|{{ form.errors | length }}",
        &form.view(),
    );
    assert_eq!(html, r#"<input name="csrf_token" type="hidden" value="t">|ada|True|0"#);
}

//! A form's fields with their labels, hints and problems: each problem sits beside its field,
//! named by the field's `aria-describedby`, and the field is marked `aria-invalid`.

use leptos::prelude::*;

use crate::campaign_form::{CampaignForm, input_id};

/// What a field is, beyond its name and label.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// A line of text; `inputmode` for the phone's keyboard (`decimal`, `numeric`, `text`).
    Text(&'static str),
    /// A date and time (`<input type="datetime-local">`).
    DateTime,
    /// Several lines of text.
    Lines,
    /// One of `(value, label)`.
    Choice(&'static [(&'static str, &'static str)]),
    /// Any of `(value, label)`, as checkboxes (the value holds the checked ones, comma-separated).
    Checks(&'static [(&'static str, &'static str)]),
}

/// The field named `name` of `form`, labelled `label`, with an optional `hint` under the label.
pub fn field(
    form: &CampaignForm,
    name: &str,
    label: &'static str,
    hint: Option<&'static str>,
    kind: Kind,
) -> AnyView {
    let id = input_id(name);
    let problems = form.problems_of(name);
    let value = form.value(name);
    let hint_id = format!("{id}-hint");
    let problem_id = format!("{id}-problem");
    let described = [
        hint.map(|_| hint_id.clone()),
        (!problems.is_empty()).then(|| problem_id.clone()),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ");
    let described = (!described.is_empty()).then_some(described);
    let invalid = (!problems.is_empty()).then_some("true");
    let hint_view = hint.map(|h| view! { <p class="hint" id=hint_id>{h}</p> });
    let problem_view = (!problems.is_empty()).then(|| {
        view! {
            <p class="problem" id=problem_id>
                <span class="visually-hidden">"Problem: "</span>
                {problems.join("; ")}
            </p>
        }
    });
    let name = name.to_owned();
    let class = if problems.is_empty() {
        "field"
    } else {
        "field has-problem"
    };
    match kind {
        Kind::Checks(options) => {
            let checked: Vec<String> = value.split(',').map(str::to_owned).collect();
            view! {
                <fieldset class=class id=id.clone() aria-describedby=described>
                    <legend>{label}</legend>
                    {hint_view}
                    {problem_view}
                    {options
                        .iter()
                        .map(|(value, text)| {
                            let box_id = format!("{id}-{value}");
                            view! {
                                <span class="check">
                                    <input
                                        type="checkbox"
                                        id=box_id.clone()
                                        name=name.clone()
                                        value=*value
                                        checked=checked.iter().any(|c| c == value)
                                    />
                                    <label for=box_id>{*text}</label>
                                </span>
                            }
                        })
                        .collect_view()}
                </fieldset>
            }
            .into_any()
        }
        kind => {
            let control = match kind {
                Kind::Lines => view! {
                    <textarea
                        id=id.clone()
                        name=name
                        rows="3"
                        aria-invalid=invalid
                        aria-describedby=described
                    >
                        {value}
                    </textarea>
                }
                .into_any(),
                Kind::Choice(options) => view! {
                    <select
                        id=id.clone()
                        name=name
                        aria-invalid=invalid
                        aria-describedby=described
                    >
                        {options
                            .iter()
                            .map(|(v, text)| {
                                view! { <option value=*v selected=value == *v>{*text}</option> }
                            })
                            .collect_view()}
                    </select>
                }
                .into_any(),
                Kind::DateTime => view! {
                    <input
                        type="datetime-local"
                        id=id.clone()
                        name=name
                        value=value
                        aria-invalid=invalid
                        aria-describedby=described
                    />
                }
                .into_any(),
                _ => {
                    let mode = match kind {
                        Kind::Text(mode) => mode,
                        _ => "text",
                    };
                    view! {
                        <input
                            id=id.clone()
                            name=name
                            value=value
                            inputmode=mode
                            aria-invalid=invalid
                            aria-describedby=described
                        />
                    }
                    .into_any()
                }
            };
            view! {
                <div class=class>
                    <label for=id>{label}</label>
                    {hint_view}
                    {problem_view}
                    {control}
                </div>
            }
            .into_any()
        }
    }
}

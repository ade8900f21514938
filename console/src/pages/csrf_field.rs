//! The hidden CSRF field every form carries (the token its cookie holds).

use leptos::prelude::*;

use crate::data::csrf_token;

/// `<input type="hidden" name="csrf">` with this visitor's token.
#[component]
pub fn CsrfField() -> impl IntoView {
    let csrf = Resource::new(|| (), |_| csrf_token());
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                let token = csrf.await.unwrap_or_default();
                view! { <input type="hidden" name="csrf" value=token/> }
            })}
        </Suspense>
    }
}

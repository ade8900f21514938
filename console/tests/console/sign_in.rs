//! Signing in and out, the campaigns of the signed-in advertiser only, forms without their CSRF
//! token refused, and the headers every page carries.

use sqlx::PgPool;

use crate::MIGRATOR;
use crate::helpers::{Console, PASSWORD, cookie_value, csrf_input, set_cookie};

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_advertiser_signs_in_sees_its_campaigns_and_signs_out(pool: PgPool) {
    let console = Console::start(pool).await;
    console.advertiser("ana", "Winter boots").await;
    let bob = console.advertiser("bob", "Bobs secret campaign").await;
    let bob_campaign = console.first_campaign(&bob).await;

    // the page gives a CSRF cookie and the same token in its form, and the security headers
    let page = console.get("/sign-in", "").await;
    assert_eq!(page.status(), 200);
    let headers = page.headers().clone();
    let csp = headers["content-security-policy"].to_str().expect("csp");
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("'nonce-"),
        "{csp}"
    );
    assert!(
        !csp.contains("'unsafe-inline'; ") || csp.contains("style-src"),
        "{csp}"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(headers.contains_key("referrer-policy"));
    let csrf_cookie = set_cookie(&headers, "adplat_csrf").expect("a CSRF cookie");
    assert!(csrf_cookie.contains("HttpOnly") && csrf_cookie.contains("SameSite=Strict"));
    let csrf = cookie_value(&csrf_cookie);
    let html = page.text().await.expect("html");
    assert!(
        html.contains("<form method=\"post\" action=\"/sign-in\""),
        "{html}"
    );
    assert!(html.contains("<label for=\"username\""), "labelled fields");
    assert_eq!(csrf_input(&html).as_deref(), Some(csrf.as_str()));
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|r| r.split('\'').next())
        .expect("nonce");
    assert!(
        html.contains(&format!("nonce=\"{nonce}\"")),
        "the hydration script carries the nonce"
    );

    // without the session: to the sign-in page
    let cookies = format!("adplat_csrf={csrf}");
    let away = console.get("/campaigns", &cookies).await;
    assert!(away.status().is_redirection(), "{}", away.status());
    assert_eq!(away.headers()["location"], "/sign-in");

    // a wrong password: back to the form, saying so
    let wrong = console
        .post_form(
            "/sign-in",
            &cookies,
            &[("username", "ana"), ("password", "nope"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(wrong.status(), 303);
    assert_eq!(wrong.headers()["location"], "/sign-in?failed=1");
    let said = console.page("/sign-in?failed=1", &cookies).await;
    assert!(
        said.contains("The username or the password is wrong."),
        "{said}"
    );

    // a form without its CSRF token (sent from another site) is refused
    let forged = console
        .post_form(
            "/sign-in",
            "",
            &[("username", "ana"), ("password", PASSWORD), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(forged.status(), 403);

    // signed in: the session cookie is HttpOnly and SameSite=Strict, never in the page
    let signed = console
        .post_form(
            "/sign-in",
            &cookies,
            &[("username", "ana"), ("password", PASSWORD), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(signed.status(), 303);
    assert_eq!(signed.headers()["location"], "/");
    let session = set_cookie(signed.headers(), "adplat_session").expect("a session cookie");
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Strict"),
        "{session}"
    );
    let token = cookie_value(&session);
    // a new CSRF token comes with the session (one planted before is worth nothing)
    let rotated = cookie_value(&set_cookie(signed.headers(), "adplat_csrf").expect("rotated"));
    assert_ne!(rotated, csrf);
    let csrf = rotated;
    let cookies = format!("adplat_csrf={csrf}; adplat_session={token}");
    let list = console.get("/campaigns", &cookies).await;
    assert_eq!(list.status(), 200);
    let html = list.text().await.expect("html");
    assert!(html.contains("Winter boots"), "{html}");
    assert!(html.contains("draft"), "{html}");
    assert!(
        !html.contains("Bobs secret campaign"),
        "only ana's campaigns"
    );
    assert!(!html.contains(&token), "the token never reaches the page");

    // the campaign's own page, linked from the list; bob's campaign is not found, as is an id
    // that is not one
    let link = html
        .split("href=\"/campaigns/")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .find(|link| *link != "new")
        .expect("a link to the campaign");
    let page = console.get(&format!("/campaigns/{link}"), &cookies).await;
    assert_eq!(page.status(), 200);
    let detail = page.text().await.expect("html");
    assert!(detail.contains("<h1>Winter boots</h1>"), "{detail}");
    assert!(
        detail.contains("Daily budget") && detail.contains("50.00 EUR"),
        "{detail}"
    );
    assert!(detail.contains("America/New_York"), "{detail}");
    let bobs = console
        .get(&format!("/campaigns/{bob_campaign}"), &cookies)
        .await;
    assert_eq!(
        bobs.status(),
        404,
        "another advertiser's campaign is not found"
    );
    let bobs = bobs.text().await.expect("html");
    assert!(
        bobs.contains("Not found") && !bobs.contains("Bobs secret campaign"),
        "{bobs}"
    );
    assert_eq!(
        console.get("/campaigns/not-an-id", &cookies).await.status(),
        404
    );

    // a path the console does not have: the not-found page, 404
    let missing = console.get("/nowhere", &cookies).await;
    assert_eq!(missing.status(), 404);
    assert!(missing.text().await.expect("html").contains("Not found"));

    // signing out clears the session
    let out = console
        .post_form("/sign-out", &cookies, &[("csrf", &csrf)])
        .await;
    assert_eq!(out.status(), 303);
    let cleared = set_cookie(out.headers(), "adplat_session").expect("cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_refused_session_is_forgotten(pool: PgPool) {
    let console = Console::start(pool).await;
    let page = console.get("/sign-in", "").await;
    let csrf = cookie_value(&set_cookie(page.headers(), "adplat_csrf").expect("csrf"));

    // a session the API refuses (expired, revoked): to the sign-in page, the cookie cleared
    let stale = format!("adplat_csrf={csrf}; adplat_session=not-a-token");
    let away = console.get("/campaigns", &stale).await;
    assert!(away.status().is_redirection(), "{}", away.status());
    assert_eq!(away.headers()["location"], "/sign-in");
    let cleared = set_cookie(away.headers(), "adplat_session").expect("cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
}

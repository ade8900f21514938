//! Users after they are created: a role changed, a password set or changed, a user disabled,
//! enabled or deleted; each takes the user's existing tokens away at once on the instance that
//! made the change, within a reading on every other, and before a restarted one serves. An
//! advertiser's own people remove only the users they created.

use api::auth::Role;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::MIGRATOR;
use crate::helpers::{Reply, TestApp};

const PASSWORD: &str = "a long passphrase";

async fn sign_in(app: &TestApp, username: &str, password: &str) -> Reply {
    app.send(
        Method::POST,
        "/api/v1/auth/token",
        None,
        Some(json!({"grant_type": "password", "username": username, "password": password})),
        &[],
    )
    .await
}

async fn token_of(app: &TestApp, username: &str, password: &str) -> String {
    let reply = sign_in(app, username, password).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.str("access_token")
}

async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> Reply {
    app.send(method, path, Some(token), body, &[]).await
}

/// Reads every instance's revocations again, as their servers do every second.
async fn reload(app: &TestApp) {
    app.state
        .revocations
        .reload(&app.state.db, chrono::Utc::now(), 3600)
        .await
        .expect("reload");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_changed_disabled_or_deleted_user_loses_its_tokens_everywhere(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let other = TestApp::with_settings(pool.clone(), app.state.settings.clone()).await;
    let admin = app.token(Role::Admin, None);
    let created = app
        .post(
            "/api/v1/users",
            &admin,
            json!({"username": "olu", "password": PASSWORD, "role": "operator"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let olu = created.str("id");
    let user_path = format!("/api/v1/users/{olu}");
    let probe = "/api/v1/system/status";
    let works = |app: &TestApp, token: String| {
        let app = app.clone();
        async move { app.get(probe, &token).await.status }
    };

    // a new role: tokens of the old one stop here at once and on the other at its reading
    let token = token_of(&app, "olu", PASSWORD).await;
    assert_eq!(works(&other, token.clone()).await, StatusCode::OK);
    let changed = call(
        &app,
        Method::PATCH,
        &user_path,
        &admin,
        Some(json!({"role": "billing"})),
    )
    .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(changed.body["role"], "billing");
    assert_eq!(works(&app, token.clone()).await, StatusCode::UNAUTHORIZED);
    reload(&other).await;
    assert_eq!(works(&other, token).await, StatusCode::UNAUTHORIZED);
    let signed = sign_in(&app, "olu", PASSWORD).await;
    assert_eq!(signed.body["role"], "billing", "signs in with the new role");
    let token = signed.str("access_token");
    assert_eq!(works(&app, token.clone()).await, StatusCode::OK);

    // a password set by an admin: the old one and the old tokens stop
    let set = call(
        &app,
        Method::PUT,
        &format!("{user_path}/password"),
        &admin,
        Some(json!({"password": "a newer passphrase"})),
    )
    .await;
    assert_eq!(set.status, StatusCode::NO_CONTENT, "{}", set.body);
    assert_eq!(works(&app, token).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        sign_in(&app, "olu", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    let token = token_of(&app, "olu", "a newer passphrase").await;

    // disabled: no token holds and nobody signs in; enabled again, only new tokens hold
    let disabled = call(
        &app,
        Method::PATCH,
        &user_path,
        &admin,
        Some(json!({"disabled": true})),
    )
    .await;
    assert_eq!(disabled.body["disabled"], true, "{}", disabled.body);
    assert_eq!(disabled.body["role"], "billing", "the role stays");
    assert_eq!(works(&app, token.clone()).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        sign_in(&app, "olu", "a newer passphrase").await.status,
        StatusCode::UNAUTHORIZED
    );
    // a change that does not name `disabled` leaves it as it is
    let still = call(
        &app,
        Method::PATCH,
        &user_path,
        &admin,
        Some(json!({"role": "billing"})),
    )
    .await;
    assert_eq!(still.body["disabled"], true, "{}", still.body);
    assert_eq!(
        sign_in(&app, "olu", "a newer passphrase").await.status,
        StatusCode::UNAUTHORIZED
    );
    let enabled = call(
        &app,
        Method::PATCH,
        &user_path,
        &admin,
        Some(json!({"disabled": false})),
    )
    .await;
    assert_eq!(enabled.body["disabled"], false, "{}", enabled.body);
    assert_eq!(works(&app, token).await, StatusCode::UNAUTHORIZED);
    let token = token_of(&app, "olu", "a newer passphrase").await;
    assert_eq!(works(&app, token.clone()).await, StatusCode::OK);

    // deleted: gone from sign-in and from every instance, a restarted one included
    let deleted = call(&app, Method::DELETE, &user_path, &admin, None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    assert_eq!(works(&app, token.clone()).await, StatusCode::UNAUTHORIZED);
    let restarted = TestApp::with_settings(pool, app.state.settings.clone()).await;
    assert_eq!(works(&restarted, token).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        sign_in(&app, "olu", "a newer passphrase").await.status,
        StatusCode::UNAUTHORIZED
    );
    let again = call(
        &app,
        Method::PATCH,
        &user_path,
        &admin,
        Some(json!({"disabled": true})),
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    let taken = app
        .post(
            "/api/v1/users",
            &admin,
            json!({"username": "olu", "password": PASSWORD, "role": "operator"}),
        )
        .await;
    assert_eq!(
        taken.status,
        StatusCode::CONFLICT,
        "a deleted user's name stays taken"
    );

    // every change is in the audit trail, without a password hash
    while app.state.audit.chain(100).await.expect("chain") > 0 {}
    let trail = app.get("/api/v1/audit?limit=50", &admin).await;
    let actions: Vec<&str> = trail.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["object"] == format!("user:{olu}"))
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in ["user.create", "user.update", "user.password", "user.delete"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    assert!(
        !trail.body.to_string().contains("argon2"),
        "no hash recorded"
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_user_changes_their_own_password_only_with_the_current_one(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let admin = app.token(Role::Admin, None);
    let advertiser = app.advertiser("Own Password Co").await;
    let created = app
        .post(
            &format!("/api/v1/advertisers/{advertiser}/users"),
            &admin,
            json!({"username": "ana", "password": PASSWORD}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let token = token_of(&app, "ana", PASSWORD).await;
    let change =
        |current: &str, new: &str| json!({"current_password": current, "new_password": new});
    let wrong = call(
        &app,
        Method::PUT,
        "/api/v1/auth/password",
        &token,
        Some(change("not my password", "a newer passphrase")),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.body);
    let short = call(
        &app,
        Method::PUT,
        "/api/v1/auth/password",
        &token,
        Some(change(PASSWORD, "short")),
    )
    .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(short.error_fields(), ["new_password"]);
    let changed = call(
        &app,
        Method::PUT,
        "/api/v1/auth/password",
        &token,
        Some(change(PASSWORD, "a newer passphrase")),
    )
    .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{}", changed.body);
    let own = format!("/api/v1/advertisers/{advertiser}");
    assert_eq!(app.get(&own, &token).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        sign_in(&app, "ana", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    let token = token_of(&app, "ana", "a newer passphrase").await;
    assert_eq!(app.get(&own, &token).await.status, StatusCode::OK);
    // an API key has no password to change
    let key_token = app.token(Role::Operator, None);
    let keyed = call(
        &app,
        Method::PUT,
        "/api/v1/auth/password",
        &key_token,
        Some(change(PASSWORD, "a newer passphrase")),
    )
    .await;
    assert_eq!(keyed.status, StatusCode::FORBIDDEN);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_advertisers_user_removes_only_the_users_it_created(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let operator = app.token(Role::Operator, None);
    let admin = app.token(Role::Admin, None);
    let acme = app.advertiser("Acme Users").await;
    let other = app.advertiser("Other Users").await;
    let users = format!("/api/v1/advertisers/{acme}/users");
    let create = |token: String, name: &'static str| {
        let (app, users) = (app.clone(), users.clone());
        async move {
            let r = app
                .post(
                    &users,
                    &token,
                    json!({"username": name, "password": PASSWORD}),
                )
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
            r.str("id")
        }
    };
    let ana = create(operator.clone(), "ana.acme").await;
    let carol = create(operator.clone(), "carol.acme").await;
    let ana_token = token_of(&app, "ana.acme", PASSWORD).await;
    let bob = create(ana_token.clone(), "bob.acme").await;
    let bob_token = token_of(&app, "bob.acme", PASSWORD).await;
    let user = |id: &str| format!("{users}/{id}");

    // ana disables and removes bob, whom she created; bob's token stops at once
    let disabled = call(
        &app,
        Method::PATCH,
        &user(&bob),
        &ana_token,
        Some(json!({"disabled": true})),
    )
    .await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.body);
    assert_eq!(
        app.get(&users, &bob_token).await.status,
        StatusCode::UNAUTHORIZED
    );
    let removed = call(&app, Method::DELETE, &user(&bob), &ana_token, None).await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.body);
    let listed = app.get(&users, &ana_token).await;
    let names: Vec<&str> = listed
        .body
        .as_array()
        .expect("users")
        .iter()
        .filter_map(|u| u["username"].as_str())
        .collect();
    assert_eq!(
        names,
        ["ana.acme", "carol.acme"],
        "a removed user is not listed"
    );

    // not carol, whom an operator created; not herself; nobody of another advertiser
    let refused = call(&app, Method::DELETE, &user(&carol), &ana_token, None).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    let herself = call(&app, Method::DELETE, &user(&ana), &ana_token, None).await;
    assert_eq!(herself.status, StatusCode::CONFLICT, "{}", herself.body);
    let elsewhere = call(
        &app,
        Method::DELETE,
        &format!("/api/v1/advertisers/{other}/users/{carol}"),
        &ana_token,
        None,
    )
    .await;
    assert_eq!(elsewhere.status, StatusCode::NOT_FOUND);
    // an operator may remove carol; through another advertiser's path she is not found
    let wrong_path = call(
        &app,
        Method::DELETE,
        &format!("/api/v1/advertisers/{other}/users/{carol}"),
        &operator,
        None,
    )
    .await;
    assert_eq!(wrong_path.status, StatusCode::NOT_FOUND);
    let by_operator = call(&app, Method::DELETE, &user(&carol), &operator, None).await;
    assert_eq!(by_operator.status, StatusCode::NO_CONTENT);

    // an admin changes nobody's standing of their own, and only admins change roles
    let me = api::auth::Principal::staff(Role::Admin);
    let admin_user = app
        .post(
            "/api/v1/users",
            &admin,
            json!({"username": "root.two", "password": PASSWORD, "role": "admin"}),
        )
        .await;
    let root_two = token_of(&app, "root.two", PASSWORD).await;
    let own = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/users/{}", admin_user.str("id")),
        &root_two,
        Some(json!({"role": "operator"})),
    )
    .await;
    assert_eq!(own.status, StatusCode::CONFLICT, "{}", own.body);
    // nor is the last active admin removed, by anyone
    let last = call(
        &app,
        Method::DELETE,
        &format!("/api/v1/users/{}", admin_user.str("id")),
        &admin,
        None,
    )
    .await;
    assert_eq!(last.status, StatusCode::CONFLICT, "{}", last.body);
    assert!(
        last.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("last active admin"))
    );
    let by_operator = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/users/{ana}"),
        &operator,
        Some(json!({"role": "admin"})),
    )
    .await;
    assert_eq!(by_operator.status, StatusCode::FORBIDDEN);
    let unscoped = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/users/{ana}"),
        &app.token_of(&me),
        Some(json!({"role": "advertiser"})),
    )
    .await;
    assert_eq!(unscoped.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unscoped.error_fields(), ["advertiser_id"]);
}

/// A reading of the revocations that began before this instance's own change committed does not
/// undo the change: this instance's changes of the last seconds stand beside what it reads.
#[sqlx::test(migrator = "MIGRATOR")]
async fn a_reading_never_undoes_this_instances_own_recent_change(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let user = uuid::Uuid::now_v7();
    let standing = api::auth::revocations::Standing {
        version: 5,
        barred: true,
    };
    app.state.revocations.add(user, standing);
    // the database knows nothing of it yet (the reading ran before the commit)
    reload(&app).await;
    assert!(app.state.revocations.refuses(user, 9), "still barred here");
}

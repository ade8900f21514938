//! The admin API on a loopback port, an admin to sign in as, a configuration folder of the
//! test's own, and `adctl` run against them.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;
use sqlx::PgPool;

const ADCTL: &str = env!("CARGO_BIN_EXE_adctl");

/// The admin's password.
pub const PASSWORD: &str = "a long passphrase for tests";

/// What a run of `adctl` came to.
#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// Its standard output as JSON (the run must have succeeded).
    pub fn json(&self) -> Value {
        assert_eq!(self.code, 0, "{self:?}");
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }
}

/// The API being driven, and where `adctl` keeps its profiles.
pub struct Platform {
    pub url: String,
    pub state: api::AppState,
    pub config_home: PathBuf,
    server: tokio::task::JoinHandle<()>,
}

impl Platform {
    /// Serves the API over `pool` and creates the admin `admin`.
    pub async fn start(pool: PgPool) -> Platform {
        let settings = api::Settings::local(&test_support::redis_url(), "adctl-test").expect("key");
        let state = api::server::state_over(pool.clone(), settings, api::server::system_clock())
            .await
            .expect("state");
        api::server::bootstrap_admin(&pool, "admin", PASSWORD)
            .await
            .expect("admin");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("port");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let router = api::router(state.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        let config_home =
            std::env::temp_dir().join(format!("adctl-test-{}", uuid::Uuid::now_v7().simple()));
        Platform {
            url,
            state,
            config_home,
            server,
        }
    }

    /// Runs `adctl args`, with `stdin` on its standard input, as an operator's shell would (its
    /// own configuration folder, nothing else of this machine's environment).
    pub async fn adctl(&self, args: &[&str], stdin: Option<&str>) -> Outcome {
        self.adctl_with(args, stdin, &[]).await
    }

    /// [`Platform::adctl`] with these environment variables set too.
    pub async fn adctl_with(
        &self,
        args: &[&str],
        stdin: Option<&str>,
        env: &[(&str, &str)],
    ) -> Outcome {
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let stdin = stdin.map(str::to_owned);
        let config_home = self.config_home.clone();
        tokio::task::spawn_blocking(move || run(&args, stdin, &config_home, &env))
            .await
            .expect("adctl ran")
    }

    /// `adctl ARGS -o json`, which must succeed, parsed.
    pub async fn json(&self, args: &[&str]) -> Value {
        let mut args = args.to_vec();
        args.extend(["-o", "json"]);
        self.adctl(&args, None).await.json()
    }

    /// Creates an advertiser with `adctl advertisers create`: its id.
    pub async fn advertiser(&self, name: &str, currency: &str) -> String {
        let created = self
            .json(&[
                "advertisers",
                "create",
                "--name",
                name,
                "--currency",
                currency,
            ])
            .await;
        created["id"]
            .as_str()
            .expect("an advertiser's id")
            .to_owned()
    }

    /// A new advertiser `name` (USD) with 500.00 deposited and the example campaign, through
    /// adctl, activated: (advertiser id, campaign id).
    pub async fn active_campaign(&self, name: &str) -> (String, String) {
        let advertiser = self.advertiser(name, "USD").await;
        self.json(&["funds", "deposit", &advertiser, "500"]).await;
        let file = self.file("campaign.json", &crate::campaigns::settings());
        let created = self
            .json(&[
                "campaigns",
                "create",
                "-f",
                &file,
                "--advertiser",
                &advertiser,
            ])
            .await;
        let id = created["id"].as_str().expect("id").to_owned();
        self.json(&["campaigns", "activate", &id]).await;
        (advertiser, id)
    }

    /// Logs in as the admin.
    pub async fn login(&self) {
        let outcome = self
            .adctl(
                &[
                    "login",
                    "--url",
                    &self.url,
                    "--username",
                    "admin",
                    "--password-stdin",
                ],
                Some(PASSWORD),
            )
            .await;
        assert_eq!(outcome.code, 0, "{outcome:?}");
    }

    /// Moves what waits in the audit outbox into the chain (a served API's background task does
    /// this every few seconds; the router served here runs none).
    pub async fn chain_audit(&self) {
        self.state.audit.chain(100_000).await.expect("chained");
    }

    /// A file holding `value` as JSON, for `-f`.
    pub fn file(&self, name: &str, value: &Value) -> String {
        std::fs::create_dir_all(&self.config_home).expect("folder");
        let path = self.config_home.join(name);
        std::fs::write(&path, value.to_string()).expect("file");
        path.display().to_string()
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        self.server.abort();
        let _ = std::fs::remove_dir_all(&self.config_home);
    }
}

fn run(
    args: &[String],
    stdin: Option<String>,
    config_home: &std::path::Path,
    env: &[(String, String)],
) -> Outcome {
    let mut child = Command::new(ADCTL)
        .args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("XDG_CONFIG_HOME", config_home)
        .env("HOME", config_home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("adctl starts");
    {
        use std::io::Write;
        let mut input = child.stdin.take().expect("stdin");
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).expect("stdin written");
        }
    }
    let output = child.wait_with_output().expect("adctl ends");
    Outcome {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

//! A real browser for the journeys: Debian's chromium, headless, driven through chromium-driver
//! (WebDriver), with or without JavaScript. Each page it is asked to can be photographed (saved
//! under build/console-screenshots/) and checked with axe-core for accessibility.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// Where the journeys' screenshots go.
pub const SCREENSHOTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../build/console-screenshots");
/// axe-core, as scripts/services installs it from npm.
const AXE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../build/tools/node_modules/axe-core/axe.min.js"
);

/// A headless chromium on one journey.
pub struct Browser {
    client: Client,
    driver: Child,
    base: String,
    shots: PathBuf,
    taken: usize,
    javascript: bool,
}

impl Browser {
    /// A browser on the console at `base`, photographing into `journey`'s folder.
    pub async fn start(base: &str, journey: &str, javascript: bool) -> Browser {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (Debian's chromium-driver; scripts/services installs it)");
        let mut prefs = json!({});
        if !javascript {
            prefs["profile.managed_default_content_settings.javascript"] = json!(2);
        }
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,1000", "--lang=en-GB"],
                "prefs": prefs,
            },
        });
        let mut builder =
            ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
        builder.capabilities(capabilities.as_object().expect("an object").clone());
        let mut client = None;
        for _ in 0..100 {
            match builder.connect(&format!("http://127.0.0.1:{port}")).await {
                Ok(c) => {
                    client = Some(c);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        let shots = PathBuf::from(SCREENSHOTS).join(journey);
        let _ = std::fs::remove_dir_all(&shots);
        std::fs::create_dir_all(&shots).expect("the screenshots' folder");
        Browser {
            client: client.expect("chromedriver answers"),
            driver,
            base: base.to_owned(),
            shots,
            taken: 0,
            javascript,
        }
    }

    /// Goes to `path` on the console.
    pub async fn open(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .expect("goto");
        self.ready().await;
    }

    /// Waits for the page to be there (and, with JavaScript, hydrated).
    async fn ready(&self) {
        let wanted = if self.javascript {
            "html[data-hydrated]"
        } else {
            "body"
        };
        self.client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(wanted))
            .await
            .unwrap_or_else(|e| panic!("the page did not become ready ({wanted}): {e}"));
    }

    /// The path and query of the page.
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("url");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// Types `value` into the field named `name` (cleared first).
    pub async fn fill(&self, name: &str, value: &str) {
        self.fill_at(&format!("[name=\"{name}\"]"), value).await;
    }

    /// Types `value` into the field `css` (cleared first).
    pub async fn fill_at(&self, css: &str, value: &str) {
        let field = self
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no field {css}: {e}"));
        field.clear().await.expect("clear");
        field.send_keys(value).await.expect("type");
    }

    /// Clicks the element `css`, then waits for the page that follows.
    pub async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("nothing to click at {css}: {e}"))
            .click()
            .await
            .expect("click");
    }

    /// Clicks the submit button `css` and waits for the next page (until `arrives` is there).
    pub async fn submit(&self, css: &str, arrives: &str) {
        self.click(css).await;
        self.client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(arrives))
            .await
            .unwrap_or_else(|e| panic!("after {css}, no {arrives}: {e}"));
        self.ready().await;
    }

    /// The text of the element `css`.
    pub async fn text(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
            .text()
            .await
            .expect("text")
    }

    /// The value of attribute `name` of the element `css`.
    pub async fn attribute(&self, css: &str, name: &str) -> Option<String> {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
            .attr(name)
            .await
            .expect("attribute")
    }

    /// The whole page's text.
    pub async fn page_text(&self) -> String {
        self.text("body").await
    }

    /// Saves a screenshot of the page as `NN-name.png`.
    pub async fn shot(&mut self, name: &str) {
        self.taken += 1;
        let png = self.client.screenshot().await.expect("screenshot");
        let file = self.shots.join(format!("{:02}-{name}.png", self.taken));
        std::fs::write(&file, png).expect("write the screenshot");
    }

    /// Types `text` into whatever has the keyboard's focus (WebDriver key codes such as
    /// `fantoccini::key::Key::Tab` included), then waits for `arrives` when given.
    pub async fn keys(&self, text: &str, arrives: Option<&str>) {
        self.client
            .active_element()
            .await
            .expect("a focused element")
            .send_keys(text)
            .await
            .expect("keys");
        if let Some(arrives) = arrives {
            self.client
                .wait()
                .at_most(Duration::from_secs(20))
                .for_element(Locator::Css(arrives))
                .await
                .unwrap_or_else(|e| panic!("after the keys, no {arrives}: {e}"));
            self.ready().await;
        }
    }

    /// Makes the window `width` by `height` pixels.
    pub async fn resize(&self, width: u32, height: u32) {
        self.client
            .set_window_size(width, height)
            .await
            .expect("resize");
    }

    /// Whether the page fits the window's width (nothing to scroll sideways but what scrolls in
    /// its own box, such as a wide table).
    pub async fn fits_the_width(&self) -> bool {
        self.client
            .execute(
                "return document.documentElement.scrollWidth <= window.innerWidth;",
                Vec::new(),
            )
            .await
            .expect("measured")
            .as_bool()
            .unwrap_or(false)
    }

    /// Runs axe-core on the page: no serious or critical violation of WCAG 2.1 A and AA.
    pub async fn check_accessibility(&self, page: &str) {
        let axe = std::fs::read_to_string(AXE)
            .expect("axe-core (scripts/services installs it into build/tools)");
        self.client
            .execute(&format!("{axe}\nreturn true;"), Vec::new())
            .await
            .expect("axe-core loads");
        let found = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']})
                   .then(r => done(r.violations
                     .filter(v => v.impact === 'serious' || v.impact === 'critical')
                     .map(v => v.id + ' (' + v.impact + '): ' + v.help + ' at '
                        + v.nodes.map(n => n.target.join(' ')).join(', '))))
                   .catch(e => done(['axe failed: ' + e]));",
                Vec::new(),
            )
            .await
            .expect("axe runs");
        let violations: Vec<Value> = found.as_array().cloned().unwrap_or_default();
        assert!(
            violations.is_empty(),
            "{page}: accessibility violations: {violations:#?}"
        );
    }

    /// Closes the browser.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}

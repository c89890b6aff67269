//! `siyu demo`: seed a realistic brand (deterministic) and serve it. (Filled in by the demo work.)

use std::path::Path;

use siyu_app::Settings;

pub async fn run(
    mut settings: Settings,
    file: &Path,
    _customers: u32,
    listen: &str,
    no_serve: bool,
) -> anyhow::Result<()> {
    settings.database.url = format!("sqlite://{}", file.display());
    settings.server.listen = listen.to_string();
    let app = siyu_app::App::connect(settings, true).await?;
    if no_serve {
        return Ok(());
    }
    crate::server::run_server(app, true, crate::server::shutdown_on_signal(), |url| {
        println!("siyu demo: {url}/console")
    })
    .await
}

//! `siyu serve` and `siyu worker`: listeners, metrics, graceful shutdown.

use std::time::Duration;

use siyu_app::{App, Settings};
use tokio_util::sync::CancellationToken;

/// Cancels the token on Ctrl-C or SIGTERM.
pub fn shutdown_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for SIGTERM");
                    let _ = ctrl_c.await;
                    t.cancel();
                    return;
                }
            };
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("shutdown requested: finishing in-flight work");
        t.cancel();
    });
    token
}

pub async fn serve(settings: Settings, migrate: bool, with_worker: bool) -> anyhow::Result<()> {
    let app = App::connect(settings, migrate).await?;
    run_server(app, with_worker, shutdown_on_signal(), |url| tracing::info!(%url, "console ready")).await
}

/// Runs the HTTP server (and optionally a worker) for `app` until `shutdown`.
pub async fn run_server(
    app: App,
    with_worker: bool,
    shutdown: CancellationToken,
    ready: impl FnOnce(String),
) -> anyhow::Result<()> {
    let listen = app.settings.server.listen.clone();
    let listener =
        tokio::net::TcpListener::bind(&listen).await.map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    if let Some(handle) = siyu_web::install_metrics() {
        let metrics_listen = app.settings.server.metrics_listen.clone();
        match tokio::net::TcpListener::bind(&metrics_listen).await {
            Ok(ml) => {
                let token = shutdown.clone();
                tokio::spawn(async move {
                    if let Err(e) = siyu_web::serve(ml, siyu_web::metrics_router(handle), token).await {
                        tracing::warn!(error = %e, "metrics listener stopped");
                    }
                });
                tracing::info!(addr = %metrics_listen, "metrics on /metrics");
            }
            Err(e) => tracing::warn!(error = %e, addr = %metrics_listen, "metrics listener not started"),
        }
    }
    let worker = with_worker.then(|| {
        let (app, token) = (app.clone(), shutdown.clone());
        tokio::spawn(async move { app.work(token).await })
    });
    let grace = Duration::from_secs(app.settings.server.shutdown_grace_secs);
    let router = siyu_web::router(app.clone());
    ready(format!("http://{}", listener.local_addr()?));
    let server = siyu_web::serve(listener, router, shutdown.clone());
    let mut server = std::pin::pin!(server);
    tokio::select! {
        r = &mut server => r?,
        _ = async { shutdown.cancelled().await; tokio::time::sleep(grace).await } => {
            tracing::warn!("grace period over: closing remaining connections");
        }
    }
    if let Some(w) = worker {
        let _ = w.await;
    }
    app.store.close().await;
    tracing::info!("stopped");
    Ok(())
}

pub async fn worker(settings: Settings) -> anyhow::Result<()> {
    let app = App::connect(settings, false).await?;
    tracing::info!("worker started");
    app.work(shutdown_on_signal()).await;
    app.store.close().await;
    Ok(())
}

//! Concerto's HTTP API: actix-web handlers (thin: parse, call the store, map), authentication,
//! the problem+json error mapping and the OpenAPI document.

pub mod auth;
pub mod config;
pub mod demo;
pub mod error;
pub mod openapi;
pub mod routes;
pub mod state;

use std::net::TcpListener;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::{Logger, Next, from_fn};
use actix_web::{App, HttpResponse, HttpServer, web};
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::state::AppState;

/// Largest JSON body accepted (a clinical summary is text, not a document upload).
const JSON_LIMIT: usize = 256 * 1024;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The application: routes, extractor error mapping, request ids, access log, docs.
pub fn app(
    state: AppState,
    doc: utoipa::openapi::OpenApi,
) -> App<
    impl ServiceFactory<ServiceRequest, Config = (), Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error, InitError = ()>,
> {
    let known = web::Data::new(routes::fallback::KnownPaths::from_document(&doc));
    App::new()
        .into_utoipa_app()
        .app_data(web::Data::new(state))
        .app_data(web::JsonConfig::default().limit(JSON_LIMIT).error_handler(error::json_error))
        .app_data(web::QueryConfig::default().error_handler(error::query_error))
        .app_data(web::PathConfig::default().error_handler(error::path_error))
        // Before the API scope, which would otherwise answer 404 for /api/v1/openapi.json.
        .map(|app| {
            app.route("/docs", web::get().to(|| async { HttpResponse::PermanentRedirect().insert_header(("Location", "/docs/")).finish() }))
                .service(SwaggerUi::new("/docs/{_:.*}").url("/api/v1/openapi.json", doc))
        })
        .configure(routes::probes)
        .service(utoipa_actix_web::scope("/api/v1").configure(routes::api_v1))
        .into_app()
        .app_data(known)
        .default_service(web::to(routes::fallback::unknown_route))
        .wrap(from_fn(drop_empty_query_parameters))
        .wrap(from_fn(request_id))
        // Path only (%U), never the query string: searches carry patient names.
        .wrap(Logger::new("%{method}xi %U %s %Dms rid=%{x-request-id}o").custom_request_replace("method", |req| req.method().to_string()))
}

/// One rule for every operation: an empty query parameter (`cursor=`, `limit=`, `q=`, or a bare
/// `q`) is the same as an absent one, so a client that fills a form field with nothing is not
/// refused. The query string is rewritten before any extractor reads it.
async fn drop_empty_query_parameters(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let kept = req
        .uri()
        .query()
        .filter(|q| q.split('&').any(|pair| pair.split_once('=').is_none_or(|(_, v)| v.is_empty())))
        .map(|q| q.split('&').filter(|pair| pair.split_once('=').is_some_and(|(_, v)| !v.is_empty())).collect::<Vec<_>>().join("&"));
    if let Some(kept) = kept {
        let path_and_query = if kept.is_empty() { req.path().to_owned() } else { format!("{}?{kept}", req.path()) };
        let mut parts = req.uri().clone().into_parts();
        if let Ok(pq) = path_and_query.parse() {
            parts.path_and_query = Some(pq);
            if let Ok(uri) = actix_web::http::Uri::from_parts(parts) {
                req.match_info_mut().get_mut().update(&uri);
                req.head_mut().uri = uri;
            }
        }
    }
    next.call(req).await
}

/// Tags every answer with an `x-request-id`: the caller's when it sent a sane one, else a new one.
async fn request_id(req: ServiceRequest, next: Next<impl MessageBody>) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let mut res = next.call(req).await?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, value);
    }
    Ok(res)
}

/// An HTTP server on a bound listener (the binary binds `CONCERTO_BIND`, tests bind port 0).
pub fn server(state: AppState, listener: TcpListener, workers: usize) -> std::io::Result<Server> {
    let doc = openapi::document().map_err(std::io::Error::other)?;
    Ok(HttpServer::new(move || app(state.clone(), doc.clone())).workers(workers).listen(listener)?.run())
}

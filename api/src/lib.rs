//! Concerto's HTTP API: actix-web handlers (thin: parse, call the store, map), authentication,
//! the problem+json error mapping and the OpenAPI document.

pub mod auth;
pub mod caller;
pub mod config;
pub mod demo;
pub mod error;
pub mod fhir;
pub mod json;
#[cfg(test)]
mod layers;
pub mod oidc;
pub mod openapi;
pub mod precondition;
pub mod routes;
pub mod state;
pub mod terminology;
pub mod throttle;
pub mod views;

use std::net::TcpListener;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, ContentType, HeaderName, HeaderValue};
use actix_web::middleware::{Condition, Logger, Next, from_fn};
use actix_web::{App, HttpResponse, HttpServer, web};
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::state::AppState;

/// Largest JSON body accepted (a clinical summary is text, not a document upload).
const JSON_LIMIT: usize = 256 * 1024;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// How the HTTP server runs, beside the application state.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Worker threads.
    pub workers: usize,
    /// Browser origins allowed to call the API (CORS); empty, no cross-origin call is allowed.
    pub cors_origins: Vec<String>,
    /// Seconds given to in-flight requests to finish after SIGTERM before the process exits.
    pub shutdown_timeout_seconds: u64,
}

impl ServeOptions {
    /// `workers` threads, CORS closed, the default shutdown grace.
    pub fn new(workers: usize) -> Self {
        Self { workers, cors_origins: Vec::new(), shutdown_timeout_seconds: config::DEFAULT_SHUTDOWN_TIMEOUT_SECONDS }
    }
}

/// The CORS policy of `origins`: those origins only, the methods and headers the API uses,
/// the headers a front end reads (`ETag`, `Location`, `Retry-After`, `x-request-id`), and the
/// session headers a front end sends (`X-Concerto-Background`, `X-Concerto-Refresh`). No
/// credentials mode: the refresh cookie is for a front end served from the API's own site.
fn cors(origins: &[String]) -> actix_cors::Cors {
    use actix_web::http::{Method, header};
    let policy = origins.iter().fold(actix_cors::Cors::default(), |c, o| c.allowed_origin(o));
    policy
        .allowed_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::IF_MATCH,
            REQUEST_ID,
            header::HeaderName::from_static(crate::caller::BACKGROUND_HEADER),
            header::HeaderName::from_static(routes::session::REFRESH_HEADER),
        ])
        .expose_headers([header::ETAG, header::LOCATION, header::RETRY_AFTER, header::CONTENT_DISPOSITION, REQUEST_ID])
        .max_age(3600)
}

/// Where the document is served, as JSON.
const OPENAPI_JSON: &str = "/api/v1/openapi.json";

/// The OpenAPI document as every worker's app serves and reads it: built once, since each copy
/// of utoipa's typed document took about 6 MB, and the server kept one per worker and two more.
#[derive(Clone)]
pub struct Docs {
    json: web::Bytes,
    known: web::Data<routes::fallback::KnownPaths>,
}

impl Docs {
    /// The document of [`openapi::document`], serialized, and the paths it knows.
    pub fn new() -> Result<Self, String> {
        let doc = openapi::document()?;
        let json = serde_json::to_vec(&doc).map_err(|e| e.to_string())?;
        Ok(Self { json: json.into(), known: web::Data::new(routes::fallback::KnownPaths::from_document(&doc)) })
    }
}

/// The application: routes, extractor error mapping, request ids, access log, docs; CORS for
/// `cors_origins` only (none: closed).
pub fn app(
    state: AppState,
    docs: Docs,
    cors_origins: Vec<String>,
) -> App<
    impl ServiceFactory<ServiceRequest, Config = (), Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error, InitError = ()>,
> {
    let Docs { json, known } = docs;
    App::new()
        .into_utoipa_app()
        .app_data(web::Data::new(state))
        .app_data(web::JsonConfig::default().limit(JSON_LIMIT).error_handler(error::json_error))
        .app_data(web::QueryConfig::default().error_handler(error::query_error))
        .app_data(web::PathConfig::default().error_handler(error::path_error))
        // Before the API scope, which would otherwise answer 404 for /api/v1/openapi.json.
        .map(|app| {
            app.route("/docs", web::get().to(|| async { HttpResponse::PermanentRedirect().insert_header(("Location", "/docs/")).finish() }))
                .route(
                    OPENAPI_JSON,
                    web::get().to(move || std::future::ready(HttpResponse::Ok().content_type(ContentType::json()).body(json.clone()))),
                )
                .service(SwaggerUi::new("/docs/{_:.*}").config(utoipa_swagger_ui::Config::new([OPENAPI_JSON])))
        })
        .configure(routes::probes)
        .service(utoipa_actix_web::scope("/api/v1").configure(routes::api_v1))
        .into_app()
        // The FHIR façade, outside `/api/v1` and outside the OpenAPI document.
        .configure(fhir::routes)
        .app_data(known)
        .default_service(web::to(routes::fallback::unknown_route))
        .wrap(from_fn(drop_empty_query_parameters))
        .wrap(Condition::new(!cors_origins.is_empty(), cors(&cors_origins)))
        .wrap(from_fn(security_headers))
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

/// Every answer: `X-Content-Type-Options: nosniff` (no browser guesses a type from bytes users
/// uploaded), and `Cache-Control: no-store` on everything but the static docs page, since most
/// answers carry patient data or tokens and no cache, shared or private, may keep them.
async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let cacheable = req.path().starts_with("/docs");
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if !cacheable {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(res)
}

/// An HTTP server on a bound listener (the binary binds `CONCERTO_BIND`, tests bind port 0).
pub fn server(state: AppState, listener: TcpListener, workers: usize) -> std::io::Result<Server> {
    serve(state, listener, ServeOptions::new(workers))
}

/// [`server`] with every option. On SIGTERM or SIGINT it stops accepting connections and gives
/// in-flight requests `shutdown_timeout_seconds` to finish before the process exits.
pub fn serve(state: AppState, listener: TcpListener, options: ServeOptions) -> std::io::Result<Server> {
    let docs = Docs::new().map_err(std::io::Error::other)?;
    let origins = options.cors_origins.clone();
    Ok(HttpServer::new(move || app(state.clone(), docs.clone(), origins.clone()))
        .workers(options.workers)
        .shutdown_timeout(options.shutdown_timeout_seconds)
        .listen(listener)?
        .run())
}

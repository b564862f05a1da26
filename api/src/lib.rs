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
        .default_service(web::to(error::unknown_route))
        .wrap(from_fn(request_id))
        // Path only (%U), never the query string: searches carry patient names.
        .wrap(Logger::new("%{method}xi %U %s %Dms rid=%{x-request-id}o").custom_request_replace("method", |req| req.method().to_string()))
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
    let doc = openapi::document();
    Ok(HttpServer::new(move || app(state.clone(), doc.clone())).workers(workers).listen(listener)?.run())
}

//! Authentication: argon2id passwords, HS256 access tokens, and the `Caller` extractor that
//! reloads the caller's rights from the database on every request.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header, web};
use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use concerto_domain::principal::Principal;
use concerto_domain::professional::Professional;
use concerto_persistence::accounts::LoadedCaller;
use concerto_persistence::affiliations::ActingForNamed;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::state::AppState;

const ISSUER: &str = "concerto";

/// The claims of an access token: who (`sub`, an account id) and until when. Rights are not in
/// the token: they are read from the database on each request.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    iss: String,
    iat: i64,
    exp: i64,
}

/// Keys and lifetime of the access tokens.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// Lifetime of a token, in seconds.
    pub ttl_seconds: i64,
}

impl TokenKeys {
    /// Keys for an HS256 secret.
    pub fn new(secret: &[u8], ttl_seconds: i64) -> Self {
        Self { encoding: EncodingKey::from_secret(secret), decoding: DecodingKey::from_secret(secret), ttl_seconds }
    }

    /// Issues a token for an account.
    pub fn issue(&self, account_id: &str) -> Result<String, ApiError> {
        let iat = chrono::Utc::now().timestamp();
        let claims = Claims { sub: account_id.to_owned(), iss: ISSUER.to_owned(), iat, exp: iat + self.ttl_seconds };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(|e| ApiError::Internal(e.to_string()))
    }

    /// The account id of a valid token: HS256 only (no `none`, no other algorithm), our issuer,
    /// not expired (5 s of leeway for clock skew).
    pub fn verify(&self, token: &str) -> Result<String, ApiError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iat", "sub", "iss"]);
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation).map(|d| d.claims.sub).map_err(|_| invalid_token())
    }
}

fn invalid_token() -> ApiError {
    ApiError::Unauthorized { code: "invalid_token", detail: "a valid, unexpired bearer token is required".to_owned() }
}

/// Hashes a password with argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> Result<String, ApiError> {
    Argon2::default().hash_password(password.as_bytes()).map(|h| h.to_string()).map_err(|e| ApiError::Internal(e.to_string()))
}

/// Checks a password against a PHC string; any malformed hash counts as a mismatch.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok()).unwrap_or(false)
}

/// The authenticated caller of a request, with the relations the rules decide on.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Rights and relations, fresh from the database.
    pub principal: Principal,
    /// The professional behind the account.
    pub professional: Professional,
    /// For a secretary: the physicians she acts for, with their names (for `/me`).
    pub acting_for: Vec<ActingForNamed>,
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(|t| t.trim().to_owned());
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::Internal("application state missing".to_owned()))?;
            let account_id = state.tokens.verify(&token.ok_or_else(invalid_token)?)?;
            let loaded = state.db(move |c| concerto_persistence::accounts::load_caller(c, &account_id)).await?;
            let LoadedCaller { principal, professional, acting_for } = loaded.ok_or_else(invalid_token)?;
            Ok(Caller { principal, professional, acting_for })
        })
    }
}

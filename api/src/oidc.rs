//! Pro Santé Connect (OpenID Connect) as Concerto's client: the settings, the provider's
//! discovery document (fetched at the first login, never at start-up, kept an hour), the
//! authorization URL, and the callback's checks (code exchange with PKCE, ID token: issuer,
//! audience, expiry, nonce, signature among RS256/ES256 only; userinfo as JSON or a signed JWT
//! verified with the provider's keys). Blocking HTTP (ureq): call it inside `web::block`.
//! Nothing here logs a token or a code.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreIdTokenVerifier, CoreJsonWebKeySet, CoreJwsSigningAlgorithm,
    CoreProviderMetadata,
};
use openidconnect::{
    AdditionalClaims, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, SyncHttpClient, TokenResponse, UserInfoClaims,
};
use serde::{Deserialize, Serialize};

/// The reason of a failure to fetch the discovery document or the keys (a 503).
pub const PROVIDER_UNAVAILABLE: &str = "provider_unavailable";
/// The shortest time between two fetches forced by a signature from an unknown key.
pub const REFETCH_AFTER: Duration = Duration::from_secs(60);
/// How long the discovery document and the keys are kept.
pub const DISCOVERY_TTL: Duration = Duration::from_secs(3600);
/// Default scopes (Pro Santé Connect's).
pub const DEFAULT_SCOPES: &str = "openid scope_all";
/// Default required authentication context class.
pub const DEFAULT_ACR: &str = "eidas1";
/// How long an attempt (state, nonce, PKCE verifier) waits for its callback.
pub const ATTEMPT_SECONDS: i64 = 600;

/// `CONCERTO_OIDC_*`: set `CONCERTO_OIDC_DISCOVERY_URL` to turn the login on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcSettings {
    /// `CONCERTO_OIDC_DISCOVERY_URL`: the full URL of the discovery document.
    pub discovery_url: String,
    /// `CONCERTO_OIDC_CLIENT_ID`.
    pub client_id: String,
    /// `CONCERTO_OIDC_CLIENT_SECRET`.
    pub client_secret: String,
    /// `CONCERTO_OIDC_REDIRECT_URL`: this server's `/api/v1/auth/oidc/callback` as registered.
    pub redirect_url: String,
    /// `CONCERTO_OIDC_SCOPES` (space-separated; `openid scope_all` by default).
    pub scopes: String,
    /// `CONCERTO_OIDC_REQUIRED_ACR` (`eidas1` by default): the lowest acr accepted.
    pub required_acr: String,
    /// The shortest time between two fetches of the keys forced by a signature from an unknown
    /// key ([`REFETCH_AFTER`]; tests shorten it).
    pub key_refetch_after: Duration,
}

impl OidcSettings {
    /// From the environment: `None` when `CONCERTO_OIDC_DISCOVERY_URL` is unset or empty.
    pub fn from_env() -> Option<Self> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        Some(Self {
            discovery_url: var("CONCERTO_OIDC_DISCOVERY_URL")?,
            client_id: var("CONCERTO_OIDC_CLIENT_ID").unwrap_or_default(),
            client_secret: var("CONCERTO_OIDC_CLIENT_SECRET").unwrap_or_default(),
            redirect_url: var("CONCERTO_OIDC_REDIRECT_URL").unwrap_or_default(),
            scopes: var("CONCERTO_OIDC_SCOPES").unwrap_or_else(|| DEFAULT_SCOPES.to_owned()),
            required_acr: var("CONCERTO_OIDC_REQUIRED_ACR").unwrap_or_else(|| DEFAULT_ACR.to_owned()),
            key_refetch_after: REFETCH_AFTER,
        })
    }
}

/// The rank of an eIDAS level of assurance as Pro Santé Connect names it; `None` for any other.
pub fn acr_rank(acr: &str) -> Option<u8> {
    match acr {
        "eidas1" => Some(1),
        "eidas2" => Some(2),
        "eidas3" => Some(3),
        _ => None,
    }
}

/// Whether `acr` (absent, unknown or ranked) meets `required`.
pub fn acr_meets(acr: Option<&str>, required: &str) -> bool {
    match (acr.and_then(acr_rank), acr_rank(required)) {
        (Some(got), Some(needed)) => got >= needed,
        _ => false,
    }
}

/// The claim of Pro Santé Connect's userinfo that names the professional.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PscClaims {
    /// `SubjectNameID`: the national identifier, "8" + RPPS.
    #[serde(rename = "SubjectNameID", default)]
    pub subject_name_id: Option<String>,
}
impl AdditionalClaims for PscClaims {}

/// What `/auth/oidc/start` hands the browser to and keeps for the callback.
pub struct Started {
    /// The provider's authorization URL with every parameter.
    pub url: String,
    /// `state`.
    pub state: String,
    /// `nonce`.
    pub nonce: String,
    /// The PKCE verifier.
    pub pkce_verifier: String,
}

/// A callback the provider vouched for.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The issuer (exactly the discovery document's).
    pub issuer: String,
    /// `sub`.
    pub subject: String,
    /// `acr` of the ID token.
    pub acr: Option<String>,
    /// `SubjectNameID` of the userinfo.
    pub subject_name_id: Option<String>,
}

/// The provider: the settings and the discovery document once fetched.
pub struct Provider {
    /// The settings.
    pub settings: OidcSettings,
    cache: Mutex<Option<(Instant, CoreProviderMetadata)>>,
}

type PscClient = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// The ID token's verifier: RS256 and ES256 only (never `none`, never HS256).
fn verifier(client: &PscClient) -> CoreIdTokenVerifier<'_> {
    client.id_token_verifier().set_allowed_algs([CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256, CoreJwsSigningAlgorithm::EcdsaP256Sha256])
}

fn agent() -> openidconnect::ureq::Agent {
    openidconnect::ureq::AgentBuilder::new().redirects(0).timeout(Duration::from_secs(10)).build()
}

impl Provider {
    /// A provider of `settings`; nothing is fetched yet.
    pub fn new(settings: OidcSettings) -> Self {
        Self { settings, cache: Mutex::new(None) }
    }

    /// The discovery document with its keys, fetched when older than [`DISCOVERY_TTL`].
    fn metadata(&self) -> Result<CoreProviderMetadata, &'static str> {
        if let Some((at, metadata)) = self.cache.lock().map_err(|_| PROVIDER_UNAVAILABLE)?.as_ref()
            && at.elapsed() < DISCOVERY_TTL
        {
            return Ok(metadata.clone());
        }
        let http = agent();
        let request = openidconnect::http::Request::builder()
            .uri(&self.settings.discovery_url)
            .header(openidconnect::http::header::ACCEPT, "application/json")
            .body(Vec::new())
            .map_err(|_| PROVIDER_UNAVAILABLE)?;
        let response = http.call(request).map_err(|_| PROVIDER_UNAVAILABLE)?;
        if !response.status().is_success() {
            return Err(PROVIDER_UNAVAILABLE);
        }
        let metadata: CoreProviderMetadata = serde_json::from_slice(response.body()).map_err(|_| PROVIDER_UNAVAILABLE)?;
        let jwks = CoreJsonWebKeySet::fetch(metadata.jwks_uri(), &http).map_err(|_| PROVIDER_UNAVAILABLE)?;
        let metadata = metadata.set_jwks(jwks);
        *self.cache.lock().map_err(|_| PROVIDER_UNAVAILABLE)? = Some((Instant::now(), metadata.clone()));
        Ok(metadata)
    }

    /// The discovery document and keys fetched again, when the cached ones are older than
    /// [`REFETCH_AFTER`] (the provider may have rotated its keys); `None` when they are newer.
    fn refetched(&self) -> Result<Option<CoreProviderMetadata>, &'static str> {
        {
            let mut cache = self.cache.lock().map_err(|_| PROVIDER_UNAVAILABLE)?;
            match cache.as_ref() {
                Some((at, _)) if at.elapsed() < self.settings.key_refetch_after => return Ok(None),
                _ => *cache = None,
            }
        }
        self.metadata().map(Some)
    }

    fn client(&self, metadata: CoreProviderMetadata) -> Result<PscClient, &'static str> {
        let redirect = RedirectUrl::new(self.settings.redirect_url.clone()).map_err(|_| "misconfigured")?;
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.settings.client_id.clone()),
            Some(ClientSecret::new(self.settings.client_secret.clone())),
        )
        .set_redirect_uri(redirect))
    }

    /// The authorization URL of a new attempt: code flow, PKCE S256, state, nonce, the
    /// configured scopes and `acr_values`.
    pub fn start(&self) -> Result<Started, &'static str> {
        let client = self.client(self.metadata()?)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client.authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random);
        for scope in self.settings.scopes.split_whitespace().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(scope.to_owned()));
        }
        let (url, state, nonce) =
            request.add_extra_param("acr_values", self.settings.required_acr.clone()).set_pkce_challenge(challenge).url();
        Ok(Started {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Exchanges `code` and checks everything the provider sent: `Err(reason)` names the
    /// first check that failed (audited; never a token).
    pub fn finish(&self, code: String, nonce: &str, pkce_verifier: String) -> Result<Verified, &'static str> {
        let metadata = self.metadata()?;
        let issuer = metadata.issuer().to_string();
        let client = self.client(metadata)?;
        let http = agent();
        let token = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|_| "misconfigured")?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier))
            .request(&http)
            .map_err(|_| "code_exchange_failed")?;
        let id_token = token.id_token().ok_or("no_id_token")?;
        let nonce = Nonce::new(nonce.to_owned());
        let mut client = client;
        let mut checked = id_token.claims(&verifier(&client), &nonce).cloned();
        if matches!(checked, Err(ClaimsVerificationError::SignatureVerification(_)))
            && let Some(metadata) = self.refetched()?
        {
            // Signed with a key not among those kept: the provider may have rotated its keys.
            client = self.client(metadata)?;
            checked = id_token.claims(&verifier(&client), &nonce).cloned();
        }
        let claims = checked.map_err(|e| match e {
            ClaimsVerificationError::Expired(_) => "expired_id_token",
            ClaimsVerificationError::InvalidAudience(_) => "wrong_audience",
            ClaimsVerificationError::InvalidIssuer(_) => "wrong_issuer",
            ClaimsVerificationError::InvalidNonce(_) => "wrong_nonce",
            ClaimsVerificationError::SignatureVerification(_) => "bad_signature",
            _ => "invalid_id_token",
        })?;
        let subject = claims.subject().clone();
        let acr = claims.auth_context_ref().map(|a| a.as_str().to_owned());
        let info: UserInfoClaims<PscClaims, CoreGenderClaim> = client
            .user_info(token.access_token().clone(), Some(subject.clone()))
            .map_err(|_| "no_userinfo_endpoint")?
            .request(&http)
            .map_err(|_| "invalid_userinfo")?;
        Ok(Verified {
            issuer,
            subject: subject.as_str().to_owned(),
            acr,
            subject_name_id: info.additional_claims().subject_name_id.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acr_levels_are_ordered_and_anything_else_is_refused() {
        assert!(acr_meets(Some("eidas1"), "eidas1"));
        assert!(acr_meets(Some("eidas3"), "eidas2"));
        assert!(!acr_meets(Some("eidas1"), "eidas2"));
        assert!(!acr_meets(None, "eidas1"));
        assert!(!acr_meets(Some("eidas0"), "eidas1"));
        assert!(!acr_meets(Some("EIDAS1"), "eidas1"));
    }
}

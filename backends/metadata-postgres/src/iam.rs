//! RDS IAM authentication: instead of a password, a short-lived token signed (SigV4, service
//! `rds-db`) with the agent's AWS credentials from the default chain — environment, profile,
//! or web identity (EKS IRSA). A token is valid for 15 minutes and only needed to open a
//! connection, so the pools get a fresh one well before the old one lapses.

use std::time::{Duration, SystemTime};

use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use streamhouse_core::registry::BuildError;

/// How long a token is valid (the most RDS accepts).
const TOKEN_LIFETIME: Duration = Duration::from_secs(900);
/// How often pools get a new token: well inside its lifetime.
pub(crate) const REFRESH_EVERY: Duration = Duration::from_secs(600);

/// Generates RDS IAM tokens for one endpoint and user.
#[derive(Debug, Clone)]
pub struct RdsTokenGenerator {
    credentials: SharedCredentialsProvider,
    region: String,
    host: String,
    port: u16,
    user: String,
}

impl RdsTokenGenerator {
    /// A generator using the default AWS credential chain and `region` (default: the AWS
    /// region of the environment).
    pub async fn from_environment(
        region: Option<String>,
        host: &str,
        port: u16,
        user: &str,
    ) -> Result<Self, BuildError> {
        let conf = aws_config::defaults(BehaviorVersion::latest()).load().await;
        let credentials = conf.credentials_provider().ok_or_else(|| {
            BuildError("iam_auth needs AWS credentials, and none were found".into())
        })?;
        let region = region
            .or_else(|| conf.region().map(|r| r.to_string()))
            .ok_or_else(|| {
                BuildError(
                    "iam_auth needs an AWS region: set [metadata] region or AWS_REGION".into(),
                )
            })?;
        Ok(Self {
            credentials,
            region,
            host: host.to_owned(),
            port,
            user: user.to_owned(),
        })
    }

    /// A fresh token, to be used as the connection password.
    pub async fn token(&self) -> Result<String, BuildError> {
        let creds =
            self.credentials.provide_credentials().await.map_err(|e| {
                BuildError(format!("cannot load AWS credentials for iam_auth: {e}"))
            })?;
        sign_token(
            &creds,
            &self.region,
            &self.host,
            self.port,
            &self.user,
            SystemTime::now(),
        )
    }
}

/// The RDS IAM token for `user` at `host:port`, signed with `creds` at `now`: the presigned
/// URL of the `connect` action without its scheme, exactly as the AWS SDKs produce it.
pub fn sign_token(
    creds: &Credentials,
    region: &str,
    host: &str,
    port: u16,
    user: &str,
    now: SystemTime,
) -> Result<String, BuildError> {
    let err = |e: &dyn std::fmt::Display| BuildError(format!("cannot sign an RDS IAM token: {e}"));
    let identity = creds.clone().into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(TOKEN_LIFETIME);
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("rds-db")
        .time(now)
        .settings(settings)
        .build()
        .map_err(|e| err(&e))?
        .into();
    let user: String = url_encode(user);
    let url = format!("https://{host}:{port}/?Action=connect&DBUser={user}");
    let request = SignableRequest::new("GET", &url, std::iter::empty(), SignableBody::Bytes(&[]))
        .map_err(|e| err(&e))?;
    let (instructions, _) = sign(request, &params).map_err(|e| err(&e))?.into_parts();
    let mut http_request = http::Request::builder()
        .uri(&url)
        .body(())
        .map_err(|e| err(&e))?;
    instructions.apply_to_request_http1x(&mut http_request);
    let signed = http_request.uri().to_string();
    Ok(signed
        .strip_prefix("https://")
        .unwrap_or(&signed)
        .to_owned())
}

/// Percent-encodes everything but RFC 3986's unreserved characters, as SigV4 requires.
fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(iso_seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(iso_seconds)
    }

    /// A token's endpoint and its query parameters, sorted: AWS signs the parameters sorted,
    /// so their order in the URL does not matter.
    fn parts(token: &str) -> (String, Vec<String>) {
        let (endpoint, query) = token.split_once("/?").expect("endpoint/?query");
        let mut params: Vec<String> = query.split('&').map(str::to_owned).collect();
        params.sort();
        (endpoint.to_owned(), params)
    }

    /// 2026-11-27T12:00:00Z.
    const NOON: u64 = 1_795_780_800;

    /// Expected tokens produced by botocore's `generate_db_auth_token` (the reference
    /// implementation) for the same credentials, endpoint, user and time.
    #[test]
    fn tokens_match_the_aws_sdk() {
        let creds = Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            None,
            None,
            "test",
        );
        let token = sign_token(
            &creds,
            "us-east-1",
            "mydb.cluster-abc.us-east-1.rds.amazonaws.com",
            5432,
            "streamhouse",
            at(NOON),
        )
        .unwrap();
        assert_eq!(
            token,
            "mydb.cluster-abc.us-east-1.rds.amazonaws.com:5432/?Action=connect&DBUser=streamhouse\
             &X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential=AKIDEXAMPLE%2F20261127%2Fus-east-1%2Frds-db%2Faws4_request\
             &X-Amz-Date=20261127T120000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host\
             &X-Amz-Signature=61db8bbb8eaf4daf3435d965ed66cbf5c2492cb1a4952c8eadb675709a0c3f61"
        );
        let with_session = Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            Some("FQoGZXIvYXdzEXAMPLE/+token=".into()),
            None,
            "test",
        );
        let token = sign_token(
            &with_session,
            "eu-west-1",
            "db.example.internal",
            6432,
            "app user",
            at(NOON),
        )
        .unwrap();
        assert_eq!(
            parts(&token),
            parts(
                "db.example.internal:6432/?Action=connect&DBUser=app%20user\
             &X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential=AKIDEXAMPLE%2F20261127%2Feu-west-1%2Frds-db%2Faws4_request\
             &X-Amz-Date=20261127T120000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host\
             &X-Amz-Security-Token=FQoGZXIvYXdzEXAMPLE%2F%2Btoken%3D\
             &X-Amz-Signature=e7afd72146353c0dea1a8533cc55a8c40d0bda632136b0b26c59d6424358f9b5"
            )
        );
    }
}

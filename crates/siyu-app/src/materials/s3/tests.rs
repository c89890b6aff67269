#![allow(clippy::unwrap_used)]
use super::*;
use siyu_domain::id::TenantId;

fn example() -> Credentials {
    Credentials {
        access_key: "AKIDEXAMPLE".into(),
        secret_key: SecretString::from("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1".into(),
        service: "service".into(),
    }
}

fn at() -> DateTime<Utc> {
    "2015-08-30T12:36:00Z".parse().unwrap()
}

/// AWS's published Signature Version 4 test suite, case `get-vanilla`.
#[test]
fn signing_matches_the_aws_get_vanilla_example() {
    let auth = authorization(
        &example(),
        &ToSign {
            method: "GET",
            path: "/",
            query: "",
            headers: vec![
                ("host".into(), "example.amazonaws.com".into()),
                ("x-amz-date".into(), "20150830T123600Z".into()),
            ],
            payload_sha256: EMPTY_SHA256,
            at: at(),
        },
    );
    assert_eq!(
        auth,
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
         SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    );
}

/// The IAM `ListUsers` example of AWS's SigV4 documentation (query string and a content type).
#[test]
fn signing_matches_the_aws_documentation_iam_example() {
    let creds = Credentials { service: "iam".into(), ..example() };
    let auth = authorization(
        &creds,
        &ToSign {
            method: "GET",
            path: "/",
            query: "Action=ListUsers&Version=2010-05-08",
            headers: vec![
                ("x-amz-date".into(), "20150830T123600Z".into()),
                ("host".into(), "iam.amazonaws.com".into()),
                ("content-type".into(), "application/x-www-form-urlencoded; charset=utf-8".into()),
            ],
            payload_sha256: EMPTY_SHA256,
            at: at(),
        },
    );
    assert!(auth.ends_with("Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"), "{auth}");
    assert!(auth.contains("SignedHeaders=content-type;host;x-amz-date"));
}

/// Against a real S3-compatible server (moto's in CI: `moto_server -p 5005`, `SIYU_TEST_S3_URL`).
#[tokio::test]
async fn objects_round_trip_through_an_s3_compatible_server() {
    let Ok(url) = std::env::var("SIYU_TEST_S3_URL") else { return };
    let settings = S3Settings {
        endpoint: url,
        bucket: format!("siyu-test-{}", uuid::Uuid::now_v7().simple()),
        region: "us-east-1".into(),
        access_key: "testing".into(),
        secret_key: SecretString::from("testing"),
        timeout_secs: 10,
    };
    let s3 = S3Blobs::new(&settings).unwrap();
    s3.ensure_bucket().await.unwrap();
    let tenant = TenantId(uuid::Uuid::now_v7());
    let bytes = b"\x89PNG\r\n\x1a\n not really".to_vec();
    let key = BlobKey::for_content(tenant, &bytes);
    assert!(!s3.exists(&key).await.unwrap());
    s3.put(&key, &bytes).await.unwrap();
    assert!(s3.exists(&key).await.unwrap());
    assert_eq!(s3.get(&key).await.unwrap(), bytes);
    s3.delete(&key).await.unwrap();
    assert!(!s3.exists(&key).await.unwrap());
    assert!(matches!(s3.get(&key).await, Err(AppError::NotFound)));
}

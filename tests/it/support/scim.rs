//! SCIM client helpers: a token issued the way `spconnect scim token` does, and JSON requests.

use serde_json::Value;
use spconnect::scim::tokens;

use super::TestApp;

pub struct ScimClient {
    pub base: String,
    pub token: String,
    pub node_id: i64,
    client: reqwest::Client,
}

pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl TestApp {
    /// Issue a SCIM token for `node_id` (replacing any earlier one) and a client using it.
    pub async fn scim_for(&self, node_id: i64) -> ScimClient {
        let (token, hash) = tokens::generate();
        self.svc.store.put_scim_token(node_id, &hash, 0).await.expect("token");
        ScimClient {
            base: format!("{}/api/rest/scim/v2/{node_id}", self.base),
            token,
            node_id,
            client: reqwest::Client::new(),
        }
    }

    pub async fn scim(&self) -> ScimClient {
        self.scim_for(spconnect::store::ROOT_NODE_ID).await
    }
}

impl ScimClient {
    pub async fn send(&self, method: &str, path: &str, body: Option<&Value>, token: Option<&str>) -> Answer {
        let url = if path.starts_with("http") { path.to_string() } else { format!("{}{path}", self.base) };
        let mut req = self.client.request(method.parse().expect("method"), url);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/scim+json").body(b.to_string());
        }
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        let text = res.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"))
        };
        Answer { status, content_type, headers, body }
    }

    pub async fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Answer {
        self.send(method, path, body, Some(&self.token.clone())).await
    }
    pub async fn get(&self, path: &str) -> Answer {
        self.call("GET", path, None).await
    }
    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.call("POST", path, Some(body)).await
    }
    pub async fn put(&self, path: &str, body: &Value) -> Answer {
        self.call("PUT", path, Some(body)).await
    }
    pub async fn patch(&self, path: &str, body: &Value) -> Answer {
        self.call("PATCH", path, Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> Answer {
        self.call("DELETE", path, None).await
    }

    /// POST a user and return its id (asserting 201).
    pub async fn create_user(&self, email: &str) -> String {
        let a = self.post("/Users", &serde_json::json!({"schemas": [spconnect::scim::USER_URN], "userName": email,
            "name": {"givenName": "Test", "familyName": "User"}, "emails": [{"value": email, "primary": true}], "active": true})).await;
        assert_eq!(a.status, 201, "{}", a.body);
        a.body["id"].as_str().expect("id").to_string()
    }

    pub async fn create_group(&self, name: &str, members: &[&str]) -> String {
        let members: Vec<Value> = members.iter().map(|m| serde_json::json!({"value": m})).collect();
        let a = self
            .post(
                "/Groups",
                &serde_json::json!({"schemas": [spconnect::scim::GROUP_URN], "displayName": name, "members": members}),
            )
            .await;
        assert_eq!(a.status, 201, "{}", a.body);
        a.body["id"].as_str().expect("id").to_string()
    }
}

impl Answer {
    /// Assert a SCIM error body with this status (and scimType, when given).
    pub fn assert_error(&self, status: u16, scim_type: Option<&str>) {
        assert_eq!(self.status, status, "{}", self.body);
        assert!(self.content_type.starts_with("application/scim+json"), "content type {}", self.content_type);
        assert_eq!(self.body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error", "{}", self.body);
        assert_eq!(self.body["status"], status.to_string());
        assert!(self.body["detail"].is_string());
        assert_eq!(self.body["scimType"].as_str(), scim_type, "{}", self.body);
    }

    pub fn total(&self) -> u64 {
        assert_eq!(self.status, 200, "{}", self.body);
        self.body["totalResults"].as_u64().expect("totalResults")
    }

    pub fn ids(&self) -> Vec<String> {
        self.body["Resources"]
            .as_array()
            .expect("Resources")
            .iter()
            .map(|r| r["id"].as_str().expect("id").to_string())
            .collect()
    }
}

/// Percent-encode a filter for a query string.
pub fn q(filter: &str) -> String {
    url::form_urlencoded::byte_serialize(filter.as_bytes()).collect()
}

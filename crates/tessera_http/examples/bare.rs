//! The benchmark ceiling: a bare actix-web endpoint that parses a small JSON body and answers
//! 201 with a small JSON body, no middleware, no I/O. `bench/peer-token.sh` measures it next to
//! control-plane. Usage: `bare <port>`.

use actix_web::{App, HttpResponse, HttpServer, web};
use serde::Deserialize;

#[derive(Deserialize)]
struct Body {
    #[serde(rename = "targetWlId")]
    target: String,
    scopes: Vec<String>,
}

async fn token(body: web::Json<Body>) -> HttpResponse {
    HttpResponse::Created()
        .json(serde_json::json!({ "targetWlId": body.target, "scopes": body.scopes }))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(18182);
    HttpServer::new(|| App::new().route("/wls/{id}/peer-token", web::post().to(token)))
        .bind(("127.0.0.1", port))?
        .run()
        .await
}

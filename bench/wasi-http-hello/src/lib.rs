//! A standard `wasi:http@0.2` proxy component (it exports
//! `wasi:http/incoming-handler`) for stock `wasmtime serve`, which runs a
//! fresh instance per request. It is the "instance per request" anchor of the
//! benchmark against wasock's `examples/http-hello` (an instance per
//! connection), and answers in the same shape:
//!
//! - `GET /` is `200` with `hello from wasmtime serve instance <id>`, where
//!   `<id>` is 16 hex digits from `wasi:random`, so instances differ;
//! - anything else is `404` with `not found`.
//!
//! ```text
//! cargo build --release --target wasm32-wasip2 -p wasi-http-hello
//! wasmtime serve --addr 127.0.0.1:8080 -Scli target/wasm32-wasip2/release/wasi_http_hello.wasm
//! curl http://127.0.0.1:8080/
//! ```
//!
//! `-Scli` links the `wasi:cli` interfaces that Rust's standard library
//! imports (the proxy world alone does not provide them).

use wasip2::http::types::{
    Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

/// The `wasi:http/incoming-handler` implementation.
struct Hello;

impl wasip2::exports::http::incoming_handler::Guest for Hello {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let hello = matches!(request.method(), Method::Get)
            && request.path_with_query().as_deref() == Some("/");
        let (status, body) = if hello {
            let id = wasip2::random::random::get_random_u64();
            (
                200,
                format!("hello from wasmtime serve instance {id:016x}\n"),
            )
        } else {
            (404, "not found\n".to_string())
        };

        let headers = Fields::from_list(&[
            ("content-type".to_string(), b"text/plain".to_vec()),
            (
                "content-length".to_string(),
                body.len().to_string().into_bytes(),
            ),
        ])
        .expect("valid headers");
        let response = OutgoingResponse::new(headers);
        response.set_status_code(status).expect("valid status");
        let out_body = response.body().expect("body taken once");
        ResponseOutparam::set(response_out, Ok(response));

        // The body is far below the 4096-byte limit of one blocking write.
        let stream = out_body.write().expect("stream taken once");
        // A client that went away is no error of ours.
        let _ = stream.blocking_write_and_flush(body.as_bytes());
        drop(stream);
        let _ = OutgoingBody::finish(out_body, None);
    }
}

wasip2::http::proxy::export!(Hello);

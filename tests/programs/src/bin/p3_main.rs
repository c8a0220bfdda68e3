//! A std `main` (exporting only `wasi:cli/run@0.2`) that makes and drops a
//! component-model stream: it needs the component model's async features,
//! yet is a WASI 0.2 command. (It may not wait on one: wasmtime traps a
//! synchronous export that blocks.)

fn main() {
    let (writer, reader) = wasip3::wit_stream::new::<u8>();
    drop(writer);
    drop(reader);
    println!("ok a 0.2 command used a 0.3 stream");
}
